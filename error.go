package sesame

import (
	"errors"
	"fmt"
	"net/http"
)

// Code classifies an [Error]. Codes are stable strings: clients may branch
// on them, and they appear in JSON error bodies.
type Code string

// The error codes. Each maps to one HTTP status in [HTTPStatus].
const (
	EInvalid         Code = "invalid"             // malformed input: 400
	EUnauthenticated Code = "unauthenticated"     // no or bad credential: 401
	EStepUp          Code = "step_up_required"    // a sensitive action needs a recent re-authentication (SEC-14): 401
	EForbidden       Code = "forbidden"           // authenticated but not allowed: 403
	ECSRFOrigin      Code = "csrf_origin"         // a cross-site unsafe request (Origin, Sec-Fetch-Site): 403
	ECSRFToken       Code = "csrf_token"          // a missing or invalid CSRF token: 403
	ENotFound        Code = "not_found"           // 404
	EMethod          Code = "method_not_allowed"  // 405
	EConflict        Code = "conflict"            // 409
	EGone            Code = "gone"                // no longer available: 410
	ETooLarge        Code = "too_large"           // request body too large: 413
	EUnsupported     Code = "unsupported_media"   // wrong Content-Type: 415
	EMisdirected     Code = "misdirected_request" // a Host this server does not answer for: 421
	ETooMany         Code = "too_many_requests"   // throttled: 429
	EHeaderTooLarge  Code = "header_too_large"    // a request header (Cookie) too large: 431
	EInternal        Code = "internal"            // a bug: 500
	EUnavailable     Code = "unavailable"         // a store or dependency is down: 503
)

var statusByCode = map[Code]int{
	EInvalid:         http.StatusBadRequest,
	EUnauthenticated: http.StatusUnauthorized,
	EStepUp:          http.StatusUnauthorized,
	EForbidden:       http.StatusForbidden,
	ECSRFOrigin:      http.StatusForbidden,
	ECSRFToken:       http.StatusForbidden,
	ENotFound:        http.StatusNotFound,
	EMethod:          http.StatusMethodNotAllowed,
	EConflict:        http.StatusConflict,
	EGone:            http.StatusGone,
	ETooLarge:        http.StatusRequestEntityTooLarge,
	EUnsupported:     http.StatusUnsupportedMediaType,
	EMisdirected:     http.StatusMisdirectedRequest,
	ETooMany:         http.StatusTooManyRequests,
	EHeaderTooLarge:  http.StatusRequestHeaderFieldsTooLarge,
	EInternal:        http.StatusInternalServerError,
	EUnavailable:     http.StatusServiceUnavailable,
}

// HTTPStatus returns the HTTP status for a code; unknown codes are 500.
func HTTPStatus(c Code) int {
	if s, ok := statusByCode[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is Sesame's one error type. Code says what kind of failure it is;
// Message is safe to show to the client and never contains a secret or
// internal detail. Err, when set, is the internal cause: it is for logs and
// errors.Is/As, never for the client.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Errorf returns an *Error with the given code and a client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with the given code and client-safe message that
// wraps an internal cause.
func Wrap(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("sesame: %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("sesame: %s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain, or
// EInternal when there is none (an unexpected error is a bug until shown
// otherwise). A nil error has no code.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of err: the Message of the
// first *Error in its chain, or a generic text for anything else so that
// internal detail never reaches a client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	switch ErrorCode(err) {
	case EUnavailable:
		return "service temporarily unavailable"
	default:
		return "internal error"
	}
}

// ErrNotFound is returned by stores when a record does not exist (or has
// expired). Callers branch on it with errors.Is.
var ErrNotFound = &Error{Code: ENotFound, Message: "not found"}

// ErrConflict is returned by stores when a versioned update lost a race.
var ErrConflict = &Error{Code: EConflict, Message: "conflicting update"}
