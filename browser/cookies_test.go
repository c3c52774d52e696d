package browser

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
)

// TestSessionCookieHiddenFromScriptsAndStrictlyScoped checks the session
// cookie as the browser holds it after a login by clicking: scripts cannot
// read it (SEC-02); it is Secure, HttpOnly, SameSite=Lax, Path=/ and
// host-only, as its __Host- prefix demands (SEC-01); every cookie Sesame
// sets has an explicit SameSite, so Chrome's two-minute Lax+POST window
// never applies (SEC-03, attack 18); and no token is kept in Web Storage
// (SEC-27).
func TestSessionCookieHiddenFromScriptsAndStrictlyScoped(t *testing.T) {
	e := newEnv(t)
	if _, err := e.accounts.Signup(context.Background(), "alice", alicePW, false); err != nil {
		t.Fatal(err)
	}
	tb := e.newTab("alice")
	tb.login("alice", alicePW)

	for _, path := range []string{"/account", "/login"} {
		tb.open(path)
		if dc := eval[string](tb, `document.cookie`); strings.Contains(dc, "sesame") {
			t.Errorf("SEC-02: document.cookie on %s exposes a Sesame cookie: %q", path, dc)
		}
		storage := eval[int](tb, `localStorage.length + sessionStorage.length`)
		if storage != 0 {
			dump := eval[string](tb, `JSON.stringify({local: {...localStorage}, session: {...sessionStorage}})`)
			t.Errorf("SEC-27: Web Storage on %s is not empty: %s", path, dump)
		}
	}

	c := tb.cookie(sessionCookie)
	if c == nil {
		t.Fatalf("no %s cookie in the browser after login; it holds %s", sessionCookie, describeCookies(tb.cookies()))
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"Secure", c.Secure},
		{"HttpOnly", c.HTTPOnly},
		{"SameSite=Lax", c.SameSite == network.CookieSameSiteLax},
		{"Path=/", c.Path == "/"},
		// Chrome reports a host-only cookie with the bare host and a
		// Domain cookie with a leading dot.
		{"host-only (no Domain)", c.Domain == "localhost"},
		{"a session cookie (no Max-Age without remember-me)", c.Session},
	}
	for _, ck := range checks {
		if !ck.ok {
			t.Errorf("SEC-01: %s is not %s: %s", sessionCookie, ck.what, describeCookie(c))
		}
	}

	for _, c := range tb.cookies() {
		if c.SameSite == "" {
			t.Errorf("SEC-03/attack 18: cookie %s has no explicit SameSite: %s", c.Name, describeCookie(c))
		}
		if !strings.HasPrefix(c.Name, "__Host-") {
			t.Errorf("SEC-01: cookie %s lacks the __Host- prefix: %s", c.Name, describeCookie(c))
		}
	}
	t.Logf("cookies held for %s: %s", e.base, describeCookies(tb.cookies()))
}

// TestPlantedSessionCookieIsNotAdopted plants a session cookie before
// login and checks that logging in replaces it (attack 22): a made-up value
// is not adopted as the new session's ID, and an attacker's real session
// planted in the victim's browser is ended by the victim's login, so the
// attacker cannot ride the victim's account through it.
func TestPlantedSessionCookieIsNotAdopted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, u := range []struct{ name, pw string }{{"alice", alicePW}, {"mallory", bobPW}} {
		if _, err := e.accounts.Signup(ctx, u.name, u.pw, false); err != nil {
			t.Fatal(err)
		}
	}

	// A made-up value.
	{
		tb := e.newTab("alice-made-up")
		const planted = "attacker-chosen-session-value-0123456789abcdef"
		tb.plantSessionCookie(planted)
		tb.login("alice", alicePW)
		c := tb.cookie(sessionCookie)
		if c == nil || c.Value == planted {
			t.Fatalf("after login the browser's %s is %v, want a fresh value, not the planted %q", sessionCookie, c, planted)
		}
		if st := e.me(planted); st != 401 {
			t.Errorf("planted value after the victim's login: GET /api/v1/me = %d, want 401", st)
		}
		if st := tb.apiStatus("/api/v1/me"); st != 200 {
			t.Errorf("victim after login: GET /api/v1/me = %d, want 200", st)
		}
	}

	// The attacker's own real session.
	{
		attacker := e.apiLogin("mallory", bobPW)
		tb := e.newTab("alice-planted")
		tb.plantSessionCookie(attacker)
		// The plant is live: the browser is signed in as mallory.
		tb.page("account-planted", tb.open("/account"), "Your account", "/account")
		if got := tb.text("#account-username"); got != "mallory" {
			t.Fatalf("with the planted cookie the account page shows %q, want mallory", got)
		}

		tb.login("alice", alicePW)
		c := tb.cookie(sessionCookie)
		if c == nil || c.Value == attacker {
			t.Fatalf("after the victim's login the browser still holds the attacker's session cookie")
		}
		if st := e.me(attacker); st != 401 {
			t.Errorf("attacker's session after the victim logged in over it: GET /api/v1/me = %d, want 401", st)
		}
		if st := e.me(c.Value); st != 200 {
			t.Errorf("victim's new session from Go: GET /api/v1/me = %d, want 200", st)
		}
	}
}

func describeCookie(c *network.Cookie) string {
	var b strings.Builder
	b.WriteString(c.Name)
	b.WriteString("; Domain=" + c.Domain + "; Path=" + c.Path)
	if c.Secure {
		b.WriteString("; Secure")
	}
	if c.HTTPOnly {
		b.WriteString("; HttpOnly")
	}
	if c.SameSite != "" {
		b.WriteString("; SameSite=" + string(c.SameSite))
	} else {
		b.WriteString("; SameSite unspecified")
	}
	if c.Session {
		b.WriteString("; session")
	}
	return b.String()
}

func describeCookies(cs []*network.Cookie) string {
	var out []string
	for _, c := range cs {
		out = append(out, "["+describeCookie(c)+"]")
	}
	return strings.Join(out, " ")
}
