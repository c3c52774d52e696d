package server

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/oauth"
)

//go:embed templates/*.html templates/style.css templates/favicon.svg
var templateFS embed.FS

// pages holds one parsed template set per page, each the layout plus the
// page's content.
type pages struct {
	byName  map[string]*template.Template
	css     []byte
	favicon []byte
}

func loadPages() (*pages, error) {
	funcs := template.FuncMap{
		"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	}
	p := &pages{byName: make(map[string]*template.Template)}
	for _, name := range []string{"login", "signup", "account", "admin", "adminuser", "confirm", "explainer", "error", "consent", "logout", "mail", "second_factor", "totp", "recovery", "reauth", "admin_audit"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/factors.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("server: parse template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		return nil, err
	}
	p.css = css
	if p.favicon, err = templateFS.ReadFile("templates/favicon.svg"); err != nil {
		return nil, err
	}
	return p, nil
}

// pageData is what every page template sees.
type pageData struct {
	CSRF     string // the CSRF token every form carries
	Title    string
	User     *sesame.PublicUser
	Error    string
	Notice   string
	Next     string
	Username string
	Sessions []sesame.SessionInfo
	Devices  []deviceView // the sessions as people read them (device.go)
	Users    []sesame.PublicUser
	// RememberMe: the login form offers "remember me" (set by render).
	RememberMe bool
	Consent    *oauth.ConsentView // the OAuth consent page
	Logout     *oauth.LogoutView  // the OAuth logout page
	Clients    []AdminClient      // the admin page's OAuth clients
	Admin      *adminView         // the admin pages (adminpages.go)
	// PasskeysOn: the login and account pages offer passkeys (and load
	// /static/passkey.js, the only script); Passkeys are the account's.
	PasskeysOn bool
	Passkeys   []PasskeyView
	// EmailOn: mail is configured (sign-up asks for an address, the
	// login page offers a reset; set by render).
	EmailOn bool
	Mail    *mailView  // the email pages (emailpages.go)
	Email   *emailInfo // the account page's address, nil without mail
	// Nav marks the header link of the current page ("account",
	// "admin", "login", "signup", "explainer").
	Nav string
	// ExplainerOn: the header links to /how-it-works (set by render).
	ExplainerOn bool
	Err         *errorView // the error page (errorpages.go)
	// Factor: the second-factor pages and the account page's section
	// (factorpages.go); nil without second factors.
	Factor    *factorPage
	Explainer *explainerView // GET /how-it-works (explainer.go)
	Audit     *auditView     // GET /admin/audit (auditpages.go)
}

// render writes a page. It renders into a buffer first so that a template
// error becomes a clean 500, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	if d.User == nil {
		if p, err := s.principal(r); err == nil {
			pu := p.User.Public()
			d.User = &pu
		}
	}
	d.RememberMe = !s.cfg.NoRememberMe
	d.PasskeysOn = s.cfg.Passkeys != nil
	d.EmailOn = s.mail != nil
	d.ExplainerOn = s.cfg.Explainer
	tok, err := s.csrf.Token(w, r)
	if err != nil {
		s.log.Error("csrf token", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	d.CSRF = tok
	var buf bytes.Buffer
	if err := s.pages.byName[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Server) handleCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(s.pages.css)
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	if _, err := s.principal(r); err == nil {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// handleLoginPage shows the login form, to signed-in users too (signing in
// again replaces the session). With prompt=login (an OAuth client asked
// for a fresh login) it says why; login_hint prefills the username.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	next := s.returnTarget(q.Get("next"))
	s.allowFormRedirect(w, next)
	s.allowOAuthFormRedirect(w, r, next)
	d := pageData{Title: "Sign in", Nav: "login", Next: next}
	if q.Get("prompt") == "login" {
		d.Notice = "Sign in again to continue."
	}
	if h := q.Get("login_hint"); h != "" && len(h) <= 64 {
		d.Username = h
	}
	s.render(w, r, http.StatusOK, "login", d)
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.formError(w, r, "login", "Sign in", err)
		return
	}
	in := credentials{Username: r.PostForm.Get("username"), Password: r.PostForm.Get("password"), Remember: r.PostForm.Get("remember") != ""}
	if _, _, err := s.login(w, r, in); err != nil {
		if step, ok := needsSecondFactor(err); ok {
			s.redirectSecondStep(w, r, step, s.returnTarget(r.PostForm.Get("next")))
			return
		}
		setRetryAfter(w, err)
		next := s.returnTarget(r.PostForm.Get("next"))
		s.allowFormRedirect(w, next)
		s.allowOAuthFormRedirect(w, r, next)
		s.render(w, r, sesame.HTTPStatus(sesame.ErrorCode(err)), "login", pageData{Title: "Sign in",
			Error: sesame.ErrorMessage(err), Next: next, Username: truncate(in.Username, 64)})
		return
	}
	http.Redirect(w, r, s.returnTarget(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (s *Server) handleSignupPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signup", pageData{Title: "Create an account", Nav: "signup"})
}

func (s *Server) handleSignupForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.formError(w, r, "signup", "Create an account", err)
		return
	}
	name, pw := r.PostForm.Get("username"), r.PostForm.Get("password")
	if _, err := s.signupWithEmail(r, name, pw, r.PostForm.Get("email")); err != nil {
		setRetryAfter(w, err)
		s.render(w, r, sesame.HTTPStatus(sesame.ErrorCode(err)), "signup", pageData{Title: "Create an account",
			Error: sesame.ErrorMessage(err), Username: truncate(name, 64)})
		return
	}
	if _, _, err := s.login(w, r, credentials{Username: name, Password: pw}); err != nil {
		if step, ok := needsSecondFactor(err); ok {
			s.redirectSecondStep(w, r, step, "/account")
			return
		}
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// formError answers a form whose body could not be read.
func (s *Server) formError(w http.ResponseWriter, r *http.Request, page, title string, err error) {
	e := sesame.Errorf(sesame.EInvalid, "the form could not be read")
	if isBodyTooLarge(err) {
		e = errBodyTooLarge
	}
	s.render(w, r, sesame.HTTPStatus(e.Code), page, pageData{Title: title, Error: e.Message})
}

// handleLogoutForm is the page's sign-out: it ends the session cookie's
// session and, for a caller signed in by access token (the SPA's token
// cookie), the session the tokens are bound to, clearing the token cookies,
// so "sign out" never leaves a live credential in the browser.
func (s *Server) handleLogoutForm(w http.ResponseWriter, r *http.Request) {
	if p := sesame.PrincipalFrom(r.Context()); p != nil && p.Method != sesame.MethodSession {
		if _, err := s.sessions.Revoke(r.Context(), p.SessionID, "logout"); err != nil {
			s.renderError(w, r, err)
			return
		}
		if p.Method == sesame.MethodTokenCookie {
			clearTokenCookies(w)
		}
		s.audit(r, sesame.Event{Type: sesame.EventLogout, UserID: p.UserID, SessionID: p.SessionID})
	}
	if err := s.sessions.Logout(w, r); err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) handleAccountPage(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	u := p.User
	list, err := s.sessions.List(r.Context(), u.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := pageData{Title: "Your account", Nav: "account", Notice: noticeText(r.URL.Query().Get("done"))}
	d.Email = s.accountEmail(r, u.ID)
	pu := u.Public()
	d.User = &pu
	now := sesame.ClockOrSystem(s.accounts.Clock).Now()
	for _, x := range list {
		si := x.Info(x.ID == p.SessionID)
		d.Sessions = append(d.Sessions, si)
		d.Devices = append(d.Devices, describeSession(si, now))
	}
	sortDevices(d.Devices)
	if s.cfg.Factors != nil {
		v, err := s.factorsOf(r, u)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		d.Factor = &factorPage{View: v}
	}
	if s.cfg.Passkeys != nil {
		cs, err := s.cfg.Passkeys.List(r.Context(), u.ID)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		for _, c := range cs {
			d.Passkeys = append(d.Passkeys, passkeyView(c))
		}
	}
	s.render(w, r, http.StatusOK, "account", d)
}

// noticeText maps a fixed set of outcome codes to messages, so that no
// client-chosen text is ever rendered from the URL.
func noticeText(code string) string {
	switch code {
	case "revoked":
		return "The session was signed out."
	case "others":
		return "All your other sessions were signed out."
	case "passkey":
		return "Your passkey was added."
	case "passkey-removed":
		return "The passkey was removed."
	case "totp":
		return "Your authenticator app was added."
	case "totp-removed":
		return "The authenticator app was removed."
	case "factors-reset":
		return "The user's second factors were removed and their sessions ended."
	case "factors-required":
		return "The user's second-factor requirement was saved."
	case "password":
		return "Your password was changed."
	case "blocked":
		return "The user was blocked and all of their sessions ended."
	case "unblocked":
		return "The user was unblocked."
	case "groups":
		return "The user's groups were saved."
	case "signedout":
		return "Every session of the user was signed out."
	}
	return emailNotice(code)
}

func (s *Server) handleRevokeForm(w http.ResponseWriter, r *http.Request) {
	if err := s.revokeOwn(r, r.PathValue("id")); err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?done=revoked", http.StatusSeeOther)
}

func (s *Server) handleRevokeOthersForm(w http.ResponseWriter, r *http.Request) {
	if _, err := s.revokeOthers(r); err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?done=others", http.StatusSeeOther)
}

func (s *Server) handlePasswordForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, sesame.Errorf(sesame.EInvalid, "the form could not be read"))
		return
	}
	err := s.changePassword(r, r.PostForm.Get("current_password"), r.PostForm.Get("new_password"), r.PostForm.Get("end_other_sessions") != "")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?done=password", http.StatusSeeOther)
}

// accountPath is where a return target that may not be followed leads.
const accountPath = "/account"

// returnDomains are the hosts the login page may send a user back to
// (ForwardConfig.ReturnDomains), lower case, without a trailing dot.
type returnDomains struct {
	exact  []string // "wiki.example.com"
	suffix []string // ".example.com": any subdomain
}

// parseReturnDomains reads "wiki.example.com", "*.example.com" (any
// subdomain) and ".example.com" (example.com and any subdomain).
func parseReturnDomains(list []string) (returnDomains, error) {
	var d returnDomains
	for _, e := range list {
		e = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(e)), ".")
		name, sub, both := e, false, false
		switch {
		case strings.HasPrefix(e, "*."):
			name, sub = e[2:], true
		case strings.HasPrefix(e, "."):
			name, both = e[1:], true
		}
		if name == "" || strings.ContainsAny(name, ":/@*[]") || !validHost(name) || strings.HasPrefix(name, ".") {
			return d, fmt.Errorf("return domains: %q: want a host name (wiki.example.com), *.example.com or .example.com", e)
		}
		if sub || both {
			d.suffix = append(d.suffix, "."+name)
		}
		if !sub {
			d.exact = append(d.exact, name)
		}
	}
	return d, nil
}

