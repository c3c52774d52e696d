package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/sesame-auth/sesame"
)

// Route is one entry of the server's route table.
type Route struct {
	Method  string // GET, POST, PUT or DELETE; GET also answers HEAD
	Pattern string // a net/http ServeMux path pattern
	Auth    bool   // requires a Principal, from any credential (sesame.RequireAuth)
	handler http.HandlerFunc
}

// Routes returns the route table. Every state change is on POST, PUT or DELETE;
// GET, HEAD and OPTIONS never change state (SEC-35), and there is no method
// override. Tests walk this table.
func (s *Server) Routes() []Route {
	r := []Route{
		// Pages.
		{"GET", "/{$}", false, s.handleHome},
		{"GET", "/signup", false, s.handleSignupPage},
		{"POST", "/signup", false, s.handleSignupForm},
		{"GET", "/login", false, s.handleLoginPage},
		{"POST", "/login", false, s.handleLoginForm},
		{"POST", "/logout", false, s.handleLogoutForm},
		{"GET", "/account", true, s.handleAccountPage},
		{"POST", "/account/sessions/{id}/revoke", true, s.handleRevokeForm},
		{"POST", "/account/sessions/revoke-others", true, s.handleRevokeOthersForm},
		{"POST", "/account/password", true, s.handlePasswordForm},
		{"GET", "/admin", true, s.handleAdminPage},
		{"POST", "/admin/users/{username}/block", true, s.handleBlockForm(true)},
		{"POST", "/admin/users/{username}/unblock", true, s.handleBlockForm(false)},
		{"POST", "/admin/users/{username}/groups", true, s.handleGroupsForm},
		{"GET", "/admin/users/{username}", true, s.handleAdminUserPage},
		{"GET", "/admin/users/{username}/confirm/{action}", true, s.handleAdminConfirmPage},
		{"POST", "/admin/users/{username}/signout", true, s.handleAdminSignoutForm},
		{"GET", "/static/style.css", false, s.handleCSS},
		{"GET", "/static/favicon.svg", false, s.handleFavicon},
		{"GET", "/favicon.ico", false, s.handleFavicon},

		// JSON API.
		{"POST", "/api/v1/signup", false, s.apiSignup},
		{"POST", "/api/v1/login", false, s.apiLogin},
		{"GET", "/api/v1/me", false, s.apiMe},
		{"POST", "/api/v1/logout", false, s.apiLogout},
		{"GET", "/api/v1/sessions", false, s.apiSessions},
		{"DELETE", "/api/v1/sessions/{id}", false, s.apiRevokeSession},
		{"POST", "/api/v1/sessions/revoke-others", false, s.apiRevokeOthers},
		{"POST", "/api/v1/password", false, s.apiPassword},
		{"GET", "/api/v1/admin/users", false, s.apiAdminUsers},
		{"POST", "/api/v1/admin/users/{username}/block", false, s.apiAdminBlock(true)},
		{"POST", "/api/v1/admin/users/{username}/unblock", false, s.apiAdminBlock(false)},
		{"DELETE", "/api/v1/admin/users/{username}/sessions", false, s.apiAdminRevokeSessions},
		{"GET", "/api/v1/admin/users/{username}/groups", false, s.apiAdminGroups},
		{"PUT", "/api/v1/admin/users/{username}/groups", false, s.apiAdminSetGroups},
		{"GET", "/api/v1/csrf", false, s.apiCSRF},
		{"GET", "/api/v1/revocations", false, s.apiRevocations},
		{"GET", "/api/v1/revocations/stream", false, s.apiRevocationStream},
		{"GET", ForwardPath, false, s.handleForward}, // and every other method: see routes
		{"GET", "/healthz", false, s.handleHealth},
		{"GET", "/livez", false, s.handleLive},
	}
	if s.tokens != nil {
		r = append(r,
			Route{"POST", "/api/v1/token/refresh", false, s.apiRefresh},
			Route{"POST", "/api/v1/token/revoke", false, s.apiRevoke},
			Route{"POST", "/api/v1/token/session", false, s.apiSessionToken},
		)
	}
	if s.cfg.JWKS != nil {
		r = append(r, Route{"GET", "/.well-known/jwks.json", false, s.handleJWKS})
	}
	r = append(r, s.passkeyRoutes()...)
	r = append(r, s.factorRoutes()...)
	r = append(r, s.explainerRoutes()...)
	r = append(r, s.emailRoutes()...)
	r = append(r, s.auditRoutes()...)
	for _, rt := range s.oauth.routes {
		r = append(r, Route{rt.Method, rt.Pattern, false, rt.Handler})
	}
	return r
}

