package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/passkey/passkeytest"
)

// passkeyEnv is a server whose public URL is https://localhost:PORT (a
// domain name: passkeys are on).
func passkeyEnv(t *testing.T) *env {
	t.Helper()
	cfg := config.Default()
	cfg.DB = filepath.Join(t.TempDir(), "sesame.db")
	return newEnvHost(t, cfg, "localhost")
}

// registerPasskey adds a passkey of a new authenticator to c's account.
func (c *client) registerPasskey(name string) *passkeytest.Authenticator {
	c.e.t.Helper()
	a := passkeytest.New(c.e.origin)
	opts := c.want(c.do("POST", "/api/v1/passkeys/register/begin", map[string]any{}), 200)
	body, err := a.Create(opts.body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	c.want(c.do("POST", "/api/v1/passkeys/register/finish", map[string]any{"name": name, "credential": json.RawMessage(body)}), 201)
	return a
}

// passkeyLogin runs a passwordless sign-in with a (nil: the client's
// ceremony answered by no one) and returns the finish answer.
func (c *client) passkeyLogin(a *passkeytest.Authenticator) *resp {
	c.e.t.Helper()
	opts := c.want(c.do("POST", "/api/v1/login/passkey/begin", map[string]any{}), 200)
	body, err := a.Get(opts.body, nil)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return c.do("POST", "/api/v1/login/passkey/finish", map[string]any{"credential": json.RawMessage(body), "next": "/account"})
}

type passkeyList struct {
	Passkeys []struct {
		ID, Name   string
		LastUsedAt *string `json:"last_used_at"`
	}
}

func (c *client) passkeys() passkeyList {
	c.e.t.Helper()
	var l passkeyList
	c.want(c.do("GET", "/api/v1/passkeys", nil), 200).json(c.e.t, &l)
	return l
}

// TestPasskeyAPIFlow: register from a signed-in session, list, rename,
// sign in passwordless in another browser, remove; the removed passkey
// signs no one in. Every step is audited without a secret.
func TestPasskeyAPIFlow(t *testing.T) {
	e := passkeyEnv(t)
	alice := e.client()
	alice.signup("alice", pw)
	alice.login("alice", pw, false)
	a := alice.registerPasskey("Laptop")
	l := alice.passkeys()
	if len(l.Passkeys) != 1 || l.Passkeys[0].Name != "Laptop" || l.Passkeys[0].LastUsedAt != nil {
		t.Fatalf("passkeys %+v", l)
	}
	id := l.Passkeys[0].ID
	var renamed struct{ Passkey struct{ Name string } }
	alice.want(alice.do("PUT", "/api/v1/passkeys/"+id, map[string]any{"name": "Work laptop"}), 200).json(t, &renamed)
	if renamed.Passkey.Name != "Work laptop" {
		t.Fatalf("renamed %+v", renamed)
	}

	other := e.client() // another browser, signed out
	r := other.want(other.passkeyLogin(a), 200)
	var in struct {
		User struct{ Username string }
		Next string
	}
	r.json(t, &in)
	if in.User.Username != "alice" || in.Next != "/account" || other.me() != 200 {
		t.Fatalf("passwordless sign-in: %s", r.body)
	}
	if l := alice.passkeys(); l.Passkeys[0].LastUsedAt == nil {
		t.Fatal("last used not recorded")
	}
	// The ceremony cookie is gone after the finish.
	for _, ck := range r.Cookies() {
		if ck.Name == "__Host-sesame-webauthn" && ck.MaxAge >= 0 {
			t.Fatalf("ceremony cookie not deleted: %v", ck)
		}
	}

	alice.want(alice.do("DELETE", "/api/v1/passkeys/"+id, nil), 204)
	if l := alice.passkeys(); len(l.Passkeys) != 0 {
		t.Fatalf("after removal: %+v", l)
	}
	third := e.client()
	if r := third.passkeyLogin(a); r.StatusCode != 401 || third.me() != 401 {
		t.Fatalf("removed passkey: %d %s", r.StatusCode, r.body)
	}
	for _, ev := range []sesame.EventType{sesame.EventPasskeyRegistered, sesame.EventPasskeyUsed, sesame.EventPasskeyRemoved, sesame.EventPasskeyFailure} {
		if len(e.events(ev)) == 0 {
			t.Errorf("no %s audit event", ev)
		}
	}
	if got := e.events(sesame.EventLoginSuccess); got[len(got)-1]["reason"] != "passkey" {
		t.Errorf("login.success reason %v", got[len(got)-1]["reason"])
	}
}

// TestPasskeyReplayHTTP: an assertion posted again, with the ceremony
// cookie put back (an attacker who captured both), signs no one in
// (SEC-61: single use); nor does it under another browser's ceremony.
func TestSEC61_PasskeyReplayHTTP(t *testing.T) {
	e := passkeyEnv(t)
	alice := e.client()
	alice.signup("alice", pw)
	alice.login("alice", pw, false)
	a := alice.registerPasskey("Key")

	victim := e.client()
	opts := victim.want(victim.do("POST", "/api/v1/login/passkey/begin", map[string]any{}), 200)
	var ceremony *http.Cookie
	for _, ck := range opts.Cookies() {
		if ck.Name == "__Host-sesame-webauthn" {
			ceremony = ck
		}
	}
	if ceremony == nil || !ceremony.HttpOnly || !ceremony.Secure || ceremony.SameSite != http.SameSiteStrictMode {
		t.Fatalf("ceremony cookie %v", ceremony)
	}
	body, _ := a.Get(opts.body, nil)
	finish := map[string]any{"credential": json.RawMessage(body)}
	victim.want(victim.do("POST", "/api/v1/login/passkey/finish", finish), 200)

	thief := e.client()
	thief.c.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: ceremony.Name, Value: ceremony.Value, Path: "/"}})
	if r := thief.do("POST", "/api/v1/login/passkey/finish", finish); r.StatusCode != 401 || thief.me() != 401 {
		t.Fatalf("replayed assertion: %d %s", r.StatusCode, r.body)
	}
	// Under a ceremony of its own, the old assertion answers the wrong
	// challenge.
	thief.want(thief.do("POST", "/api/v1/login/passkey/begin", map[string]any{}), 200)
	if r := thief.do("POST", "/api/v1/login/passkey/finish", finish); r.StatusCode != 401 || thief.me() != 401 {
		t.Fatalf("assertion under another ceremony: %d %s", r.StatusCode, r.body)
	}
	// Without any ceremony cookie.
	if r := e.client().do("POST", "/api/v1/login/passkey/finish", finish); r.StatusCode != 401 {
		t.Fatalf("no ceremony: %d %s", r.StatusCode, r.body)
	}
	if strings.Contains(e.logs.String(), ceremony.Value) {
		t.Fatal("the ceremony cookie's value is in the logs")
	}
	f := e.events(sesame.EventPasskeyFailure)
	if len(f) < 3 || !strings.Contains(f[0]["reason"].(string), "challenge") {
		t.Fatalf("failure events %v", f)
	}
}

