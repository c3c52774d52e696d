package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/token"
)

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func wantRedirect(t *testing.T, r *resp, location string) {
	t.Helper()
	if r.StatusCode != 303 || r.Header.Get("Location") != location {
		t.Fatalf("%s %s: got %d Location %q, want 303 to %q", r.Request.Method, r.Request.URL, r.StatusCode, r.Header.Get("Location"), location)
	}
}

// The browser flow with forms: sign up (signed in at once), account page,
// sign out, sign in again with "remember me".
func TestPagesSignupLoginAccountLogout(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for _, p := range []string{"/login", "/signup"} {
		r := c.want(c.do("GET", p, nil), 200)
		if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Fatalf("%s Content-Type: got %q", p, ct)
		}
	}
	wantRedirect(t, c.do("GET", "/", nil), "/login")
	wantRedirect(t, c.do("GET", "/account", nil, "Accept", "text/html"), "/login?next=%2Faccount")

	wantRedirect(t, c.do("POST", "/signup", form("username", "Alice", "password", pw)), "/account")
	r := c.want(c.do("GET", "/account", nil, "Accept", "text/html"), 200)
	body := string(r.body)
	for _, want := range []string{`id="account-username">alice<`, `class="current"`, "This device", "test-browser/1.0", `action="/logout"`} {
		if !strings.Contains(body, want) {
			t.Fatalf("account page lacks %q", want)
		}
	}
	wantRedirect(t, c.do("POST", "/logout", form()), "/login")
	if c.me() != 401 {
		t.Fatal("form logout left the session alive")
	}
	r = c.do("POST", "/login", form("username", "alice", "password", pw, "remember", "1", "next", "/account?x=1"))
	wantRedirect(t, r, "/account?x=1")
	remember := false
	for _, ck := range r.Cookies() {
		remember = remember || (ck.Name == "__Host-sesame" && ck.MaxAge > 0)
	}
	if !remember {
		t.Fatal("remember me: want a persistent cookie")
	}
}

func TestPagesLoginErrors(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", pw)
	r := c.do("POST", "/login", form("username", "alice", "password", "wrong password 1"))
	if r.StatusCode != 401 || !strings.Contains(string(r.body), "invalid username or password") || !strings.Contains(string(r.body), `value="alice"`) {
		t.Fatalf("wrong password page: got %d, want 401 with the message and the username kept", r.StatusCode)
	}
	if strings.Contains(string(r.body), "wrong password 1") {
		t.Fatal("the login page echoes the password")
	}
	r = c.do("POST", "/signup", form("username", "bob", "password", "password"))
	if r.StatusCode != 400 || !strings.Contains(string(r.body), "too common") {
		t.Fatalf("weak signup: got %d, want 400 with the policy message", r.StatusCode)
	}
}

// Open redirect: next must stay on this site.
func TestPagesNextIsLocal(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", pw)
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "evil", "/ok\r\nSet-Cookie: x=1"} {
		r := c.do("POST", "/login", form("username", "alice", "password", pw, "next", next))
		wantRedirect(t, r, "/account")
	}
}

// Forms posted cross-site, or with no origin information at all, are
// refused (fail closed) and change nothing.
func TestPagesFormsFailClosed(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", pw)
	c.login("alice", pw, false)
	for name, hdr := range map[string][]string{
		"no origin":  {"Origin", ""},
		"cross-site": {"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"},
	} {
		for _, p := range []string{"/logout", "/account/sessions/revoke-others"} {
			r := c.do("POST", p, form(), hdr...)
			if r.StatusCode != 403 {
				t.Fatalf("%s POST %s: got %d, want 403", name, p, r.StatusCode)
			}
		}
	}
	// Login CSRF: a cross-site login form is refused too.
	other := e.client()
	r := other.do("POST", "/login", form("username", "alice", "password", pw), "Origin", "https://evil.example")
	if r.StatusCode != 403 || other.sessionCookie() != "" {
		t.Fatalf("cross-site login form: got %d, want 403 and no session", r.StatusCode)
	}
	if c.me() != 200 {
		t.Fatal("a refused form changed the session")
	}
}

