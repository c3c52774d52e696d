package proxytest

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
)

var proxies = []string{"nginx", "caddy"}

const alicePW, bobPW = "alice-password-1", "bob-password-1"

// SEC-57: an anonymous browser navigation through the proxy goes to
// Sesame's login page with the original URL as the return target; after
// signing in (real Chromium, by clicking) the browser is back at that URL
// and the app got the identity headers; after signing out on Sesame's
// account page the next proxied navigation is sent to the login page again
// and never reaches the app.
func TestSEC57_BrowserSignInThroughProxy(t *testing.T) {
	for _, kind := range proxies {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			e.user("alice", alicePW)
			b := startBrowser(t)
			target := e.front + "/wiki/page?x=1&y=%C3%A9"

			b.navigate(target)
			loc := b.location()
			u, err := url.Parse(loc)
			if err != nil || u.Scheme+"://"+u.Host != e.sesame || u.Path != "/login" {
				t.Fatalf("anonymous navigation to %s ended at %s, want Sesame's login page %s/login", target, loc, e.sesame)
			}
			if next := u.Query().Get("next"); next != target {
				t.Errorf("login page's return target %q, want %q", next, target)
			}
			if n := len(pages(e.up)); n != 0 {
				t.Fatalf("the anonymous navigation reached the app (%d requests)", n)
			}

			b.fill("username", "alice")
			b.fill("password", alicePW)
			resp := b.click("#login-submit")
			if got := b.location(); got != target {
				t.Fatalf("after signing in the browser is at %s, want %s", got, target)
			}
			if resp.Status != 200 {
				t.Errorf("the app's page after signing in: status %d, want 200", resp.Status)
			}
			if got := b.text("#remote-user"); got != "alice" {
				t.Errorf("the app's page shows Remote-User %q, want alice", got)
			}
			seen := pages(e.up)
			if len(seen) != 1 {
				t.Fatalf("the app got %d requests, want 1: %+v", len(seen), seen)
			}
			if s := seen[0]; s.URI != "/wiki/page?x=1&y=%C3%A9" || !slices.Equal(s.Identity["Remote-User"], []string{"alice"}) || !slices.Equal(s.Identity["Remote-Name"], []string{"alice"}) {
				t.Errorf("the app got %+v, want URI /wiki/page?x=1&y=%%C3%%A9 with Remote-User and Remote-Name alice", s)
			}

			// Sign out on Sesame's account page: the session ends, and the
			// proxy's next question gets a refusal from the in-process view.
			b.navigate(e.sesame + "/account")
			b.click("#logout")
			b.navigate(target)
			if loc := b.location(); !strings.HasPrefix(loc, e.sesame+"/login?") {
				t.Errorf("after signing out, a navigation to %s ended at %s, want the login page", target, loc)
			}
			if n := len(pages(e.up)); n != 1 {
				t.Errorf("after signing out, the app got %d more requests, want none", n-1)
			}
		})
	}
}

// pages are the requests the app got, without the browser's own
// /favicon.ico requests.
func pages(up *Upstream) []Seen {
	var out []Seen
	for _, s := range up.Requests() {
		if s.URI != "/favicon.ico" {
			out = append(out, s)
		}
	}
	return out
}