// TestPasskeyWrongOriginHTTP: an assertion made for another origin (a
// phishing site relaying the challenge) or another RP ID is refused.
func TestPasskeyWrongOriginHTTP(t *testing.T) {
	e := passkeyEnv(t)
	alice := e.client()
	alice.signup("alice", pw)
	alice.login("alice", pw, false)
	a := alice.registerPasskey("Key")
	a.Origin = "https://localhost.evil.test"
	if r := e.client().passkeyLogin(a); r.StatusCode != 401 {
		t.Fatalf("wrong origin: %d %s", r.StatusCode, r.body)
	}
	a.Origin, a.RPID = e.origin, "evil.test"
	if r := e.client().passkeyLogin(a); r.StatusCode != 401 {
		t.Fatalf("wrong RP ID: %d %s", r.StatusCode, r.body)
	}
	a.RPID, a.NoUV = "", true
	if r := e.client().passkeyLogin(a); r.StatusCode != 401 {
		t.Fatalf("no user verification: %d %s", r.StatusCode, r.body)
	}
	a.NoUV = false
	e.client().want(e.client().passkeyLogin(a), 200)
}

// TestPasskeyOtherUsersPasskey: a user cannot rename or remove another
// user's passkey (404, nothing changes), nor finish a registration
// another session began.
func TestPasskeyOtherUsersPasskey(t *testing.T) {
	e := passkeyEnv(t)
	alice, bob := e.client(), e.client()
	alice.signup("alice", pw)
	bob.signup("bob", pw)
	alice.login("alice", pw, false)
	bob.login("bob", pw, false)
	alice.registerPasskey("Alice's key")
	id := alice.passkeys().Passkeys[0].ID
	bob.want(bob.do("DELETE", "/api/v1/passkeys/"+id, nil), 404)
	bob.want(bob.do("PUT", "/api/v1/passkeys/"+id, map[string]any{"name": "mine"}), 404)
	bob.want(bob.do("POST", "/account/passkeys/"+id+"/remove", url.Values{}), 404)
	if l := alice.passkeys(); len(l.Passkeys) != 1 || l.Passkeys[0].Name != "Alice's key" {
		t.Fatalf("alice's passkeys after bob: %+v", l)
	}
	// Alice's registration ceremony answered in Bob's session.
	opts := alice.want(alice.do("POST", "/api/v1/passkeys/register/begin", map[string]any{}), 200)
	body, _ := passkeytest.New(e.origin).Create(opts.body)
	for _, ck := range opts.Cookies() {
		if ck.Name == "__Host-sesame-webauthn" {
			bob.c.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/"}})
		}
	}
	bob.want(bob.do("POST", "/api/v1/passkeys/register/finish", map[string]any{"credential": json.RawMessage(body)}), 401)
	if len(bob.passkeys().Passkeys) != 0 || len(alice.passkeys().Passkeys) != 1 {
		t.Fatal("a registration crossed sessions")
	}
}