// Revoking from the account page, and the admin page blocking a user.
func TestPagesRevokeAndAdminBlock(t *testing.T) {
	e := newEnv(t)
	root := e.admin()
	laptop, phone := e.client(), e.client()
	laptop.signup("alice", pw)
	phone.ua = `<script>alert("ua")</script>`
	laptop.login("alice", pw, false)
	phone.login("alice", pw, false)
	page := string(laptop.want(laptop.do("GET", "/account", nil, "Accept", "text/html"), 200).body)
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;") {
		t.Fatal("the device string is not HTML-escaped")
	}
	i := strings.Index(page, `action="/account/sessions/`)
	if i < 0 {
		t.Fatal("no revoke button for the other session")
	}
	action := page[i+len(`action="`):]
	action = action[:strings.IndexByte(action, '"')]
	wantRedirect(t, laptop.do("POST", action, form()), "/account?done=revoked")
	if phone.me() != 401 || laptop.me() != 200 {
		t.Fatal("revoke button: want the phone signed out and the laptop still in")
	}
	// Alice is not an admin.
	if r := laptop.do("GET", "/admin", nil, "Accept", "text/html"); r.StatusCode != 403 {
		t.Fatalf("admin page for a non-admin: got %d, want 403", r.StatusCode)
	}
	page = string(root.want(root.do("GET", "/admin", nil, "Accept", "text/html"), 200).body)
	if !strings.Contains(page, `href="/admin/users/alice/confirm/block"`) {
		t.Fatal("admin page lacks the block link for alice")
	}
	page = string(root.want(root.do("GET", "/admin/users/alice/confirm/block", nil, "Accept", "text/html"), 200).body)
	if !strings.Contains(page, `action="/admin/users/alice/block"`) {
		t.Fatal("the confirm page lacks the block form for alice")
	}
	if laptop.me() != 200 {
		t.Fatal("the confirm page changed something")
	}
	wantRedirect(t, root.do("POST", "/admin/users/alice/block", form()), "/admin/users/alice?done=blocked")
	if laptop.me() != 401 {
		t.Fatal("blocking from the admin page left alice's session alive")
	}
	if r := laptop.do("POST", "/admin/users/root/block", form(), "Accept", "text/html"); r.StatusCode != 303 || r.Header.Get("Location") != "/login" {
		t.Fatalf("admin form without a session: got %d %q, want a redirect to login", r.StatusCode, r.Header.Get("Location"))
	}
}

// The page's sign-out form ends the caller's credential whatever it is: a
// browser signed in by the SPA's access-token cookie is signed out too (its
// token session revoked, the token cookies cleared), never left with a
// live credential after "sign out".
func TestLogoutFormEndsTokenCookieSession(t *testing.T) {
	e := newEnv(t)
	spa := e.client()
	spa.signup("alice", pw)
	spa.want(spa.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw, "transport": "cookie"}), 200)
	var at string
	for _, ck := range spa.c.Jar.Cookies(mustURL(e.srv.URL)) {
		if ck.Name == token.AccessCookie {
			at = ck.Value
		}
	}
	if at == "" {
		t.Fatal("no access cookie after a cookie-transport login")
	}
	r := spa.do("POST", "/logout", url.Values{})
	wantRedirect(t, r, "/login")
	cleared := false
	for _, sc := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, token.AccessCookie+"=;") || strings.HasPrefix(sc, token.AccessCookie+"=") && strings.Contains(sc, "Max-Age=0") {
			cleared = true
		}
	}
	if !cleared {
		t.Errorf("the access cookie was not cleared: %v", r.Header.Values("Set-Cookie"))
	}
	// The copied access token is dead: its session was revoked.
	other := e.client()
	if r := other.do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+at); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the access token after the page's sign-out: got %d, want 401", r.StatusCode)
	}
	if len(e.events(sesame.EventLogout)) == 0 {
		t.Error("the sign-out was not audited")
	}
}
