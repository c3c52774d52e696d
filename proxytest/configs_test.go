package proxytest

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var testVars = Vars{Listen: "127.0.0.1:8081", Sesame: "127.0.0.1:8080", Upstream: "http://127.0.0.1:3000"}

func render(t *testing.T, name string, v Vars) string {
	t.Helper()
	s, err := Render(name, v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Every documented file renders with the documented placeholders and no
// other; an unfilled one is an error, never a silent "{{...}}" in a
// running proxy.
func TestDocumentedConfigsRender(t *testing.T) {
	for _, name := range []string{"nginx.conf", "Caddyfile", "traefik.yml"} {
		s := render(t, name, testVars)
		for _, want := range []string{testVars.Sesame, testVars.Upstream} {
			if !strings.Contains(s, want) {
				t.Errorf("%s: %s not filled in", name, want)
			}
		}
		if _, err := Render(name, Vars{Listen: "x", Sesame: "y"}); err == nil || !strings.Contains(err.Error(), "{{UPSTREAM}}") {
			t.Errorf("%s with {{UPSTREAM}} empty: got %v, want an error naming it", name, err)
		}
	}
}

// SEC-57, statically for all three files, Traefik's included (which no
// test can run): each strips every identity header a client sends before
// the app (nginx by replacing each one; Caddy and Traefik by deleting
// them, in the underscore spelling too), and keeps the other proxy
// family's original-request headers away from Sesame.
func TestSEC57_DocumentedConfigsStripIdentityHeaders(t *testing.T) {
	nginx := render(t, "nginx.conf", testVars)
	for _, h := range IdentityHeaders {
		if !regexp.MustCompile(`(?m)^\s*proxy_set_header\s+` + regexp.QuoteMeta(h) + `\s+\$sesame_\w+;`).MatchString(nginx) {
			t.Errorf("nginx.conf: no proxy_set_header %s $sesame_...: a client's %s would reach the app", h, h)
		}
	}
	for _, h := range []string{"X-Forwarded-Method", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Uri"} {
		if !strings.Contains(nginx, "proxy_set_header "+h+` "";`) {
			t.Errorf("nginx.conf: the auth subrequest does not clear a client's %s", h)
		}
	}
	if strings.Contains(nginx, "underscores_in_headers on") || strings.Contains(nginx, "ignore_invalid_headers off") {
		t.Error("nginx.conf lets header names with underscores through (Remote_User)")
	}

	caddy := render(t, "Caddyfile", testVars)
	strip := strings.Index(caddy, "\tforward_auth "+testVars.Sesame)
	if !strings.Contains(caddy, "route {") || strip < 0 {
		t.Fatal("Caddyfile: forward_auth is not inside a route block (Caddy's own order would strip after copying)")
	}
	for _, h := range IdentityHeaders {
		for _, name := range []string{h, strings.ReplaceAll(h, "-", "_")} {
			if i := strings.Index(caddy, "request_header -"+name+"\n"); i < 0 || i > strip {
				t.Errorf("Caddyfile: no request_header -%s before forward_auth", name)
			}
		}
	}
	for _, h := range []string{"X-Original-URL", "X-Original-Method"} {
		if !strings.Contains(caddy, "header_up -"+h+"\n") {
			t.Errorf("Caddyfile: forward_auth passes a client's %s to Sesame", h)
		}
	}

	var tr struct {
		HTTP struct {
			Routers map[string]struct {
				Middlewares []string `yaml:"middlewares"`
			} `yaml:"routers"`
			Middlewares map[string]struct {
				Headers *struct {
					CustomRequestHeaders map[string]string `yaml:"customRequestHeaders"`
				} `yaml:"headers"`
				ForwardAuth *struct {
					Address             string   `yaml:"address"`
					TrustForwardHeader  bool     `yaml:"trustForwardHeader"`
					AuthResponseHeaders []string `yaml:"authResponseHeaders"`
				} `yaml:"forwardAuth"`
			} `yaml:"middlewares"`
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal([]byte(render(t, "traefik.yml", testVars)), &tr); err != nil {
		t.Fatalf("traefik.yml: %v", err)
	}
	router, ok := tr.HTTP.Routers["wiki"]
	if !ok || !slices.Equal(router.Middlewares, []string{"sesame-strip", "sesame-auth"}) {
		t.Fatalf("traefik.yml: router wiki has middlewares %v, want [sesame-strip sesame-auth]", router.Middlewares)
	}
	stripMW, auth := tr.HTTP.Middlewares["sesame-strip"], tr.HTTP.Middlewares["sesame-auth"]
	if stripMW.Headers == nil || auth.ForwardAuth == nil {
		t.Fatal("traefik.yml: sesame-strip must be a headers middleware and sesame-auth a forwardAuth one")
	}
	mustStrip := []string{"X-Original-URL", "X-Original-Method"}
	for _, h := range IdentityHeaders {
		mustStrip = append(mustStrip, h, strings.ReplaceAll(h, "-", "_"))
	}
	for _, name := range mustStrip {
		if v, ok := stripMW.Headers.CustomRequestHeaders[name]; !ok || v != "" {
			t.Errorf("traefik.yml: sesame-strip does not remove %s", name)
		}
	}
	if auth.ForwardAuth.TrustForwardHeader {
		t.Error("traefik.yml: trustForwardHeader true would pass a client's X-Forwarded-* to Sesame")
	}
	if want := "http://" + testVars.Sesame + "/api/v1/authz/forward"; auth.ForwardAuth.Address != want {
		t.Errorf("traefik.yml: address %q, want %q", auth.ForwardAuth.Address, want)
	}
	// Traefik copies the same identity headers as the Caddyfile (and the
	// optional ones, which Traefik leaves out when Sesame does).
	copied := regexp.MustCompile(`(?m)^\s*copy_headers\s+(.+)$`).FindStringSubmatch(caddy)
	if copied == nil {
		t.Fatal("Caddyfile: no copy_headers")
	}
	for _, h := range strings.Fields(copied[1]) {
		if !slices.Contains(auth.ForwardAuth.AuthResponseHeaders, h) {
			t.Errorf("traefik.yml: authResponseHeaders lacks %s, which the Caddyfile copies", h)
		}
	}
	if !slices.Equal(auth.ForwardAuth.AuthResponseHeaders, IdentityHeaders) {
		t.Errorf("traefik.yml: authResponseHeaders %v, want %v", auth.ForwardAuth.AuthResponseHeaders, IdentityHeaders)
	}
}
