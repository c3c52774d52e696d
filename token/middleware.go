package token

import (
	"context"
	"errors"
	"net/http"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/cookie"
)

// The cookies of the cookie transport (a single-page app on the same site
// that never sees its tokens): the access token goes to every path, so
// __Host-; the refresh token only to the token endpoints, which __Host-
// forbids (it needs Path=/), hence __Secure- (SEC-34).
const (
	AccessCookie  = "__Host-sesame-at"
	RefreshCookie = "__Secure-sesame-rt"
)

// The errors of [Middleware.Check] besides those of [Service.Authenticate].
// Both have code [sesame.EUnauthenticated].
var (
	// ErrNoToken: the request carries no access token at all (no
	// Authorization header, and no access cookie where one is accepted).
	// [Middleware.Handler] lets such a request through without a
	// Principal; [sesame.RequireAuth] decides.
	ErrNoToken = sesame.Errorf(sesame.EUnauthenticated, "no access token")
	// ErrMalformedAuthorization: an Authorization header that is not
	// exactly one well-formed "Bearer <token>" (another scheme, such as
	// Basic, included: SEC-20).
	ErrMalformedAuthorization = sesame.Errorf(sesame.EUnauthenticated, "malformed Authorization header: want Bearer <token>")
)

// Middleware authenticates requests by access token and puts the
// [sesame.Principal] in their context, in the shape of net/http's
// CrossOriginProtection: [Middleware.Check] is the decision,
// [Middleware.Handler] the enforcement, [Middleware.SetDenyHandler] the
// answer to a refused request. Configure it before use; it is then safe
// for concurrent use.
//
// The token is read, strictly, from the one Authorization header
// ([sesame.ParseBearer]: "Bearer" in any letter case, one space, a
// b64token). Any other Authorization header, another scheme included, is
// refused and never falls back to a cookie: a client that sent
// credentials is never silently authenticated by others (SEC-20). Without
// an Authorization header, and only when [Middleware.AcceptCookie] was
// called, the token is read from that cookie. Tokens in the query string or
// a form body are never read.
//
// A request without any token goes to the next handler unauthenticated (a
// session cookie may still authenticate it; [sesame.RequireAuth] decides).
// A request with a token that does not verify, is expired or whose session
// is revoked never reaches it: the deny handler answers.
type Middleware struct {
	svc    *Service
	cookie string
	deny   http.Handler
}

// NewMiddleware returns a middleware that authenticates with svc,
// from the Authorization header only.
func NewMiddleware(svc *Service) *Middleware {
	return &Middleware{svc: svc, deny: http.HandlerFunc(defaultDeny)}
}

// AcceptCookie makes the middleware read the access token from the
// cookie name (usually [AccessCookie]) when the request has no
// Authorization header. A cookie is an ambient credential: protect
// state-changing routes reached this way against CSRF (package csrf).
func (m *Middleware) AcceptCookie(name string) { m.cookie = name }

// SetDenyHandler sets the handler that answers refused requests; nil
// restores the default: 401 with `WWW-Authenticate: Bearer
// error="invalid_token"` (RFC 6750 §3) and a JSON error body, or 503 when
// the session store cannot answer. [Rejection] gives it the reason.
func (m *Middleware) SetDenyHandler(h http.Handler) {
	if h == nil {
		h = http.HandlerFunc(defaultDeny)
	}
	m.deny = h
}

// Check is the decision: the principal of the request's access token, or
// [ErrNoToken] when it carries none, [ErrMalformedAuthorization], or an
// error of [Service.Authenticate] (code EUnauthenticated for a bad,
// expired or revoked token; EUnavailable when the store cannot answer).
func (m *Middleware) Check(r *http.Request) (*sesame.Principal, error) {
	p, err := m.check(r)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func (m *Middleware) check(r *http.Request) (sesame.Principal, error) {
	tok, method, err := m.token(r)
	if err != nil {
		return sesame.Principal{}, err
	}
	c, err := m.svc.Authenticate(r.Context(), tok)
	if err != nil {
		return sesame.Principal{}, err
	}
	return sesame.Principal{UserID: c.Subject, SessionID: c.SessionID, Method: method, Claims: c, AuthTime: c.IssuedAt.Time}, nil
}

// token returns the request's access token and how it came.
func (m *Middleware) token(r *http.Request) (string, sesame.Method, error) {
	if vals := r.Header.Values("Authorization"); len(vals) > 0 {
		if len(vals) > 1 {
			return "", "", ErrMalformedAuthorization
		}
		tok, err := sesame.ParseBearer(vals[0])
		if err != nil {
			return "", "", ErrMalformedAuthorization
		}
		return tok, sesame.MethodBearer, nil
	}
	if m.cookie != "" {
		if tok, err := cookie.Get(r, m.cookie); err == nil {
			return tok, sesame.MethodTokenCookie, nil
		}
	}
	return "", "", ErrNoToken
}

// Handler is the enforcement: a request with a valid access token goes to
// next with its [sesame.Principal] in the context ([sesame.PrincipalFrom]);
// one without a token goes to next unchanged; any other goes to the deny
// handler and never reaches next.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := m.check(r)
		switch {
		case err == nil:
			next.ServeHTTP(w, r.WithContext(sesame.WithPrincipal(r.Context(), &p)))
		case err == ErrNoToken:
			next.ServeHTTP(w, r)
		default:
			m.deny.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), rejectionKey{}, err)))
		}
	})
}

// Check is [Middleware.Check] of a middleware that reads the
// Authorization header only.
func (s *Service) Check(r *http.Request) (*sesame.Principal, error) {
	return NewMiddleware(s).Check(r)
}

// Middleware is [Middleware.Handler] of a middleware that reads the
// Authorization header only, with the default deny handler. Use
// [NewMiddleware] to accept the access cookie or answer refusals your way.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return NewMiddleware(s).Handler(next)
}

type rejectionKey struct{}

// Rejection returns the error for which the middleware refused r, for use
// in a deny handler; nil elsewhere.
func Rejection(r *http.Request) error {
	err, _ := r.Context().Value(rejectionKey{}).(error)
	return err
}

func defaultDeny(w http.ResponseWriter, r *http.Request) {
	err := Rejection(r)
	h := w.Header()
	status, code, msg := http.StatusUnauthorized, sesame.EUnauthenticated, ErrInvalidToken.Message
	if c := sesame.ErrorCode(err); c != sesame.EUnauthenticated && c != "" {
		status, code, msg = http.StatusServiceUnavailable, sesame.EUnavailable, "the access token cannot be checked now"
		h.Set("Retry-After", "1")
	} else {
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	if errors.Is(err, ErrMalformedAuthorization) {
		msg = ErrMalformedAuthorization.Message
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write([]byte(`{"error":{"code":"` + string(code) + `","message":"` + msg + `"}}` + "\n"))
}
