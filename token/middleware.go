package token

import (
	"context"
	"errors"
	"net/http"
	"strings"

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
// A request whose Authorization header holds a token that does not verify,
// is expired or whose session is revoked never reaches it: the deny
// handler answers. A dead access cookie (expired, or its session ended) is
// no credential, like a dead session cookie: the browser sends it with
// every request and the page cannot remove it (HttpOnly), so refusing the
// request would lock the user out of refresh and sign-in until the browser
// closes. The request goes on unauthenticated, after the function set with
// [Middleware.OnDeadCookie] (to log it).
type Middleware struct {
	svc    *Service
	cookie string
	deny   http.Handler
	dead   func(r *http.Request, err error)
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

// OnDeadCookie sets a function called with the request and the refusal
// when an access cookie is dead and the request goes on without it (see
// [Middleware]); a logger's place. A store that cannot answer is not
// "dead": that request goes to the deny handler (503 by default).
func (m *Middleware) OnDeadCookie(f func(r *http.Request, err error)) { m.dead = f }

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
	p, _, err := m.checkMethod(r)
	return p, err
}

// checkMethod is check that also says where the token came from, for a
// refusal too.
func (m *Middleware) checkMethod(r *http.Request) (sesame.Principal, sesame.Method, error) {
	tok, method, c, err := m.token(r)
	if err != nil {
		return sesame.Principal{}, method, err
	}
	c, err = m.svc.authenticate(r.Context(), tok, c)
	if err != nil {
		return sesame.Principal{}, method, err
	}
	return sesame.Principal{UserID: c.Subject, SessionID: c.SessionID, Method: method, Claims: c, AuthTime: c.IssuedAt.Time,
		ACR: c.ACR, AMR: c.AMR, StepUpTime: c.AuthTime.Time}, method, nil
}

// token returns the request's access token and how it came.
func (m *Middleware) token(r *http.Request) (string, sesame.Method, *AccessClaims, error) {
	if vals := r.Header.Values("Authorization"); len(vals) > 0 {
		if len(vals) > 1 {
			return "", sesame.MethodBearer, nil, ErrMalformedAuthorization
		}
		// A token the cache holds was verified, so it is a well-formed
		// b64token (a JWS uses only base64url characters and dots): the
		// header "Bearer <it>" is what ParseBearer accepts, and its
		// byte-by-byte check is skipped. Anything else is parsed strictly.
		if v := vals[0]; len(v) > len("Bearer ") && v[len("Bearer")] == ' ' && strings.EqualFold(v[:len("Bearer")], "Bearer") {
			if c, ok := m.svc.cachedClaims(v[len("Bearer "):], m.svc.cfg.Clock.Now()); ok {
				return v[len("Bearer "):], sesame.MethodBearer, c, nil
			}
		}
		tok, err := sesame.ParseBearer(vals[0])
		if err != nil {
			return "", sesame.MethodBearer, nil, ErrMalformedAuthorization
		}
		return tok, sesame.MethodBearer, nil, nil
	}
	if m.cookie != "" {
		if tok, err := cookie.Get(r, m.cookie); err == nil {
			return tok, sesame.MethodTokenCookie, nil, nil
		}
	}
	return "", "", nil, ErrNoToken
}

// Handler is the enforcement: a request with a valid access token goes to
// next with its [sesame.Principal] in the context ([sesame.PrincipalFrom]);
// one without a token goes to next unchanged; any other goes to the deny
// handler and never reaches next, except a dead access cookie, which is no
// credential (see [Middleware]).
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, method, err := m.checkMethod(r)
		switch {
		case err == nil:
			next.ServeHTTP(w, r.WithContext(sesame.ContextWithPrincipal(r.Context(), p)))
		case err == ErrNoToken:
			next.ServeHTTP(w, r)
		case method == sesame.MethodTokenCookie && sesame.ErrorCode(err) == sesame.EUnauthenticated:
			if m.dead != nil {
				m.dead(r, err)
			}
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
