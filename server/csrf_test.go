package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame"
)

// SEC-37, attacks 14 and 15: a same-origin cookie request still needs a
// token bound to its own session.
func TestSEC37_TokenRequired(t *testing.T) {
	e := newEnv(t)
	alice, mallory := e.client(), e.client()
	alice.signup("alice", pw)
	mallory.signup("mallory", pw)
	alice.login("alice", pw, false)
	mallory.login("mallory", pw, false)
	stale := alice.csrfToken()
	alice.login("alice", pw, false) // a new login: new session ID, the old token is stale
	cases := map[string]string{
		"missing":              "",
		"garbage":              "not-a-token",
		"other session's":      mallory.csrfToken(),
		"stale (before login)": stale,
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			hdr := []string{"X-CSRF-Token", tok}
			if tok == "" {
				hdr = nil
			}
			c := *alice
			c.noCSRF = true
			r := c.do("POST", "/api/v1/sessions/revoke-others", nil, hdr...)
			if r.StatusCode != 403 {
				t.Fatalf("got %d %s, want 403", r.StatusCode, r.body)
			}
		})
	}
	alice.want(alice.do("POST", "/api/v1/sessions/revoke-others", nil), 200)
	if n := len(e.events(sesame.EventCSRFRejected)); n < len(cases) {
		t.Fatalf("SEC-55: csrf.rejected events: got %d, want at least %d", n, len(cases))
	}
}

// SEC-39, attack 21: the HTML login form needs the pre-session token;
// login rotates the session, so a token from before login is dead after.
func TestSEC39_LoginCSRF(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", pw)
	page := string(c.want(c.do("GET", "/login", nil), 200).body)
	i := strings.Index(page, `name="csrf_token" value="`)
	if i < 0 {
		t.Fatal("the login form has no CSRF token")
	}
	tok := page[i+len(`name="csrf_token" value="`):]
	tok = tok[:strings.IndexByte(tok, '"')]
	noTok := *c
	noTok.noCSRF = true
	r := noTok.do("POST", "/login", url.Values{"username": {"alice"}, "password": {pw}})
	if r.StatusCode != 403 || c.sessionCookie() != "" {
		t.Fatalf("login form without token: got %d, want 403 and no session", r.StatusCode)
	}
	// An attacker's own pre-session token does not fit this browser's cookie.
	attacker := e.client()
	attTok := attacker.csrfToken()
	r = noTok.do("POST", "/login", url.Values{"username": {"alice"}, "password": {pw}, "csrf_token": {attTok}})
	if r.StatusCode != 403 {
		t.Fatalf("login form with another browser's token: got %d, want 403", r.StatusCode)
	}
	r = noTok.do("POST", "/login", url.Values{"username": {"alice"}, "password": {pw}, "csrf_token": {tok}})
	wantRedirect(t, r, "/account")
	r = noTok.do("POST", "/account/sessions/revoke-others", url.Values{"csrf_token": {tok}})
	if r.StatusCode != 403 {
		t.Fatalf("the pre-session token after login: got %d, want 403 (rotated on login)", r.StatusCode)
	}
}

