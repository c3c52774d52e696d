package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/authz"
	"github.com/sesame-auth/sesame/config"
)

// FuzzForwardHeaders feeds the endpoint arbitrary descriptions of the
// original request (X-Original-URL and -Method, or X-Forwarded-Host,
// -Uri, -Proto and -Method) from the trusted proxy, anonymously, with one
// bypass rule. No input is a 500 (or a panic); and an allow is checked
// against net/url as an independent reader: the URL parses, has no
// user-info, names public.example.com and a path that cleans to /public
// (SEC-57).
func FuzzForwardHeaders(f *testing.F) {
	for _, s := range [][5]string{
		{"https://public.example.com/public/x?y", "GET", "", "", ""},
		{"https://public.example.com/public/../admin", "GET", "", "", ""},
		{"https://public.example.com/%2e%2e/public", "GET", "", "", ""},
		{"https://a@public.example.com/public", "GET", "", "", ""},
		{"https://public.example.com\\@evil/public", "GET", "", "", ""},
		{"HTTPS://PUBLIC.EXAMPLE.COM./public", "get", "", "", ""},
		{"https://public.example.com:443/public;x", "GET", "", "", ""},
		{"", "GET", "public.example.com", "/public/a", "https"},
		{"", "POST", "public.example.com:8080", "/public/%2F..", "http"},
		{"", "GET", "evil.example.org", "//public", "https"},
		{"https://public.example.com?/public", "GET", "", "", ""},
		{"http://[::1]:80/public", "GET", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	h := newForwardHandler(f, func(c *config.Config) {
		c.AccessRules = []authz.Rule{{Domain: "public.example.com", Path: "/public", Policy: "bypass"}}
	})
	f.Fuzz(func(t *testing.T, xou, method, fhost, furi, fproto string) {
		var hdr []string
		if xou != "" {
			hdr = []string{"X-Original-URL", xou, "X-Original-Method", method}
		} else {
			hdr = []string{"X-Forwarded-Host", fhost, "X-Forwarded-Uri", furi, "X-Forwarded-Proto", fproto, "X-Forwarded-Method", method}
		}
		r := serveForward(h, proxyPeer, hdr...)
		switch r.Code {
		case http.StatusOK, http.StatusFound, http.StatusSeeOther, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
		default:
			t.Fatalf("%q: got %d %s", hdr, r.Code, r.Body)
		}
		if r.Code != http.StatusOK {
			return
		}
		raw := xou
		if xou == "" {
			raw = "https://" + fhost + furi
		}
		u, err := url.Parse(raw)
		if err != nil || u.User != nil || !strings.EqualFold(strings.TrimSuffix(u.Hostname(), "."), "public.example.com") {
			t.Fatalf("%q: allowed, but net/url reads %q as %v (err %v)", hdr, raw, u, err)
		}
		clean, err := authz.CleanPath(u.EscapedPath())
		if err != nil || (clean != "/public" && !strings.HasPrefix(clean, "/public/")) {
			t.Fatalf("%q: allowed, but the path cleans to %q (err %v)", hdr, clean, err)
		}
	})
}

// newForwardHandler is a server built by the one wiring (package app) for
// fuzzing and benchmarks, without a listener: public URL
// https://sesame.test, 127.0.0.1 a trusted proxy, forwardRules unless
// edit changes them.
func newForwardHandler(tb testing.TB, edit func(*config.Config)) *app.App {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	cfg := config.Default()
	cfg.DB = filepath.Join(tb.TempDir(), "sesame.db")
	cfg.PublicURL = "https://sesame.test"
	cfg.TrustedProxies = []string{"127.0.0.1/32"}
	cfg.MasterKey = config.Secret(testMasterKey)
	cfg.AccessRules = forwardRules
	if edit != nil {
		edit(cfg)
	}
	a, err := app.New(ctx, cfg, app.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), app.WithPasswordParams(cheap))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	a.Start(ctx)
	return a
}

// serveForward asks a's forward-auth endpoint in-process from peer.
func serveForward(a *app.App, peer string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "https://sesame.test/api/v1/authz/forward", nil)
	req.RemoteAddr = peer + ":40000"
	for i := 0; i+1 < len(hdr); i += 2 {
		k := http.CanonicalHeaderKey(hdr[i])
		req.Header[k] = append(req.Header[k], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	return rec
}
