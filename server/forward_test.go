package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/authz"
	"github.com/sesame-auth/sesame/config"
)

// forwardRules are the rules of the forward-auth tests.
var forwardRules = []authz.Rule{
	{Domain: "wiki.example.com", Path: "/static", Policy: "bypass"},
	{Domain: "wiki.example.com", Path: "/admin", Policy: "admin"},
	{Domain: "wiki.example.com", Path: "/ops", Policy: "group:ops"},
	{Domain: "wiki.example.com", Path: "/closed", Policy: "deny"},
	{Domain: "wiki.example.com", Path: "/write", Methods: []string{"POST", "DELETE"}, Policy: "admin"},
	{Domain: "wiki.example.com", Path: `^/api/v[0-9]+/internal(/|$)`, Policy: "deny"},
	{Domain: "intranet.example.com", Networks: []string{"10.0.0.0/8"}, Policy: "bypass"},
	{Domain: "intranet.example.com", Policy: "deny"},
	{Domain: "*.example.com", Policy: "authenticated"},
	{Domain: "wiki.example.com", Policy: "bypass"}, // unreachable: the rule above matches first
}

// newForwardEnv is a server with forwardRules, changed by edit; the test
// client (127.0.0.1) is a trusted proxy.
func newForwardEnv(t *testing.T, edit func(*config.Config)) *env {
	t.Helper()
	cfg := config.Default()
	cfg.DB = filepath.Join(t.TempDir(), "sesame.db")
	cfg.AccessRules = forwardRules
	cfg.ReturnDomains = []string{"*.example.com"}
	if edit != nil {
		edit(cfg)
	}
	return newEnvConfig(t, cfg)
}

// nginxHeaders describe the original request as nginx's auth_request
// snippet does.
func nginxHeaders(method, rawURL string) []string {
	return []string{"X-Original-URL", rawURL, "X-Original-Method", method}
}

// caddyHeaders describe the original request as Caddy's forward_auth and
// Traefik's ForwardAuth do.
func caddyHeaders(method, proto, host, uri string) []string {
	return []string{"X-Forwarded-Method", method, "X-Forwarded-Proto", proto, "X-Forwarded-Host", host, "X-Forwarded-Uri", uri}
}