// SEC-40: JSON login needs no token but passes the origin stage; a
// cross-site JSON login is refused.
func TestSEC40_JSONLoginOriginOnly(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.noCSRF = true
	c.signup("alice", pw)
	c.login("alice", pw, false)
	evil := e.client()
	evil.noCSRF = true
	r := evil.do("POST", "/api/v1/login", map[string]string{"username": "alice", "password": pw}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if r.StatusCode != 403 {
		t.Fatalf("cross-site JSON login: got %d, want 403", r.StatusCode)
	}
}

// SEC-35: walk the route table; every unsafe route answers GET, HEAD and
// OPTIONS without changing anything, and state-changing routes exist only
// on POST and DELETE.
func TestSEC35_RouteTableSafeMethods(t *testing.T) {
	t.Run("default", func(t *testing.T) { routeTableSafeMethods(t, newEnv(t)) })
	t.Run("email", func(t *testing.T) { routeTableSafeMethods(t, emailEnv(t)) })
}

func routeTableSafeMethods(t *testing.T, e *env) {
	root := e.admin()
	c := e.client()
	c.signup("alice", pw)
	c.login("alice", pw, false)
	other := e.client()
	other.login("alice", pw, false)
	var list struct{ Sessions []sesame.SessionInfo }
	c.want(c.do("GET", "/api/v1/sessions", nil), 200).json(t, &list)
	ids := map[string]string{"{id}": list.Sessions[0].ID, "{username}": "alice", "{$}": ""}
	routes := e.server.Routes()
	if len(routes) < 25 {
		t.Fatalf("route table has %d routes: the walk is broken", len(routes))
	}
	hasGET := map[string]bool{}
	for _, rt := range routes {
		if rt.Method == "GET" {
			hasGET[rt.Pattern] = true
		}
	}
	for _, rt := range routes {
		switch rt.Method {
		case "GET", "POST", "PUT", "DELETE":
		default:
			t.Fatalf("route %s %s: unexpected method", rt.Method, rt.Pattern)
		}
		if rt.Method == "GET" {
			continue
		}
		path := rt.Pattern
		for k, v := range ids {
			path = strings.ReplaceAll(path, k, v)
		}
		for _, m := range []string{"GET", "HEAD", "OPTIONS"} {
			for _, who := range []*client{c, root} {
				r := who.do(m, path+"?_method="+rt.Method, nil, "X-HTTP-Method-Override", rt.Method)
				if hasGET[rt.Pattern] && m != "OPTIONS" {
					continue // the page on the same path (GET /login beside POST /login)
				}
				if r.StatusCode != http.StatusMethodNotAllowed && r.StatusCode != http.StatusNotFound {
					t.Errorf("%s %s (a %s route): got %d, want 405", m, path, rt.Method, r.StatusCode)
				}
			}
		}
	}
	if c.me() != 200 || other.me() != 200 || root.me() != 200 {
		t.Fatal("a safe-method request ended a session")
	}
	var users struct{ Users []sesame.PublicUser }
	root.want(root.do("GET", "/api/v1/admin/users", nil), 200).json(t, &users)
	for _, u := range users.Users {
		if u.Blocked {
			t.Fatalf("a safe-method request blocked %s", u.Username)
		}
	}
}

// SEC-37 with mail configured: every unsafe email route, sent by a
// signed-in browser (session cookie, same origin) without a CSRF token, is
// refused with 403 and changes nothing; with the token it reaches its
// handler.
func TestSEC37_EmailRoutesNeedToken(t *testing.T) {
	e := emailEnv(t)
	e.admin()
	c := e.client()
	c.signup("alice", pw)
	c.login("alice", pw, false)
	noTok := *c
	noTok.noCSRF = true
	n := 0
	for _, rt := range e.server.Routes() {
		if rt.Method == "GET" || !strings.Contains(rt.Pattern, "/email") && !strings.Contains(rt.Pattern, "/password/") {
			continue
		}
		n++
		path := strings.ReplaceAll(rt.Pattern, "{username}", "alice")
		var body any = map[string]string{"login": "alice", "email": "alice-new@example.test", "password": pw, "token": "forged"}
		if !strings.HasPrefix(path, "/api/") {
			body = url.Values{"login": {"alice"}, "email": {"alice-new@example.test"}, "current_password": {pw}}
		}
		if r := noTok.do(rt.Method, path, body); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s without a CSRF token: got %d, want 403", rt.Method, path, r.StatusCode)
		}
	}
	if n < 15 {
		t.Fatalf("only %d unsafe email routes: is mail configured?", n)
	}
	if got := e.app.EmailService(); got == nil {
		t.Fatal("no email service")
	}
	var addr struct{ Email string }
	c.want(c.do("GET", "/api/v1/email", nil), 200).json(t, &addr)
	if addr.Email != "" {
		t.Fatalf("a refused request changed alice's address: %q", addr.Email)
	}
	if n := len(e.events(sesame.EventCSRFRejected)); n < 15 {
		t.Fatalf("csrf.rejected events: %d, want one per refused request", n)
	}
	// With the token, the same change reaches its handler (202).
	c.want(c.do("PUT", "/api/v1/email", map[string]string{"email": "alice-new@example.test", "password": pw}), http.StatusAccepted)
}
