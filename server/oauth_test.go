package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/oauth"
)

// The OAuth provider mounted by the server: its pages in the server's
// layout, the CSRF check on its forms, the login page's prompt=login and
// login_hint. The protocol itself is tested in package oauth.

const oauthRedirect = "https://rp.example.test/cb"

// oauthEnv is a server with the provider on and a client "rp" (consent
// needed) registered in its store.
func oauthEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	if e.app.OAuth() == nil {
		t.Fatal("the provider is not mounted")
	}
	_, hash := oauth.NewSecret()
	err := e.app.OAuthStore().CreateClient(context.Background(), &oauth.Client{ID: "rp", Name: "Example RP",
		SecretHash: hash, RedirectURIs: []string{oauthRedirect}, PostLogoutRedirectURIs: []string{"https://rp.example.test/bye"}, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func oauthQuery() url.Values {
	sum := sha256.Sum256([]byte("a-verifier-a-verifier-a-verifier-a-verifier-0123"))
	return url.Values{"client_id": {"rp"}, "redirect_uri": {oauthRedirect}, "response_type": {"code"},
		"scope": {"openid profile"}, "state": {"xyz"}, "nonce": {"n"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// formFields returns the hidden fields of the page's forms.
func formFields(body []byte) map[string]string {
	out := map[string]string{}
	for _, m := range hiddenField.FindAllSubmatch(body, -1) {
		out[string(m[1])] = html.UnescapeString(string(m[2]))
	}
	return out
}

// The consent page is the server's: the layout, a CSRF-protected form, no
// inline script or style, and it cannot be framed by another site.
func TestOAuthConsentPage(t *testing.T) {
	e := oauthEnv(t)
	c := e.client()
	c.signup("alice", pw)
	c.login("alice", pw, false)
	r := c.want(c.do("GET", "/oauth2/authorize?"+oauthQuery().Encode(), nil, "Accept", "text/html"), http.StatusOK)
	body := string(r.body)
	for _, want := range []string{`action="/oauth2/authorize/consent"`, `name="csrf_token"`, `name="request"`, "Example RP",
		`value="allow"`, `value="deny"`, `data-scope="profile"`, `<link rel="stylesheet" href="/static/style.css">`} {
		if !strings.Contains(body, want) {
			t.Errorf("the consent page lacks %s", want)
		}
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "style=") || strings.Contains(body, "<style") {
		t.Error("the consent page has inline script or style")
	}
	// The consent page cannot be framed (clickjacking the Allow button).
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("consent page CSP %q lacks frame-ancestors 'none'", csp)
	}
	if r.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("consent page X-Frame-Options %q", r.Header.Get("X-Frame-Options"))
	}
	// The form's answer redirects to the client: Chromium applies
	// form-action to that redirect.
	if csp := r.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; form-action 'self' https://rp.example.test") {
		t.Errorf("consent page CSP %q does not allow the client's origin in form-action", csp)
	}
	f := formFields(r.body)
	if f["request"] == "" || f["csrf_token"] == "" {
		t.Fatalf("hidden fields %v", f)
	}
	// Allow, as the browser posts the form.
	res := c.do("POST", "/oauth2/authorize/consent", url.Values{"request": {f["request"]}, "decision": {"allow"}, "csrf_token": {f["csrf_token"]}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent: %d %s", res.StatusCode, res.body)
	}
	loc, _ := url.Parse(res.Header.Get("Location"))
	if !strings.HasPrefix(loc.String(), oauthRedirect+"?") || loc.Query().Get("code") == "" || loc.Query().Get("state") != "xyz" || loc.Query().Get("iss") != "https://sesame.test" {
		t.Fatalf("consent redirect %s", loc)
	}
}

// CSRF on the consent form (SEC-58's consent step, SEC-35): a cross-site
// post, or a same-site one without the token, gets no code and saves no
// consent.
func TestSEC58_ConsentFormCSRF(t *testing.T) {
	e := oauthEnv(t)
	c := e.client()
	c.signup("alice", pw)
	c.login("alice", pw, false)
	r := c.want(c.do("GET", "/oauth2/authorize?"+oauthQuery().Encode(), nil, "Accept", "text/html"), http.StatusOK)
	f := formFields(r.body)
	c.noCSRF = true
	for name, hdr := range map[string][]string{
		"cross-site with the token": {"Origin", "https://evil.test", "Sec-Fetch-Site", "cross-site"},
		"same-site without a token": {"Origin", e.srv.URL},
	} {
		form := url.Values{"request": {f["request"]}, "decision": {"allow"}}
		if name == "cross-site with the token" {
			form.Set("csrf_token", f["csrf_token"])
		}
		res := c.do("POST", "/oauth2/authorize/consent", form, hdr...)
		if res.StatusCode != http.StatusForbidden || res.Header.Get("Location") != "" {
			t.Errorf("%s: got %d Location %q, want 403", name, res.StatusCode, res.Header.Get("Location"))
		}
	}
	u, err := e.accounts.Lookup(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.OAuthStore().Consent(context.Background(), u.ID, "rp"); err == nil {
		t.Fatal("a refused consent post saved a consent")
	}
}

// An authorization request is a navigation: an auto-submitted cross-site
// POST reaches it (no CSRF refusal); without the session cookie (a
// browser sends no SameSite=Lax cookie with it) it is asked again as a
// GET, which carries the cookie. The same for a logout request.
func TestOAuthAuthorizePostIsNavigation(t *testing.T) {
	e := oauthEnv(t)
	c := e.client()
	c.noCSRF = true
	res := c.do("POST", "/oauth2/authorize", oauthQuery(), "Origin", "https://rp.example.test", "Sec-Fetch-Site", "cross-site")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/oauth2/authorize?") {
		t.Fatalf("cross-site POST authorize: %d %q %s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	res = c.do("POST", "/oauth2/logout", url.Values{"client_id": {"rp"}}, "Origin", "https://rp.example.test", "Sec-Fetch-Site", "cross-site")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/oauth2/logout?client_id=rp" {
		t.Fatalf("cross-site POST logout: %d %q %s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
}

// SEC-58: an unknown client or a wrong redirect_uri is the server's error
// page (400, HTML), never a redirect.
func TestSEC58_OAuthErrorPage(t *testing.T) {
	e := oauthEnv(t)
	c := e.client()
	q := oauthQuery()
	q.Set("redirect_uri", "https://evil.test/cb")
	r := c.do("GET", "/oauth2/authorize?"+q.Encode(), nil, "Accept", "text/html")
	if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" || !strings.Contains(string(r.body), "redirect_uri is not registered") ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("got %d %q %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
}

// The login page honours prompt=login (the form, a notice, although
// signed in) and login_hint; signing in again replaces the session and
// the authorization request goes on without looping.
func TestOAuthForcedLoginThroughLoginPage(t *testing.T) {
	e := oauthEnv(t)
	c := e.client()
	c.signup("alice", pw)
	c.login("alice", pw, false)
	old := c.sessionCookie()
	// Consent once, so that the second round ends in a code.
	r := c.want(c.do("GET", "/oauth2/authorize?"+oauthQuery().Encode(), nil, "Accept", "text/html"), http.StatusOK)
	f := formFields(r.body)
	c.want(c.do("POST", "/oauth2/authorize/consent", url.Values{"request": {f["request"]}, "decision": {"allow"}}), http.StatusSeeOther)

	e.clock.Add(20 * time.Minute) // within the idle timeout: still signed in
	q := oauthQuery()
	q.Set("prompt", "login")
	q.Set("login_hint", "alice")
	r = c.do("GET", "/oauth2/authorize?"+q.Encode(), nil, "Accept", "text/html")
	if r.StatusCode != http.StatusFound {
		t.Fatalf("prompt=login: %d %s", r.StatusCode, r.body)
	}
	loginURL := r.Header.Get("Location")
	r = c.want(c.do("GET", loginURL, nil, "Accept", "text/html"), http.StatusOK)
	body := string(r.body)
	if !strings.Contains(body, "Sign in again to continue") || !strings.Contains(body, `value="alice"`) || !strings.Contains(body, `id="login-form"`) {
		t.Fatalf("the login page ignores prompt=login or login_hint:\n%s", body)
	}
	next := formFields(r.body)["next"]
	if !strings.HasPrefix(next, "/oauth2/authorize?") || strings.Contains(next, "prompt=login") {
		t.Fatalf("next %q", next)
	}
	res := c.do("POST", "/login", url.Values{"username": {"alice"}, "password": {pw}, "next": {next}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != next {
		t.Fatalf("login: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if c.sessionCookie() == old {
		t.Fatal("the forced login kept the session")
	}
	res = c.do("GET", next, nil, "Accept", "text/html")
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || loc.Query().Get("code") == "" {
		t.Fatalf("after the forced login: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// RP-initiated logout through the server: the confirmation page posts a
// CSRF-protected form; a cross-site post of it is refused.
func TestOAuthLogoutConfirmationPage(t *testing.T) {
	e := oauthEnv(t)
	c := e.client()
	c.signup("alice", pw)
	c.login("alice", pw, false)
	q := url.Values{"client_id": {"rp"}, "post_logout_redirect_uri": {"https://rp.example.test/bye"}, "state": {"s"}}
	r := c.want(c.do("GET", "/oauth2/logout?"+q.Encode(), nil, "Accept", "text/html"), http.StatusOK)
	if !strings.Contains(string(r.body), `action="/oauth2/logout/confirm"`) || !strings.Contains(string(r.body), "Example RP") {
		t.Fatalf("confirmation page:\n%s", r.body)
	}
	if !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Error("the logout confirmation can be framed")
	}
	f := formFields(r.body)
	c.noCSRF = true
	res := c.do("POST", "/oauth2/logout/confirm", url.Values{"request": {f["request"]}, "decision": {"logout"}, "csrf_token": {f["csrf_token"]}},
		"Origin", "https://evil.test", "Sec-Fetch-Site", "cross-site")
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site confirmation: %d", res.StatusCode)
	}
	if c.me() != http.StatusOK {
		t.Fatal("a refused confirmation signed the user out")
	}
	c.noCSRF = false
	res = c.do("POST", "/oauth2/logout/confirm", url.Values{"request": {f["request"]}, "decision": {"logout"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "https://rp.example.test/bye?state=s" {
		t.Fatalf("confirmation: %d %q %s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	if c.me() != http.StatusUnauthorized {
		t.Fatal("the session lives after the logout")
	}
}

// A Bearer caller (a first-party access token) is no browser single
// sign-on session: it gets no code, through the whole server (tokenAuth
// makes it a Bearer Principal), and prompt=none says login_required.
func TestSEC58_OAuthBearerCallerGetsNoCode(t *testing.T) {
	e := oauthEnv(t)
	api := e.client()
	api.signup("alice", pw)
	p := api.loginHeader("alice", pw)
	c := e.client() // no cookies: the token only
	q := oauthQuery()
	r := c.do("GET", "/oauth2/authorize?"+q.Encode(), nil, "Authorization", "Bearer "+p.AccessToken)
	if r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "/login?") {
		t.Fatalf("Bearer caller: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	q.Set("prompt", "none")
	r = c.do("GET", "/oauth2/authorize?"+q.Encode(), nil, "Authorization", "Bearer "+p.AccessToken)
	loc, _ := url.Parse(r.Header.Get("Location"))
	if r.StatusCode != http.StatusFound || loc.Query().Get("error") != "login_required" || loc.Query().Get("code") != "" {
		t.Fatalf("Bearer caller, prompt=none: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

// The login page's form-action allows the origin of the client an
// authorization request in next leads to, and only for a registered
// client and redirect URI (else 'self' alone).
func TestOAuthLoginPageFormAction(t *testing.T) {
	e := oauthEnv(t)
	c := e.client()
	csp := func(q url.Values) string {
		t.Helper()
		next := "/oauth2/authorize?" + q.Encode()
		r := c.want(c.do("GET", "/login?"+url.Values{"next": {next}}.Encode(), nil, "Accept", "text/html"), http.StatusOK)
		return r.Header.Get("Content-Security-Policy")
	}
	if got := csp(oauthQuery()); !strings.HasSuffix(got, "form-action 'self' https://rp.example.test") {
		t.Errorf("registered client: CSP %q", got)
	}
	for name, mod := range map[string]func(url.Values){
		"unregistered redirect": func(q url.Values) { q.Set("redirect_uri", "https://evil.test/cb") },
		"unknown client":        func(q url.Values) { q.Set("client_id", "nobody") },
		"two redirect URIs":     func(q url.Values) { q.Add("redirect_uri", "https://evil.test/cb") },
	} {
		q := oauthQuery()
		mod(q)
		if got := csp(q); !strings.HasSuffix(got, "form-action 'self'") {
			t.Errorf("%s: CSP %q", name, got)
		}
	}
}
