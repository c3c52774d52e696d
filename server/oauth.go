package server

import (
	"net/http"

	"github.com/sesame-auth/sesame/oauth"
)

// oauthRoutes are the OAuth provider's routes (Config.OAuth), and what the
// middleware chain must know of them.
type oauthRoutes struct {
	routes []oauth.Route
	// own: "METHOD path" of the routes that authenticate their caller
	// themselves (NoCSRF): no CSRF check, and their Authorization header
	// is not read as a Sesame access token.
	own map[string]bool
	// navigation: "METHOD path" of the navigations a relying party's page
	// sends cross-site (authorization and logout requests): no CSRF check.
	navigation map[string]bool
}

// mountOAuth takes in the provider's routes and gives it the server's
// pages.
func (s *Server) mountOAuth() {
	p := s.cfg.OAuth
	if p == nil {
		return
	}
	p.SetPages(s.renderConsent, s.renderOAuthError, s.renderLogout)
	s.oauth = oauthRoutes{routes: p.Routes(), own: map[string]bool{}, navigation: map[string]bool{}}
	for _, rt := range s.oauth.routes {
		key := rt.Method + " " + rt.Pattern
		if rt.NoCSRF {
			s.oauth.own[key] = true
		}
		if rt.Navigation {
			s.oauth.navigation[key] = true
		}
	}
}

func (o *oauthRoutes) key(r *http.Request) string {
	m := r.Method
	if m == http.MethodHead {
		m = http.MethodGet
	}
	return m + " " + r.URL.Path
}

// csrfExempt reports whether r is for a provider route exempt from the
// CSRF check.
func (o *oauthRoutes) csrfExempt(r *http.Request) bool {
	if len(o.routes) == 0 {
		return false
	}
	k := o.key(r)
	return o.own[k] || o.navigation[k]
}

// ownAuth reports whether r is for a provider route that reads its
// Authorization header itself.
func (o *oauthRoutes) ownAuth(r *http.Request) bool {
	return len(o.own) > 0 && o.own[o.key(r)]
}

// renderConsent is the provider's consent page. The page cannot be framed
// (frame-ancestors 'none' and X-Frame-Options DENY on every answer).
func (s *Server) renderConsent(w http.ResponseWriter, r *http.Request, v oauth.ConsentView) {
	s.render(w, r, http.StatusOK, "consent", pageData{Title: "Allow " + v.ClientName + "?", Consent: &v})
}

// renderOAuthError is the provider's error page, for an authorization or
// logout request that cannot be answered to the client.
func (s *Server) renderOAuthError(w http.ResponseWriter, r *http.Request, status int, message string) {
	s.render(w, r, status, "error", pageData{Title: "This request cannot be completed", Error: message})
}

// renderLogout is the provider's logout confirmation and signed-out page.
func (s *Server) renderLogout(w http.ResponseWriter, r *http.Request, v oauth.LogoutView) {
	title := "Sign out of Sesame?"
	if v.Done {
		title = "You are signed out"
	}
	s.render(w, r, http.StatusOK, "logout", pageData{Title: title, Logout: &v})
}