// TestPasskeyCSRF: registration and removal are unsafe requests of a
// signed-in browser: cross-site, or without the CSRF token, they are
// refused (403) before anything happens.
func TestPasskeyCSRF(t *testing.T) {
	e := passkeyEnv(t)
	alice := e.client()
	alice.signup("alice", pw)
	alice.login("alice", pw, false)
	alice.registerPasskey("Key")
	id := alice.passkeys().Passkeys[0].ID
	r := alice.do("POST", "/api/v1/passkeys/register/begin", map[string]any{}, "Origin", "https://evil.test")
	if r.StatusCode != 403 || r.errCode(t) != "csrf_origin" {
		t.Fatalf("cross-site begin: %d %s", r.StatusCode, r.body)
	}
	r = alice.do("DELETE", "/api/v1/passkeys/"+id, nil, "X-CSRF-Token", "forged")
	if r.StatusCode != 403 || r.errCode(t) != "csrf_token" {
		t.Fatalf("forged token: %d %s", r.StatusCode, r.body)
	}
	r = alice.do("POST", "/api/v1/login/passkey/begin", map[string]any{}, "Origin", "https://evil.test")
	if r.StatusCode != 403 {
		t.Fatalf("cross-site login begin: %d %s", r.StatusCode, r.body)
	}
	if len(alice.passkeys().Passkeys) != 1 {
		t.Fatal("a refused request removed the passkey")
	}
	// Signed out: 401.
	anon := e.client()
	anon.want(anon.do("POST", "/api/v1/passkeys/register/begin", map[string]any{}), 401)
}

// TestPasskeyBeginThrottled: the begin endpoints store state; one client
// IP may begin passkeyBeginLimit ceremonies without a quiet minute, then
// gets 429 with Retry-After. Another IP is not affected.
func TestPasskeyBeginThrottled(t *testing.T) {
	e := passkeyEnv(t)
	c := e.client()
	var last *resp
	for i := 0; i < 31; i++ {
		last = c.do("POST", "/api/v1/login/passkey/begin", map[string]any{}, "X-Forwarded-For", "192.0.2.7")
		if i < 30 && last.StatusCode != 200 {
			t.Fatalf("begin %d: %d %s", i, last.StatusCode, last.body)
		}
	}
	if last.StatusCode != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("31st begin: %d %s", last.StatusCode, last.body)
	}
	c.want(c.do("POST", "/api/v1/login/passkey/begin", map[string]any{}, "X-Forwarded-For", "192.0.2.8"), 200)
}

// TestPasskeyBlockedUser: a blocked user's passkey signs no one in (403).
func TestPasskeyBlockedUser(t *testing.T) {
	e := passkeyEnv(t)
	alice := e.client()
	alice.signup("alice", pw)
	alice.login("alice", pw, false)
	a := alice.registerPasskey("Key")
	if _, err := e.accounts.SetBlocked(context.Background(), "alice", true); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	if r := c.passkeyLogin(a); r.StatusCode != 403 || c.me() != 401 {
		t.Fatalf("blocked: %d %s", r.StatusCode, r.body)
	}
}

// TestPasskeyPages: the login and account pages load /static/passkey.js,
// the only script, from this origin (no inline script, no inline event
// handler), under the CSP; the account page lists passkeys with a remove
// form that works without script.
func TestPasskeyPages(t *testing.T) {
	e := passkeyEnv(t)
	alice := e.client()
	alice.signup("alice", pw)
	alice.login("alice", pw, false)
	alice.registerPasskey("Laptop")
	id := alice.passkeys().Passkeys[0].ID
	for _, path := range []string{"/login", "/account"} {
		r := alice.want(alice.do("GET", path, nil), 200)
		page := string(r.body)
		if strings.Count(page, "<script") != 1 || !strings.Contains(page, `<script src="/static/passkey.js" defer></script>`) {
			t.Errorf("%s: scripts: %s", path, page)
		}
		for _, bad := range []string{"onclick", "onload", "onsubmit", "javascript:"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s has %s", path, bad)
			}
		}
		csp := r.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s CSP %q", path, csp)
		}
	}
	for _, path := range []string{"/signup"} {
		if page := string(e.client().do("GET", path, nil).body); strings.Contains(page, "<script") {
			t.Errorf("%s has a script", path)
		}
	}
	acct := string(alice.do("GET", "/account", nil).body)
	if !strings.Contains(acct, "Laptop") || !strings.Contains(acct, "/account/passkeys/"+id+"/remove") {
		t.Fatalf("account page lacks the passkey: %s", acct)
	}
	js := alice.want(alice.do("GET", "/static/passkey.js", nil), 200)
	if ct := js.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Fatalf("passkey.js Content-Type %q", ct)
	}
	r := alice.want(alice.do("POST", "/account/passkeys/"+id+"/remove", url.Values{}), 303)
	if r.Header.Get("Location") != "/account?done=passkey-removed" || len(alice.passkeys().Passkeys) != 0 {
		t.Fatalf("remove form: %v", r.Header)
	}
}