var (
	navHeaders = []string{"Accept", "text/html,application/xhtml+xml", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}
	apiHeaders = []string{"Accept", "application/json"}
)

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// forward asks the forward-auth endpoint in-process, from the TCP peer
// (an address; 127.0.0.1 is the trusted proxy), with the given headers
// (name, value pairs; a name may repeat; values are sent as written).
func (e *env) forward(peer string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", e.srv.URL+"/api/v1/authz/forward", nil)
	req.RemoteAddr = peer + ":40000"
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header[http.CanonicalHeaderKey(hdr[i])] = append(req.Header[http.CanonicalHeaderKey(hdr[i])], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.server.ServeHTTP(rec, req)
	return rec
}

const proxyPeer = "127.0.0.1"

// forwardCallers signs in alice (a user) and root (an administrator) and
// returns their Cookie headers, and alice's access token.
func forwardCallers(e *env) (alice, root []string, aliceToken string) {
	c := e.client()
	c.signup("alice", "correct horse battery")
	c.login("alice", "correct horse battery", false)
	alice = []string{"Cookie", "__Host-sesame=" + c.sessionCookie()}
	r := e.admin()
	root = []string{"Cookie", "__Host-sesame=" + r.sessionCookie()}

	aliceToken = e.client().loginHeader("alice", "correct horse battery").AccessToken
	return alice, root, aliceToken
}

// opsCaller signs in olivia, member of the groups ops and wiki-editors,
// and returns her Cookie header.
func opsCaller(e *env) []string {
	c := e.client()
	c.signup("olivia", "correct horse battery")
	if _, err := e.accounts.AddGroups(context.Background(), "olivia", "ops", "wiki-editors"); err != nil {
		e.t.Fatal(err)
	}
	c.login("olivia", "correct horse battery", false)
	return []string{"Cookie", "__Host-sesame=" + c.sessionCookie()}
}

// TestForwardRulesMatrix walks the rules through the endpoint, with each
// proxy's headers: domain (exact, *.suffix, default deny for another),
// path (prefix segment-wise, regular expression, cleaned: SEC-57),
// method, network (X-Forwarded-For from the trusted proxy), policy
// (bypass, deny, authenticated, admin, group) and order (first match).
func TestForwardRulesMatrix(t *testing.T) {
	e := newForwardEnv(t, nil)
	alice, root, _ := forwardCallers(e)
	type caller struct {
		name string
		hdr  []string
	}
	anon, user, admin := caller{"anonymous", nil}, caller{"alice", alice}, caller{"root", root}
	ops := caller{"olivia", opsCaller(e)}
	cases := []struct {
		name         string
		method, host string
		uri          string
		ip           string // X-Forwarded-For; "" none
		who          caller
		want         int
	}{
		{"bypass prefix, anonymous", "GET", "wiki.example.com", "/static/app.css", "", anon, 200},
		{"bypass prefix is segment-wise", "GET", "wiki.example.com", "/staticfile", "", anon, 401},
		{"bypass escaped by dot segments", "GET", "wiki.example.com", "/static/../admin", "", anon, 401},
		{"bypass escaped by encoded dots", "GET", "wiki.example.com", "/static/%2e%2e/admin", "", user, 403},
		{"admin rule, user", "GET", "wiki.example.com", "/admin/users", "", user, 403},
		{"admin rule, admin", "GET", "wiki.example.com", "/admin/users", "", admin, 200},
		{"admin rule, anonymous", "GET", "wiki.example.com", "/admin", "", anon, 401},
		{"double slash is the admin path", "GET", "wiki.example.com", "//admin", "", user, 403},
		{"group rule, user in no group", "GET", "wiki.example.com", "/ops/board", "", user, 403},
		{"group rule, member", "GET", "wiki.example.com", "/ops/board", "", ops, 200},
		{"group rule, member, other method", "DELETE", "wiki.example.com", "/ops", "", ops, 200},
		{"admin rule, group member", "GET", "wiki.example.com", "/admin", "", ops, 403},
		{"group rule, admin is not implicitly a member", "GET", "wiki.example.com", "/ops", "", admin, 403},
		{"group rule, anonymous", "GET", "wiki.example.com", "/ops", "", anon, 401},
		{"deny rule, anonymous: 403, signing in would not help", "GET", "wiki.example.com", "/closed", "", anon, 403},
		{"deny rule, admin", "GET", "wiki.example.com", "/closed/x", "", admin, 403},
		{"method rule: POST needs admin", "POST", "wiki.example.com", "/write", "", user, 403},
		{"method rule: DELETE, any case", "delete", "wiki.example.com", "/write", "", admin, 200},
		{"method rule: GET falls through to authenticated", "GET", "wiki.example.com", "/write", "", user, 200},
		{"regex deny", "GET", "wiki.example.com", "/api/v2/internal/x", "", admin, 403},
		{"regex does not match another version form", "GET", "wiki.example.com", "/api/vX/internal", "", user, 200},
		{"network rule: inside 10/8", "GET", "intranet.example.com", "/", "10.1.2.3", anon, 200},
		{"network rule: outside", "GET", "intranet.example.com", "/", "192.0.2.7", user, 403},
		{"network rule: no client address besides the proxy", "GET", "intranet.example.com", "/", "", admin, 403},
		{"suffix rule, user", "GET", "grafana.example.com", "/d/1", "", user, 200},
		{"suffix rule, anonymous", "GET", "grafana.example.com", "/", "", anon, 401},
		{"suffix rule: upper-case host and trailing dot", "GET", "GRAFANA.Example.COM.", "/", "", user, 200},
		{"suffix rule: not the bare domain (default deny)", "GET", "example.com", "/", "", user, 403},
		{"order: the unreachable bypass never applies", "GET", "wiki.example.com", "/page", "", anon, 401},
		{"default deny: another domain", "GET", "evil.example.org", "/", "", admin, 403},
		{"default deny: anonymous too", "GET", "evil.example.org", "/", "", anon, 403},
		{"query ignored by the rules", "GET", "wiki.example.com", "/static/x?next=/admin", "", anon, 200},
	}
	for _, c := range cases {
		for _, proxy := range []string{"nginx", "caddy"} {
			hdr := join(apiHeaders, c.who.hdr)
			if proxy == "nginx" {
				hdr = join(hdr, nginxHeaders(c.method, "https://"+c.host+c.uri))
			} else {
				hdr = join(hdr, caddyHeaders(c.method, "https", c.host, c.uri))
			}
			if c.ip != "" {
				hdr = join(hdr, []string{"X-Forwarded-For", c.ip})
			}
			r := e.forward(proxyPeer, hdr...)
			if r.Code != c.want {
				t.Errorf("%s (%s, %s %s%s as %s): got %d %s, want %d", c.name, proxy, c.method, c.host, c.uri, c.who.name, r.Code, r.Body, c.want)
			}
			if r.Code == 200 && c.who.name != "anonymous" && r.Header().Get("Remote-User") != c.who.name {
				t.Errorf("%s (%s): Remote-User %q, want %q", c.name, proxy, r.Header().Get("Remote-User"), c.who.name)
			}
		}
	}
}

// TestForwardIdentityHeaders: an allowed answer names the caller in
// Remote-User, Remote-Name and Remote-Groups (always present, empty for an
// anonymous caller on a bypass rule), or under the names forward_headers
// gives; a header left out is not sent.
func TestForwardIdentityHeaders(t *testing.T) {
	e := newForwardEnv(t, nil)
	alice, _, _ := forwardCallers(e)
	r := e.forward(proxyPeer, join(alice, nginxHeaders("GET", "https://wiki.example.com/page"))...)
	h := r.Header()
	if r.Code != 200 || h.Get("Remote-User") != "alice" || h.Get("Remote-Name") != "alice" || len(h.Values("Remote-Groups")) != 1 {
		t.Errorf("signed in: got %d %v", r.Code, h)
	}
	if _, ok := h["Remote-Email"]; ok {
		t.Errorf("Remote-Email sent for a user without an email address: %q", h.Get("Remote-Email"))
	}
	r = e.forward(proxyPeer, nginxHeaders("GET", "https://wiki.example.com/static/x")...)
	if h := r.Header(); r.Code != 200 || len(h.Values("Remote-User")) != 1 || h.Get("Remote-User") != "" || h.Get("Remote-Groups") != "" {
		t.Errorf("anonymous bypass: got %d %v, want 200 with empty identity headers", r.Code, h)
	}

	r = e.forward(proxyPeer, join(opsCaller(e), nginxHeaders("GET", "https://wiki.example.com/ops"))...)
	if r.Code != 200 || r.Header().Get("Remote-User") != "olivia" || r.Header().Get("Remote-Groups") != "ops,wiki-editors" {
		t.Errorf("group member: got %d %v, want Remote-Groups ops,wiki-editors", r.Code, r.Header())
	}

	e2 := newForwardEnv(t, func(c *config.Config) { c.ForwardHeaders = []string{"user=X-Auth-User", "name="} })
	alice2, _, _ := forwardCallers(e2)
	r = e2.forward(proxyPeer, join(alice2, nginxHeaders("GET", "https://wiki.example.com/page"))...)
	h = r.Header()
	if r.Code != 200 || h.Get("X-Auth-User") != "alice" || h.Get("Remote-User") != "" || len(h.Values("Remote-Name")) != 0 || len(h.Values("Remote-Groups")) != 1 {
		t.Errorf("renamed headers: got %d %v", r.Code, h)
	}
}

// TestSEC57_ForwardedHeadersFromUntrustedPeer: only a peer in
// trusted_proxies is believed about the original request; from any other,
// X-Original-* and X-Forwarded-* are ignored and the decision is about the
// request itself (to Sesame's own host, which no rule names: 403), so a
// client reaching Sesame directly cannot describe a bypass path.
func TestSEC57_ForwardedHeadersFromUntrustedPeer(t *testing.T) {
	e := newForwardEnv(t, nil)
	alice, _, _ := forwardCallers(e)
	for _, hdr := range [][]string{
		nginxHeaders("GET", "https://wiki.example.com/static/x"),
		caddyHeaders("GET", "https", "wiki.example.com", "/static/x"),
		join(caddyHeaders("GET", "https", "intranet.example.com", "/"), []string{"X-Forwarded-For", "10.0.0.1"}),
	} {
		if r := e.forward("192.0.2.9", hdr...); r.Code == 200 {
			t.Errorf("untrusted peer with %q: got 200, want a refusal", hdr)
		}
		if r := e.forward("192.0.2.9", join(alice, hdr)...); r.Code != 403 {
			t.Errorf("untrusted peer, signed in, with %q: got %d, want 403 (the request to Sesame itself, no rule)", hdr, r.Code)
		}
		if r := e.forward(proxyPeer, hdr...); r.Code != 200 {
			t.Errorf("trusted peer with %q: got %d, want 200 (the control)", hdr, r.Code)
		}
	}
	// The request itself is decided: a rule for Sesame's own path applies.
	e2 := newForwardEnv(t, func(c *config.Config) {
		c.AccessRules = []authz.Rule{{Domain: "*", Path: "/api/v1/authz/forward", Policy: "authenticated"}}
	})
	alice2, _, _ := forwardCallers(e2)
	if r := e2.forward("192.0.2.9", join(alice2, nginxHeaders("GET", "https://other.example.com/closed"))...); r.Code != 200 {
		t.Errorf("untrusted peer: got %d, want 200 from the rule for the request itself", r.Code)
	}
}

// TestSEC57_ClientIdentityHeadersIrrelevant: identity headers a client
// sends (Remote-User: admin, in any spelling) decide nothing and never
// come back in the answer.
func TestSEC57_ClientIdentityHeadersIrrelevant(t *testing.T) {
	e := newForwardEnv(t, nil)
	alice, _, _ := forwardCallers(e)
	forged := []string{"Remote-User", "root", "Remote_User", "root", "Remote-Groups", "ops,admins", "X-Forwarded-User", "root", "Sesame-Assertion", "x.y.z"}
	if r := e.forward(proxyPeer, join(apiHeaders, forged, nginxHeaders("GET", "https://wiki.example.com/admin"))...); r.Code != 401 {
		t.Errorf("anonymous with forged identity on an admin path: got %d, want 401", r.Code)
	}
	r := e.forward(proxyPeer, join(alice, forged, nginxHeaders("GET", "https://wiki.example.com/admin"))...)
	if r.Code != 403 {
		t.Errorf("alice with forged identity on an admin path: got %d, want 403", r.Code)
	}
	r = e.forward(proxyPeer, join(alice, forged, nginxHeaders("GET", "https://wiki.example.com/page"))...)
	if got := r.Header().Get("Remote-User"); r.Code != 200 || got != "alice" || r.Header().Get("Remote-Groups") != "" || r.Header().Get("Sesame-Assertion") != "" {
		t.Errorf("alice with forged identity: got %d Remote-User %q Remote-Groups %q", r.Code, got, r.Header().Get("Remote-Groups"))
	}
	r = e.forward(proxyPeer, join(forged, nginxHeaders("GET", "https://wiki.example.com/static/x"))...)
	if got := r.Header().Get("Remote-User"); r.Code != 200 || got != "" {
		t.Errorf("anonymous bypass with forged identity: got %d Remote-User %q, want 200 and empty", r.Code, got)
	}
}

// TestForwardCredentials: a cookie session and a Bearer access token both
// count; no credential is anonymous; a session signed out, revoked by the
// admin block, or a token whose session ended is refused on the next
// request (from the in-process view, SEC-13); a malformed Authorization
// never falls back to the cookie (SEC-20).
func TestForwardCredentials(t *testing.T) {
	e := newForwardEnv(t, nil)
	c := e.client()
	c.signup("alice", "correct horse battery")
	c.login("alice", "correct horse battery", false)
	cookie := []string{"Cookie", "__Host-sesame=" + c.sessionCookie()}
	tok := e.client().loginHeader("alice", "correct horse battery").AccessToken
	bearer := []string{"Authorization", "Bearer " + tok}
	page := nginxHeaders("GET", "https://wiki.example.com/page")

	for _, x := range []struct {
		name string
		hdr  []string
		want int
	}{
		{"cookie", cookie, 200},
		{"bearer", bearer, 200},
		{"none", apiHeaders, 401},
		{"forged cookie", []string{"Cookie", "__Host-sesame=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 401},
		{"forged bearer", []string{"Authorization", "Bearer " + tok[:len(tok)-4] + "AAAA"}, 401},
		{"Basic beside a valid cookie", join(cookie, []string{"Authorization", "Basic YWxpY2U6cHc="}), 401},
	} {
		if r := e.forward(proxyPeer, join(x.hdr, page)...); r.Code != x.want {
			t.Errorf("%s: got %d %s, want %d", x.name, r.Code, r.Body, x.want)
		}
	}

	// Signing out the cookie's session refuses it at once; the token's
	// session is another one and still passes.
	c.want(c.do("POST", "/api/v1/logout", nil), 204)
	if r := e.forward(proxyPeer, join(cookie, apiHeaders, page)...); r.Code != 401 {
		t.Errorf("signed-out cookie: got %d, want 401", r.Code)
	}
	if r := e.forward(proxyPeer, join(bearer, page)...); r.Code != 200 {
		t.Errorf("bearer after the cookie's logout: got %d, want 200", r.Code)
	}

	// An admin block ends every session: the token is refused too.
	c.login("alice", "correct horse battery", false)
	cookie = []string{"Cookie", "__Host-sesame=" + c.sessionCookie()}
	if r := e.forward(proxyPeer, join(cookie, page)...); r.Code != 200 {
		t.Fatalf("new login: got %d, want 200", r.Code)
	}
	root := e.admin()
	root.want(root.do("POST", "/api/v1/admin/users/alice/block", nil), 200)
	for name, hdr := range map[string][]string{"cookie": cookie, "bearer": bearer} {
		if r := e.forward(proxyPeer, join(hdr, apiHeaders, page)...); r.Code != 401 {
			t.Errorf("blocked user's %s: got %d, want 401", name, r.Code)
		}
	}
}

// TestForwardNavigation: an anonymous caller's browser navigation is sent
// to the login page with the original URL as next (302 for GET and HEAD,
// 303 otherwise; for nginx, 401 with that Location), anything else is 401
// with WWW-Authenticate and no Location.
func TestForwardNavigation(t *testing.T) {
	e := newForwardEnv(t, nil)
	login := "https://" + e.srv.Listener.Addr().String() + "/login?next="
	orig := "https://wiki.example.com/page?a=1&b=%2F"
	for _, c := range []struct {
		name string
		hdr  []string
		nav  bool
	}{
		{"Sec-Fetch-Mode navigate", []string{"Sec-Fetch-Mode", "navigate", "Accept", "*/*"}, true},
		{"Sec-Fetch-Mode cors, Accept text/html", []string{"Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "document", "Accept", "text/html"}, false},
		{"Sec-Fetch-Mode no-cors (an image)", []string{"Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"}, false},
		{"Sec-Fetch-Dest document alone", []string{"Sec-Fetch-Dest", "document"}, true},
		{"Sec-Fetch-Dest empty (fetch)", []string{"Sec-Fetch-Dest", "empty", "Accept", "text/html"}, false},
		{"old browser: Accept text/html", []string{"Accept", "text/html,application/xhtml+xml;q=0.9"}, true},
		{"old browser XHR", []string{"Accept", "text/html", "X-Requested-With", "XMLHttpRequest"}, false},
		{"Accept text/html with a Bearer", []string{"Accept", "text/html", "Authorization", "Bearer x"}, false},
		{"API", apiHeaders, false},
		{"no headers (curl)", nil, false},
	} {
		for _, proxy := range []string{"nginx", "caddy"} {
			hdr := join(c.hdr, caddyHeaders("GET", "https", "wiki.example.com", "/page?a=1&b=%2F"))
			if proxy == "nginx" {
				hdr = join(c.hdr, nginxHeaders("GET", orig))
			}
			r := e.forward(proxyPeer, hdr...)
			loc := r.Header().Get("Location")
			switch {
			case !c.nav && (r.Code != 401 || loc != "" || r.Header().Get("WWW-Authenticate") == ""):
				t.Errorf("%s (%s): got %d Location %q WWW-Authenticate %q, want 401 with a challenge and no Location", c.name, proxy, r.Code, loc, r.Header().Get("WWW-Authenticate"))
			case c.nav && proxy == "nginx" && (r.Code != 401 || loc != login+url.QueryEscape(orig)):
				t.Errorf("%s (nginx): got %d Location %q, want 401 with Location %s", c.name, r.Code, loc, login+url.QueryEscape(orig))
			case c.nav && proxy == "caddy" && (r.Code != 302 || loc != login+url.QueryEscape(orig)):
				t.Errorf("%s (caddy): got %d Location %q, want 302 to %s", c.name, r.Code, loc, login+url.QueryEscape(orig))
			}
		}
	}
	// A form POST navigation: 303, so that the return is a GET.
	r := e.forward(proxyPeer, join(navHeaders, caddyHeaders("POST", "https", "wiki.example.com", "/page"))...)
	if r.Code != 303 {
		t.Errorf("POST navigation: got %d, want 303", r.Code)
	}
	// The proto the proxy reports is the return target's scheme.
	r = e.forward(proxyPeer, join(navHeaders, caddyHeaders("GET", "http", "wiki.example.com", "/p"))...)
	if loc := r.Header().Get("Location"); loc != login+url.QueryEscape("http://wiki.example.com/p") {
		t.Errorf("http proto: Location %q", loc)
	}
}

// TestForwardInvalid: a malformed, ambiguous or oversize description of
// the original request is 400, never an allow and never a 500 (SEC-57),
// even on a host whose every path is bypassed.
func TestForwardInvalid(t *testing.T) {
	e := newForwardEnv(t, func(c *config.Config) {
		c.AccessRules = []authz.Rule{{Domain: "*", Policy: "bypass"}}
	})
	long := "/" + strings.Repeat("a", 8<<10)
	for _, c := range []struct {
		name string
		hdr  []string
	}{
		{"oversize X-Original-URL", nginxHeaders("GET", "https://wiki.example.com"+long)},
		{"oversize X-Forwarded-Uri", caddyHeaders("GET", "https", "wiki.example.com", long)},
		{"relative X-Original-URL", nginxHeaders("GET", "/page")},
		{"no scheme", nginxHeaders("GET", "wiki.example.com/page")},
		{"javascript scheme", nginxHeaders("GET", "javascript://wiki.example.com/%0aalert(1)")},
		{"ftp scheme", nginxHeaders("GET", "ftp://wiki.example.com/")},
		{"user-info", nginxHeaders("GET", "https://root@wiki.example.com/")},
		{"space in the URL", nginxHeaders("GET", "https://wiki.example.com/a b")},
		{"CRLF in the URL", nginxHeaders("GET", "https://wiki.example.com/a\r\nRemote-User: root")},
		{"NUL in the URL", nginxHeaders("GET", "https://wiki.example.com/a\x00")},
		{"fragment", nginxHeaders("GET", "https://wiki.example.com/a#b")},
		{"empty host", nginxHeaders("GET", "https:///page")},
		{"host list", caddyHeaders("GET", "https", "wiki.example.com, evil.example.org", "/")},
		{"encoded slash", nginxHeaders("GET", "https://wiki.example.com/static%2F..%2Fadmin")},
		{"backslash", nginxHeaders("GET", "https://wiki.example.com/static\\..\\admin")},
		{"Tomcat ..;", nginxHeaders("GET", "https://wiki.example.com/static/..;/admin")},
		{"bad escape", nginxHeaders("GET", "https://wiki.example.com/%zz")},
		{"missing method", []string{"X-Original-URL", "https://wiki.example.com/"}},
		{"empty method", nginxHeaders("", "https://wiki.example.com/")},
		{"bad method", nginxHeaders("GE T", "https://wiki.example.com/")},
		{"oversize method", nginxHeaders(strings.Repeat("G", 100), "https://wiki.example.com/")},
		{"two X-Original-URL", join(nginxHeaders("GET", "https://wiki.example.com/"), []string{"X-Original-URL", "https://evil.example.org/"})},
		{"two methods", join(nginxHeaders("GET", "https://wiki.example.com/"), []string{"X-Original-Method", "POST"})},
		{"Caddy without a host", []string{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/"}},
		{"Caddy without a method", []string{"X-Forwarded-Host", "wiki.example.com", "X-Forwarded-Uri", "/"}},
		{"Caddy relative-less URI", caddyHeaders("GET", "https", "wiki.example.com", "page")},
		{"Caddy bad proto", caddyHeaders("GET", "ftp", "wiki.example.com", "/")},
		{"Caddy two hosts", join(caddyHeaders("GET", "https", "wiki.example.com", "/"), []string{"X-Forwarded-Host", "evil.example.org"})},
	} {
		r := e.forward(proxyPeer, c.hdr...)
		if r.Code != 400 {
			t.Errorf("%s: got %d %s, want 400", c.name, r.Code, r.Body)
		}
	}
	// The controls pass.
	for _, hdr := range [][]string{nginxHeaders("GET", "https://wiki.example.com/a?b=c"), nginxHeaders("get", "HTTPS://wiki.example.com"),
		caddyHeaders("PROPFIND", "HTTPS", "wiki.example.com:8443", "/dav/")} {
		if r := e.forward(proxyPeer, hdr...); r.Code != 200 {
			t.Errorf("control %q: got %d %s, want 200", hdr, r.Code, r.Body)
		}
	}
}

// TestForwardAnyMethod: the endpoint answers whatever method the proxy
// asks with, past the CSRF and JSON checks (it changes nothing), with the
// original request's cross-site Origin and form Content-Type.
func TestForwardAnyMethod(t *testing.T) {
	e := newForwardEnv(t, nil)
	alice, _, _ := forwardCallers(e)
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		req := httptest.NewRequest(m, e.srv.URL+"/api/v1/authz/forward", nil)
		req.RemoteAddr = proxyPeer + ":1"
		req.Header.Set("Cookie", alice[1])
		req.Header.Set("Origin", "https://wiki.example.com")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Original-URL", "https://wiki.example.com/page")
		req.Header.Set("X-Original-Method", "POST")
		rec := httptest.NewRecorder()
		e.server.ServeHTTP(rec, req)
		if rec.Code != 200 || rec.Header().Get("Remote-User") != "alice" {
			t.Errorf("%s: got %d %s, want 200 for alice", m, rec.Code, rec.Body)
		}
	}
}

// TestForwardIgnoresBody: a proxy that passes an upload's body along
// (Content-Length over the 64 KiB body limit, or chunked) is answered on
// the headers, never 413.
func TestForwardIgnoresBody(t *testing.T) {
	e := newForwardEnv(t, nil)
	alice, _, _ := forwardCallers(e)
	for _, n := range []int64{1 << 20, -1} {
		req := httptest.NewRequest("POST", e.srv.URL+"/api/v1/authz/forward", strings.NewReader(strings.Repeat("x", 1<<20)))
		req.ContentLength = n
		req.RemoteAddr = proxyPeer + ":1"
		req.Header.Set("Cookie", alice[1])
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("X-Original-URL", "https://wiki.example.com/upload")
		req.Header.Set("X-Original-Method", "POST")
		rec := httptest.NewRecorder()
		e.server.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Errorf("Content-Length %d: got %d %s, want 200", n, rec.Code, rec.Body)
		}
	}
}

// SEC-53: a signed-in caller refused by a rule is audited as access.denied
// with the rule and host, never the path or query (SEC-54); an anonymous
// caller's 401 and an allowed request are not; a non-admin refused by an
// admin API route is audited too.
func TestSEC53_AccessDeniedAudited(t *testing.T) {
	e := newForwardEnv(t, nil)
	c := e.client()
	c.signup("alice", "correct horse battery")
	c.login("alice", "correct horse battery", false)
	cookie := []string{"Cookie", "__Host-sesame=" + c.sessionCookie()}
	secret := "s3cr3t-reset-token"
	if r := e.forward(proxyPeer, join(cookie, apiHeaders, nginxHeaders("GET", "https://wiki.example.com/closed/"+secret+"?code="+secret))...); r.Code != 403 {
		t.Fatalf("deny rule: got %d", r.Code)
	}
	if r := e.forward(proxyPeer, join(cookie, apiHeaders, nginxHeaders("GET", "https://other.test/x"))...); r.Code != 403 {
		t.Fatalf("no rule: got %d", r.Code)
	}
	if r := e.forward(proxyPeer, join(apiHeaders, nginxHeaders("GET", "https://wiki.example.com/page"))...); r.Code != 401 {
		t.Fatalf("anonymous: got %d", r.Code)
	}
	if r := e.forward(proxyPeer, join(cookie, apiHeaders, nginxHeaders("GET", "https://wiki.example.com/page"))...); r.Code != 200 {
		t.Fatalf("allowed: got %d", r.Code)
	}
	evs := e.events(sesame.EventAccessDenied)
	if len(evs) != 2 {
		t.Fatalf("got %d access.denied events, want 2 (the two refusals of a signed-in caller): %v", len(evs), evs)
	}
	if evs[0]["reason"] != "access_rules[3] on wiki.example.com" || evs[1]["reason"] != "no rule matches (default deny) on other.test" {
		t.Errorf("reasons: %v / %v", evs[0]["reason"], evs[1]["reason"])
	}
	if strings.Contains(e.logs.String(), secret) {
		t.Error("the refused URL's path or query reached the log (SEC-54)")
	}
	c.want(c.do("GET", "/api/v1/admin/users", nil), 403)
	if evs := e.events(sesame.EventAccessDenied); len(evs) != 3 || evs[2]["reason"] != "admin required" {
		t.Errorf("admin route refusal: got %v", evs)
	}
}
