package csrf

// Stage names the part of [Protection.Check] that refused a request.
type Stage string

// The stages of [Protection.Check], in the order they run.
const (
	StageOrigin Stage = "origin" // Sec-Fetch-Site and Origin
	StageToken  Stage = "token"  // the session-bound token
)

// Error is the error [Protection.Check] returns. Stage and Reason are stable
// strings meant for audit logs (SEC-55); neither ever contains the token or
// any other secret. Err, when set, is an underlying cause such as an
// *http.MaxBytesError from reading the form.
//
// Compare with errors.Is against the sentinels below (ErrOriginMismatch and
// so on), which match on Stage and Reason whatever the cause.
type Error struct {
	Stage  Stage
	Reason string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "csrf: " + e.Reason + ": " + e.Err.Error()
	}
	return "csrf: " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Stage and Reason, so
// that a wrapped cause still matches its sentinel.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Stage == e.Stage && t.Reason == e.Reason
}

// Origin-stage failures.
var (
	// ErrCrossSite: Sec-Fetch-Site was present but not same-origin
	// (same-site, cross-site, none or unknown) and there was no Origin.
	ErrCrossSite = &Error{Stage: StageOrigin, Reason: "cross-site request"}
	// ErrOriginMismatch: Origin was neither the request's own origin nor a
	// trusted one; "null", a second Origin line, and any spelling other than
	// the exact serialization a browser sends all count as a mismatch.
	ErrOriginMismatch = &Error{Stage: StageOrigin, Reason: "origin mismatch"}
	// ErrNoOrigin: neither Sec-Fetch-Site nor Origin was sent. Every browser
	// in use sends at least one on an unsafe request, so this fails closed
	// (SEC-36, SEC-38; attack 20).
	ErrNoOrigin = &Error{Stage: StageOrigin, Reason: "no origin information"}
)

// Token-stage failures.
var (
	// ErrMissingToken: no token in the header nor, for a form body, in the
	// form field (attack 14). Tokens in the URL query are never read.
	ErrMissingToken = &Error{Stage: StageToken, Reason: "missing token"}
	// ErrMalformedToken: a token that is not one this package mints (bad
	// length or encoding), or more than one token value.
	ErrMalformedToken = &Error{Stage: StageToken, Reason: "malformed token"}
	// ErrTokenMismatch: a well-formed token that is not bound to this
	// request's session or pre-session cookie: another session's, one from
	// before the last login, or one signed with another key (attack 15).
	ErrTokenMismatch = &Error{Stage: StageToken, Reason: "token for another session"}
	// ErrNoPreSession: the request has no session and no single well-formed
	// pre-session cookie for the token to be bound to.
	ErrNoPreSession = &Error{Stage: StageToken, Reason: "missing pre-session cookie"}
	// ErrUnreadableForm: the form body could not be parsed; Err holds why.
	ErrUnreadableForm = &Error{Stage: StageToken, Reason: "unreadable form"}
)