// Through each proxy: an API call without a credential gets 401 with
// WWW-Authenticate and never reaches the app; with a Bearer token or the
// session cookie it passes with the caller's identity headers; a signed-in
// user outside the rule's group gets 403; a host no rule names is refused
// (default deny); a bypass rule lets an anonymous caller through with no
// identity.
func TestSEC57_APIThroughProxy(t *testing.T) {
	for _, kind := range proxies {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			e.user("bob", bobPW)
			token := e.login("bob", bobPW, "header")
			cookie := e.login("bob", bobPW, "session")

			a := e.do("GET", "/api/items", api...)
			if a.status != 401 || !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") || a.header.Get("Location") != "" {
				t.Errorf("no credential: got %d WWW-Authenticate %q Location %q, want 401 with a Bearer challenge and no Location",
					a.status, a.header.Get("WWW-Authenticate"), a.header.Get("Location"))
			}
			if a.reached != nil {
				t.Errorf("no credential: the request reached the app: %+v", a.reached)
			}

			for name, cred := range map[string][]string{"bearer": bearerHeader(token), "cookie": cookieHeader(cookie)} {
				a = e.do("GET", "/api/items?page=2", hdrs(api, cred)...)
				if a.status != 200 || a.reached == nil {
					t.Fatalf("%s: got %d (%s), want 200 from the app", name, a.status, a.body)
				}
				if got := a.reached.Identity["Remote-User"]; !slices.Equal(got, []string{"bob"}) || a.reached.URI != "/api/items?page=2" {
					t.Errorf("%s: the app got %+v, want URI /api/items?page=2 with Remote-User bob", name, a.reached)
				}
			}

			// bob is in no group: the group rule refuses him.
			for name, cred := range map[string][]string{"bearer": bearerHeader(token), "cookie": cookieHeader(cookie)} {
				a = e.do("GET", "/admin/settings", hdrs(api, cred)...)
				if a.status != 403 || a.reached != nil {
					t.Errorf("%s: bob outside wiki-admins on /admin: got %d (reached the app: %v), want 403", name, a.status, a.reached != nil)
				}
			}

			// Default deny: a Host no rule names, signed in or not.
			for name, h := range map[string][]string{"signed in": hdrs(api, cookieHeader(cookie)), "anonymous": api} {
				a = e.doHost("127.0.0.1", "GET", "/api/items", h...)
				if a.status != 403 || a.reached != nil {
					t.Errorf("%s, Host 127.0.0.1 (no rule): got %d (reached the app: %v), want 403", name, a.status, a.reached != nil)
				}
			}

			a = e.do("GET", "/public/logo.png", api...)
			if a.status != 200 || a.reached == nil {
				t.Fatalf("bypass rule, anonymous: got %d, want 200 from the app", a.status)
			}
			for name, vs := range a.reached.Identity {
				for _, v := range vs {
					if v != "" {
						t.Errorf("bypass rule, anonymous: the app got %s: %q, want no identity", name, v)
					}
				}
			}
		})
	}
}

