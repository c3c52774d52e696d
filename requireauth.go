package sesame

import (
	"net/http"
	"slices"
)

// AuthOption configures [RequireAuth].
type AuthOption func(*authPolicy)

type authPolicy struct {
	methods []Method
	deny    http.Handler
}

// WithMethods lets through only principals authenticated by one of
// methods, e.g. WithMethods(MethodSession) for a page that a token must
// not reach. Another principal is refused like a request without one.
func WithMethods(methods ...Method) AuthOption {
	return func(p *authPolicy) { p.methods = append(p.methods, methods...) }
}

// WithDenyHandler sets what answers a refused request, instead of the
// default 401 (a login redirect for pages, say).
func WithDenyHandler(h http.Handler) AuthOption {
	return func(p *authPolicy) { p.deny = h }
}

// RequireAuth lets through to next only requests whose context holds a
// [Principal] (see [PrincipalFrom]): any credential, a session cookie or an
// access token, unless [WithMethods] narrows it. It runs inside the
// middlewares that authenticate (session.Manager.Middleware, the token
// middleware): it decides nothing about credentials itself.
//
// A refused request gets 401 with `WWW-Authenticate: Bearer` and a JSON
// body {"error":{"code":"unauthenticated",...}}, or what the handler of
// [WithDenyHandler] answers.
//
//	mux.Handle("GET /orders", sesame.RequireAuth(orders))
//	mux.Handle("GET /settings", sesame.RequireAuth(settings, sesame.WithMethods(sesame.MethodSession)))
func RequireAuth(next http.Handler, opts ...AuthOption) http.Handler {
	var p authPolicy
	for _, o := range opts {
		o(&p)
	}
	if p.deny == nil {
		p.deny = http.HandlerFunc(denyUnauthenticated)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if pr := PrincipalFrom(r.Context()); pr != nil && (p.methods == nil || slices.Contains(p.methods, pr.Method)) {
			next.ServeHTTP(w, r)
			return
		}
		p.deny.ServeHTTP(w, r)
	})
}

// denyUnauthenticated is the default answer of RequireAuth (RFC 6750 §3:
// a request without credentials gets a challenge without an error code).
func denyUnauthenticated(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("WWW-Authenticate", "Bearer")
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte(`{"error":{"code":"unauthenticated","message":"authentication required"}}` + "\n"))
}
