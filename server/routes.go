package server

import "net/http"

// routes builds the handler. Every state change is on POST or DELETE; GET,
// HEAD and OPTIONS never change state (SEC-35), and there is no method
// override.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	auth := s.sessions.RequireAuth

	// Pages.
	mux.HandleFunc("GET /{$}", s.handleHome)
	mux.HandleFunc("GET /signup", s.handleSignupPage)
	mux.HandleFunc("POST /signup", s.handleSignupForm)
	mux.HandleFunc("GET /login", s.handleLoginPage)
	mux.HandleFunc("POST /login", s.handleLoginForm)
	mux.HandleFunc("POST /logout", s.handleLogoutForm)
	mux.Handle("GET /account", auth(http.HandlerFunc(s.handleAccountPage)))
	mux.Handle("POST /account/sessions/{id}/revoke", auth(http.HandlerFunc(s.handleRevokeForm)))
	mux.Handle("POST /account/sessions/revoke-others", auth(http.HandlerFunc(s.handleRevokeOthersForm)))
	mux.Handle("POST /account/password", auth(http.HandlerFunc(s.handlePasswordForm)))
	mux.Handle("GET /admin", auth(http.HandlerFunc(s.handleAdminPage)))
	mux.Handle("POST /admin/users/{username}/block", auth(http.HandlerFunc(s.handleBlockForm(true))))
	mux.Handle("POST /admin/users/{username}/unblock", auth(http.HandlerFunc(s.handleBlockForm(false))))
	mux.HandleFunc("GET /static/style.css", s.handleCSS)

	// JSON API.
	mux.HandleFunc("POST /api/v1/signup", s.apiSignup)
	mux.HandleFunc("POST /api/v1/login", s.apiLogin)
	mux.HandleFunc("GET /api/v1/me", s.apiMe)
	mux.HandleFunc("POST /api/v1/logout", s.apiLogout)
	mux.HandleFunc("GET /api/v1/sessions", s.apiSessions)
	mux.HandleFunc("DELETE /api/v1/sessions/{id}", s.apiRevokeSession)
	mux.HandleFunc("POST /api/v1/sessions/revoke-others", s.apiRevokeOthers)
	mux.HandleFunc("POST /api/v1/password", s.apiPassword)
	mux.HandleFunc("GET /api/v1/admin/users", s.apiAdminUsers)
	mux.HandleFunc("POST /api/v1/admin/users/{username}/block", s.apiAdminBlock(true))
	mux.HandleFunc("POST /api/v1/admin/users/{username}/unblock", s.apiAdminBlock(false))
	mux.HandleFunc("DELETE /api/v1/admin/users/{username}/sessions", s.apiAdminRevokeSessions)

	mux.HandleFunc("GET /healthz", s.handleHealth)

	var h http.Handler = mux
	h = s.sessions.Middleware(h)
	h = s.originCheck(h)
	h = withRequestInfo(h)
	h = s.limits(h)
	h = s.securityHeaders(h)
	h = s.recoverer(h)
	return h
}
