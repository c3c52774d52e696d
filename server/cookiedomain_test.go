package server_test

import (
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/config"
)

// TestCookieDomainEndToEnd: with cookie_domain the session cookie is
// __Secure-sesame with Domain=; the pages, the CSRF check (its token is
// bound to the session, its pre-session cookie stays __Host-), the token
// cookies and the forward-auth endpoint work with it, and logout clears
// it.
func TestCookieDomainEndToEnd(t *testing.T) {
	e := newForwardEnv(t, func(c *config.Config) { c.CookieDomain = "127.0.0.1" }) // the harness's public host
	c := e.client()
	c.signup("alice", "correct horse battery")
	r := c.login("alice", "correct horse battery", false)
	var session string
	for _, h := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(h, "__Host-sesame=") {
			t.Errorf("got a __Host-sesame cookie with cookie_domain: %q", h)
		}
		if strings.HasPrefix(h, "__Secure-sesame=") {
			session = h
		}
	}
	if !strings.Contains(session, "; Domain=127.0.0.1") || !strings.Contains(session, "; Secure") || !strings.Contains(session, "; HttpOnly") {
		t.Fatalf("session cookie %q: want __Secure-sesame with Domain, Secure, HttpOnly", session)
	}
	if c.me() != 200 {
		t.Fatal("/api/v1/me with the __Secure- cookie: not signed in")
	}
	// A state change through the CSRF check (token bound to the session).
	c.want(c.do("POST", "/api/v1/sessions/revoke-others", nil), 200)
	// The forward-auth endpoint reads the same cookie.
	val := strings.SplitN(strings.TrimPrefix(session, "__Secure-sesame="), ";", 2)[0]
	if r := e.forward(proxyPeer, join([]string{"Cookie", "__Secure-sesame=" + val}, nginxHeaders("GET", "https://wiki.example.com/page"))...); r.Code != 200 || r.Header().Get("Remote-User") != "alice" {
		t.Errorf("forward with __Secure-sesame: got %d %q", r.Code, r.Header().Get("Remote-User"))
	}
	if r := e.forward(proxyPeer, join(apiHeaders, []string{"Cookie", "__Host-sesame=" + val}, nginxHeaders("GET", "https://wiki.example.com/page"))...); r.Code != 401 {
		t.Errorf("the same token under __Host-sesame: got %d, want 401 (one cookie name)", r.Code)
	}
	// Token cookies (the cookie transport) still work.
	spa := e.client()
	spa.want(spa.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": "correct horse battery", "transport": "cookie"}), 200)
	if spa.me() != 200 {
		t.Error("token-cookie transport with cookie_domain: not signed in")
	}
	// Logout clears the cookie with its Domain.
	out := c.want(c.do("POST", "/api/v1/logout", nil), 204)
	cleared := false
	for _, h := range out.Header.Values("Set-Cookie") {
		cleared = cleared || strings.HasPrefix(h, "__Secure-sesame=;") && strings.Contains(h, "Domain=127.0.0.1")
	}
	if !cleared || c.me() != 401 {
		t.Errorf("logout: Set-Cookie %q, me after: %d", out.Header.Values("Set-Cookie"), c.me())
	}
}
