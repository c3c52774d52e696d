package server

import (
	"net/http"
	"net/url"
	"strings"

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
	allowFormTarget(w, v.RedirectURI)
	s.render(w, r, http.StatusOK, "consent", pageData{Title: "Allow " + v.ClientName + "?", Consent: &v})
}

// renderOAuthError is the provider's error page, for an authorization or
// logout request that cannot be answered to the client.
func (s *Server) renderOAuthError(w http.ResponseWriter, r *http.Request, status int, message string) {
	v := &errorView{Status: status, Heading: "This request cannot be completed", Message: sentence(message)}
	s.render(w, r, status, "error", pageData{Title: v.Heading, Err: v})
}

// renderLogout is the provider's logout confirmation and signed-out page.
func (s *Server) renderLogout(w http.ResponseWriter, r *http.Request, v oauth.LogoutView) {
	title := "Sign out of Sesame?"
	if v.Done {
		title = "You are signed out"
	} else {
		allowFormTarget(w, v.RedirectURI)
	}
	s.render(w, r, http.StatusOK, "logout", pageData{Title: title, Logout: &v})
}

// allowOAuthFormRedirect lets the login form's answer lead to an OAuth
// client: when next is an authorization request of a registered client
// and redirect URI, the client's origin joins the page's form-action.
func (s *Server) allowOAuthFormRedirect(w http.ResponseWriter, r *http.Request, next string) {
	if s.cfg.OAuth == nil || !strings.HasPrefix(next, oauth.PathAuthorize+"?") {
		return
	}
	allowFormTarget(w, s.cfg.OAuth.AuthorizeRedirectURI(r.Context(), next))
}

// allowFormTarget adds the origin of uri (a client's registered redirect
// URI) to the page's CSP form-action: Chromium applies form-action to the
// redirects that follow a form submission, and the consent, logout and
// login forms' answers redirect to the client. A URI without a host (a
// native app's private-use scheme, com.example.app:/cb) adds its scheme.
// Anything else (a character a CSP source cannot hold) adds nothing.
func allowFormTarget(w http.ResponseWriter, uri string) {
	if uri == "" {
		return
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" || !cspSafe(u.Scheme) || !cspSafe(u.Host) {
		return
	}
	src := strings.ToLower(u.Scheme) + ":"
	if u.Host != "" {
		src += "//" + u.Host
	} else if scheme := strings.ToLower(u.Scheme); scheme == "http" || scheme == "https" {
		return
	}
	w.Header().Set("Content-Security-Policy", "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self' "+src)
}

// cspSafe reports whether s holds only characters of a scheme or host
// source (RFC 3986 letters, digits, "+-.:[]").
func cspSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+-.:[]", c) >= 0) {
			return false
		}
	}
	return true
}
