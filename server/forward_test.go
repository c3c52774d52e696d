package server_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/authz"
	"github.com/sesame-auth/sesame/config"
)

// forwardRules are the rules of the forward-auth tests.
var forwardRules = []authz.Rule{
	{Domain: "wiki.example.com", Path: "/static", Policy: "bypass"},
	{Domain: "wiki.example.com", Path: "/admin", Policy: "admin"},
	{Domain: "wiki.example.com", Path: "/ops", Policy: "group:ops"},
	{Domain: "wiki.example.com", Path: "/closed", Policy: "deny"},
	{Domain: "wiki.example.com", Path: "/write", Methods: []string{"POST"}, Policy: "admin"},
	{Domain: "*.example.com", Networks: []string{"10.0.0.0/8"}, Policy: "bypass"},
	{Domain: "*.example.com", Policy: "authenticated"},
	{Domain: "wiki.example.com", Policy: "bypass"}, // unreachable: the rule above matches first
}

// newForwardEnv is a server with forwardRules, optionally changed by
// edit; the test client (127.0.0.1) is a trusted proxy.
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

func TestForwardSmoke(t *testing.T) {
	e := newForwardEnv(t, nil)
	alice := e.client()
	alice.signup("alice", "correct horse battery")
	alice.login("alice", "correct horse battery", false)
	anon := e.client()

	// Signed in, through nginx's and Caddy's headers.
	r := alice.want(alice.do("GET", "/api/v1/authz/forward", nil, nginxHeaders("GET", "https://wiki.example.com/page?x=1")...), 200)
	if got := r.Header.Get("Remote-User"); got != "alice" {
		t.Errorf("Remote-User: got %q, want alice", got)
	}
	alice.want(alice.do("GET", "/api/v1/authz/forward", nil, caddyHeaders("GET", "https", "wiki.example.com", "/page")...), 200)

	// Anonymous navigation: nginx gets 401 with the login URL in Location,
	// Caddy a 302 to it; an API call gets 401 without Location.
	r = anon.want(anon.do("GET", "/api/v1/authz/forward", nil, join(navHeaders, nginxHeaders("GET", "https://wiki.example.com/page?x=1"))...), 401)
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil || loc.Path != "/login" || loc.Query().Get("next") != "https://wiki.example.com/page?x=1" {
		t.Errorf("nginx navigation: Location %q, want the login page with next=the original URL", r.Header.Get("Location"))
	}
	r = anon.want(anon.do("GET", "/api/v1/authz/forward", nil, join(navHeaders, caddyHeaders("GET", "https", "wiki.example.com", "/page"))...), 302)
	if loc := r.Header.Get("Location"); !strings.Contains(loc, "/login?next=https%3A%2F%2Fwiki.example.com%2Fpage") {
		t.Errorf("caddy navigation: Location %q", loc)
	}
	r = anon.want(anon.do("GET", "/api/v1/authz/forward", nil, join(apiHeaders, caddyHeaders("GET", "https", "wiki.example.com", "/page"))...), 401)
	if r.Header.Get("Location") != "" || r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("API 401: Location %q, WWW-Authenticate %q", r.Header.Get("Location"), r.Header.Get("WWW-Authenticate"))
	}
	_ = httptest.NewRecorder
	_ = http.StatusOK
}