// routes builds the handler: the route table behind the middleware chain.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	needAuth := sesame.WithDenyHandler(http.HandlerFunc(s.denyUnauthenticated))
	metrics := s.cfg.Metrics
	s.forward = http.HandlerFunc(s.handleForward)
	if metrics != nil {
		s.forward = metrics.Route("", ForwardPath, s.forward) // every method: see forwardAnyMethod
	}
	for _, rt := range s.Routes() {
		var h http.Handler = rt.handler
		if rt.Auth {
			h = sesame.RequireAuth(h, needAuth)
		}
		if rt.Pattern == ForwardPath {
			h = s.forward
		} else if metrics != nil {
			h = metrics.Route(rt.Method, rt.Pattern, h)
		}
		mux.Handle(rt.Method+" "+rt.Pattern, h)
	}
	mux.Handle("/api/", s.apiFallback(mux))
	mux.Handle("/", s.pageFallback(mux))
	var h http.Handler = mux
	h = s.csrf.Handler(h)
	h = s.jsonOnly(h) // SEC-40: before the CSRF check
	h = s.forwardAnyMethod(h)
	h = s.tokenAuth(h)
	h = s.sessions.Middleware(h)
	h = s.withRequestInfo(h)
	h = s.limits(h)
	h = forwardWithoutBody(h) // before limits: a proxy may pass an upload's body along
	h = s.hostCheck(h)
	h = s.securityHeaders(h)
	h = s.recoverer(h)
	if metrics != nil {
		h = metrics.Middleware(h) // outermost: answers given before routing count too
	}
	return h
}

// denyUnauthenticated answers a request without a Principal on a route
// marked Auth: a browser (accepting text/html) is sent to the login page,
// with the path to come back to for GET and HEAD; anything else gets 401.
func (s *Server) denyUnauthenticated(w http.ResponseWriter, r *http.Request) {
	cfg := s.sessions.Config()
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		target := cfg.LoginPath
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			target += "?next=" + url.QueryEscape(r.URL.Path)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	w.Header().Set("WWW-Authenticate", `Cookie realm="sesame"`)
	cfg.ErrorHandler(w, r, errUnauthenticated)
}

// apiFallback answers what no API route takes in the API's error shape:
// 405 with Allow when the path has a route for another method, else 404.
// (The mux's own answers are plain text.)
func (s *Server) apiFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE"} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.writeError(w, r, sesame.Errorf(sesame.EMethod, "method %s is not allowed here; use %s", r.Method, strings.Join(allow, " or ")))
			return
		}
		s.writeError(w, r, sesame.Errorf(sesame.ENotFound, "no such endpoint"))
	})
}

// forwardAnyMethod sends every request for the forward-auth endpoint to
// it, whatever its method (a proxy may ask with the original request's
// method), past the CSRF and content-type checks: the endpoint changes no
// state and reads no body, and the headers it reads are the original
// request's, whose Origin is the protected application's.
func (s *Server) forwardAnyMethod(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == ForwardPath {
			s.forward.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// forwardWithoutBody takes the body off a request for the forward-auth
// endpoint, which never reads one: a proxy that passes the original
// request's body along (a large upload) is answered on its headers, not
// refused with 413.
func forwardWithoutBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == ForwardPath && r.ContentLength != 0 {
			r = r.WithContext(r.Context()) // a shallow copy
			r.Body, r.ContentLength = http.NoBody, 0
		}
		next.ServeHTTP(w, r)
	})
}
