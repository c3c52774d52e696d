package session_test

import (
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/session"
)

// TestCookieDomain: with CookieDomain the session cookie is
// __Secure-sesame with Domain= (a __Host- cookie cannot carry a Domain),
// still Secure, HttpOnly, SameSite; it authenticates, and logout clears it
// with the same Domain (or the browser would keep it).
func TestCookieDomain(t *testing.T) {
	hs := newHarness(t, session.Config{CookieDomain: "example.com"})
	w := hs.do("POST", "/login?user=alice", "")
	h := w.Header().Get("Set-Cookie")
	for _, want := range []string{"__Secure-sesame=", "; Path=/", "; Domain=example.com", "; HttpOnly", "; Secure", "; SameSite=Lax"} {
		if !strings.Contains(h, want) {
			t.Errorf("Set-Cookie %q: missing %q", redactCookie(h), want)
		}
	}
	tok, _ := hs.tokenFrom(w)
	if tok == "" {
		t.Fatal("no session cookie")
	}
	if w := hs.do("GET", "/whoami", tok); w.Code != 200 || !strings.HasPrefix(w.Body.String(), "alice ") {
		t.Errorf("whoami: got %d %q", w.Code, w.Body)
	}
	w = hs.do("POST", "/logout", tok)
	if h := w.Header().Get("Set-Cookie"); !strings.Contains(h, "__Secure-sesame=;") || !strings.Contains(h, "Domain=example.com") || !strings.Contains(h, "Max-Age=0") {
		t.Errorf("logout Set-Cookie %q: want __Secure-sesame cleared for Domain=example.com", h)
	}
	if w := hs.do("GET", "/whoami", tok); w.Code != 401 {
		t.Errorf("after logout: got %d, want 401", w.Code)
	}
}

// TestSEC01_HostPrefixRefusesDomain: a __Host- session cookie name with a
// CookieDomain is refused at construction, never at the first login.
func TestSEC01_HostPrefixRefusesDomain(t *testing.T) {
	for _, name := range []string{"__Host-sesame", "__host-app"} {
		if _, err := session.New(memstore.New(), session.Config{CookieName: name, CookieDomain: "example.com"}); err == nil {
			t.Errorf("%s with CookieDomain: got no error", name)
		}
	}
	if _, err := session.New(memstore.New(), session.Config{CookieDomain: "example..com"}); err == nil {
		t.Error("a malformed CookieDomain: got no error")
	}
	if _, err := session.New(memstore.New(), session.Config{}); err != nil {
		t.Errorf("default: %v", err)
	}
}