// has reports whether the host name (lower case, no port) is one of d's.
func (d *returnDomains) has(host string) bool {
	host = strings.TrimSuffix(host, ".")
	for _, e := range d.exact {
		if host == e {
			return true
		}
	}
	for _, sfx := range d.suffix {
		if len(host) > len(sfx) && strings.HasSuffix(host, sfx) {
			return true
		}
	}
	return false
}

// returnTarget is where the login page sends a user after signing in: next
// when it is a local path ("/wiki/page", never "//host" or "/\host"), or
// an absolute https URL (http too when the public URL is http) whose host
// is Sesame's own or under ForwardConfig.ReturnDomains, without user-info;
// anything else (another host, javascript:, a control character, CR or
// LF, a backslash, their percent-encoded forms, an encoded slash after the
// first) is the account page (SEC-57: no open redirect).
func (s *Server) returnTarget(next string) string {
	if next == "" || len(next) > maxOriginalURL || !plainTarget(next) {
		return accountPath
	}
	if next[0] == '/' {
		if strings.HasPrefix(next, "//") || len(next) >= 4 && strings.EqualFold(next[1:4], "%2f") {
			return accountPath
		}
		if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" || u.User != nil {
			return accountPath
		}
		return next
	}
	u, err := url.Parse(next)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" || !validHost(u.Host) {
		return accountPath
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && !(scheme == "http" && s.public != nil && s.public.scheme == "http") {
		return accountPath
	}
	host := strings.ToLower(u.Hostname())
	if s.public != nil && canonicalHost(scheme, u.Host) == canonicalHost(s.public.scheme, s.public.host) {
		return next
	}
	if !s.fwd.returns.has(host) {
		return accountPath
	}
	return next
}

// plainTarget reports whether a return target is free of what browsers
// and servers read in different ways: control characters, spaces, DEL,
// backslashes, and their percent-encoded forms.
func plainTarget(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || c == '\\' || c >= 0x80 {
			return false
		}
		if c == '%' {
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return false
			}
			if d := unhex(s[i+1])<<4 | unhex(s[i+2]); d < 0x20 || d == 0x7f || d == '\\' {
				return false
			}
		}
	}
	return true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// allowFormRedirect lets the login form's answer redirect to an absolute
// return target: Chromium applies the page's CSP form-action to the
// redirect that follows a form submission, so the target's origin joins
// 'self' there.
func (s *Server) allowFormRedirect(w http.ResponseWriter, next string) {
	if next == "" || next[0] == '/' {
		return
	}
	u, err := url.Parse(next)
	if err != nil {
		return
	}
	w.Header().Set("Content-Security-Policy", "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self' "+
		strings.ToLower(u.Scheme)+"://"+u.Host)
}