// SEC-57: identity headers sent by a client never reach the app, whatever
// their spelling (case, underscore, repeated), with or without a
// credential; and a client cannot describe another request to Sesame with
// the headers of the other proxy family (X-Forwarded-Uri to nginx,
// X-Original-URL to Caddy) or with path tricks (dot segments, encoded
// dots, encoded slashes, "..;").
func TestSEC57_ForgedHeadersThroughProxy(t *testing.T) {
	for _, kind := range proxies {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			e.user("bob", bobPW)
			cookie := e.login("bob", bobPW, "session")
			forged := []string{
				"Remote-User", "mallory", "remote-user", "mallory", "Remote_User", "mallory", "REMOTE-USER", "mallory",
				"Remote-Groups", "wiki-admins", "Remote_Groups", "wiki-admins", "Remote-Name", "mallory",
				"Remote-Email", "mallory@example.com", "Remote_Email", "mallory@example.com",
				"Sesame-Assertion", "forged.jwt.value", "Sesame_Assertion", "forged.jwt.value",
			}
			check := func(what string, a answer, wantUser string) {
				t.Helper()
				if a.reached == nil {
					t.Fatalf("%s: got %d, want the request to reach the app", what, a.status)
				}
				for name, vs := range a.reached.Identity {
					for _, v := range vs {
						if strings.Contains(v, "mallory") || strings.Contains(v, "forged") || strings.Contains(v, "wiki-admins") || strings.Contains(v, "{") {
							t.Errorf("%s: the app got %s: %q, a client-sent (or unfilled) identity header", what, name, v)
						}
					}
					if name != "Remote-User" && len(vs) > 1 {
						t.Errorf("%s: the app got %s %d times: %q", what, name, len(vs), vs)
					}
				}
				if got := a.reached.Identity["Remote-User"]; wantUser != "" && !slices.Equal(got, []string{wantUser}) {
					t.Errorf("%s: the app got Remote-User %q, want [%s]", what, got, wantUser)
				}
			}
			check("signed-in bob with forged headers", e.do("GET", "/wiki/page", hdrs(api, cookieHeader(cookie), forged)...), "bob")
			check("anonymous on a bypass rule with forged headers", e.do("GET", "/public/x", hdrs(api, forged)...), "")

			// The forged identity does not open anything either.
			if a := e.do("GET", "/admin/settings", hdrs(api, forged)...); a.status != 401 || a.reached != nil {
				t.Errorf("anonymous with forged identity on /admin: got %d (reached the app: %v), want 401", a.status, a.reached != nil)
			}

			// The other proxy family's headers, pointing at the bypass rule.
			other := hdrs(api,
				[]string{"X-Original-URL", e.front + "/public/x", "X-Original-Method", "GET"},
				[]string{"X-Forwarded-Uri", "/public/x", "X-Forwarded-Host", "localhost", "X-Forwarded-Method", "GET", "X-Forwarded-Proto", "https"})
			if a := e.do("GET", "/wiki/secret", other...); a.status != 401 || a.reached != nil {
				t.Errorf("anonymous /wiki/secret with headers naming /public/x: got %d (reached the app: %v), want 401", a.status, a.reached != nil)
			}

			// Path tricks from the bypass prefix into protected paths: a
			// form Sesame cleans is decided as the protected path (401
			// anonymous), a form upstreams read differently is refused as
			// 400 (nginx.conf maps Sesame's 400, which auth_request would
			// make a 500); never through to the app. "//public/../admin" is
			// refused by the proxies themselves (nginx 400, Caddy 403): any
			// 4xx (0 below).
			for p, want := range map[string]int{
				"/public/../wiki/secret": 401, "/public/%2e%2e/wiki/secret": 401, "/public/%2E%2E/admin": 401, "//public/../admin": 0,
				"/public/..;/admin": 400, "/public/..%2Fadmin": 400, "/public%2F..%2Fadmin": 400, "/public/..\\admin": 400, "/public/%5C../admin": 400,
			} {
				if a := e.do("GET", p, api...); (a.status != want && (want != 0 || a.status/100 != 4)) || a.reached != nil {
					t.Errorf("anonymous %s: got %d (reached the app as %+v), want %d", p, a.status, a.reached, want)
				}
			}
		})
	}
}

// SEC-13 through the proxies: a blocked user's cookie and Bearer token, and
// a logged-out session, are refused on their next proxied request.
func TestSEC13_RevocationThroughProxy(t *testing.T) {
	for _, kind := range proxies {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			e.user("bob", bobPW)
			e.user("carol", alicePW)
			token, cookie := e.login("bob", bobPW, "header"), e.login("bob", bobPW, "session")
			carol := e.login("carol", alicePW, "session")
			for name, cred := range map[string][]string{"bob bearer": bearerHeader(token), "bob cookie": cookieHeader(cookie), "carol cookie": cookieHeader(carol)} {
				if a := e.do("GET", "/wiki/page", hdrs(api, cred)...); a.status != 200 {
					t.Fatalf("%s before any revocation: got %d, want 200", name, a.status)
				}
			}

			if _, err := e.app.Accounts().SetBlocked(context.Background(), "bob", true); err != nil {
				t.Fatal(err)
			}
			for name, cred := range map[string][]string{"bearer": bearerHeader(token), "cookie": cookieHeader(cookie)} {
				if a := e.do("GET", "/wiki/page", hdrs(api, cred)...); a.status != 401 || a.reached != nil {
					t.Errorf("bob's %s after the admin block: got %d (reached the app: %v), want 401", name, a.status, a.reached != nil)
				}
			}

			e.logout(carol)
			if a := e.do("GET", "/wiki/page", hdrs(api, cookieHeader(carol))...); a.status != 401 || a.reached != nil {
				t.Errorf("carol's cookie after logout: got %d (reached the app: %v), want 401", a.status, a.reached != nil)
			}
			if a := e.do("GET", "/wiki/page", hdrs(navigation, cookieHeader(carol))...); a.status != 302 || !strings.HasPrefix(a.header.Get("Location"), e.sesame+"/login?") || a.reached != nil {
				t.Errorf("carol's navigation after logout: got %d Location %q, want 302 to the login page", a.status, a.header.Get("Location"))
			}
		})
	}
}
