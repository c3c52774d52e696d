package server_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/config"
)

// presetEnv starts a server whose configuration is the named preset, read
// the way `sesame serve --preset P` reads it.
func presetEnv(t *testing.T, preset string) *env {
	t.Helper()
	vars := map[string]string{"SESAME_PRESET": preset, "SESAME_DB": filepath.Join(t.TempDir(), "sesame.db")}
	cfg, err := config.Load(config.Sources{LookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }})
	if err != nil {
		t.Fatalf("preset %s: %v", preset, err)
	}
	return newEnvConfig(t, cfg)
}

// The spa preset hands out tokens only in HttpOnly cookies: a login, a
// refresh or a session exchange that asks for them in the body is refused,
// so no script on the page can ever read a token (SEC-02).
func TestPresetSPAHandsOutTokensOnlyInCookies(t *testing.T) {
	e := presetEnv(t, "spa")
	c := e.client()
	c.signup("alice", pw)

	r := c.want(c.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw, "transport": "header"}), http.StatusBadRequest)
	if code := r.errCode(t); code != "invalid" || !strings.Contains(string(r.body), "header token transport is not enabled") {
		t.Errorf("header login under spa: code %q body %s", code, r.body)
	}
	if strings.Contains(string(r.body), "access_token") {
		t.Fatalf("SEC-02: a refused header login still carries a token: %s", r.body)
	}

	c.want(c.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw, "transport": "cookie"}), http.StatusOK)
	// The refresh cookie works; a refresh token in the body does not.
	c.want(c.do("POST", "/api/v1/token/refresh", map[string]any{}), http.StatusOK)
	c.want(c.do("POST", "/api/v1/token/refresh", map[string]any{"refresh_token": "x"}), http.StatusBadRequest)

	// A cookie session may not be exchanged for tokens in a body either.
	b := e.client()
	b.login("alice", pw, false)
	r = b.want(b.do("POST", "/api/v1/token/session", map[string]any{}), http.StatusBadRequest)
	if strings.Contains(string(r.body), "access_token") {
		t.Fatalf("SEC-02: the session exchange under spa returned a token: %s", r.body)
	}
}

// The api preset hands out tokens in the body only: no token cookies.
func TestPresetAPIHandsOutTokensOnlyInTheBody(t *testing.T) {
	e := presetEnv(t, "api")
	c := e.client()
	c.signup("alice", pw)
	r := c.want(c.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw, "transport": "cookie"}), http.StatusBadRequest)
	if len(r.Header.Values("Set-Cookie")) > 0 && strings.Contains(strings.Join(r.Header.Values("Set-Cookie"), ";"), "sesame-at") {
		t.Errorf("a refused cookie login set token cookies: %v", r.Header.Values("Set-Cookie"))
	}
	var p struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	c.want(c.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw, "transport": "header"}), http.StatusOK).json(t, &p)
	if p.AccessToken == "" || p.RefreshToken == "" {
		t.Fatalf("header login under api: got %+v", p)
	}
	c.want(c.do("POST", "/api/v1/token/refresh", map[string]any{"refresh_token": p.RefreshToken}), http.StatusOK)
	// A refresh from a cookie (none exists, but a planted one) is refused
	// as a transport, before the token is looked at.
	c.want(c.do("POST", "/api/v1/token/refresh", map[string]any{}, "Cookie", "__Secure-sesame-rt=planted"), http.StatusBadRequest)
}

// The default offers both transports (the quick start does not change).
func TestDefaultOffersBothTransports(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", pw)
	c.want(c.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw, "transport": "header"}), http.StatusOK)
	c.want(c.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw, "transport": "cookie"}), http.StatusOK)
	if body := c.want(c.do("GET", "/login", nil), http.StatusOK).body; !strings.Contains(string(body), `name="remember"`) {
		t.Error("the default login page lost its remember-me checkbox")
	}
}

// The strict preset withdraws "remember me": no checkbox on the page, and
// a login that asks for it (form or API) still gets a cookie that ends
// with the browser session (SEC-05).
func TestPresetStrictHasNoRememberMe(t *testing.T) {
	e := presetEnv(t, "strict")
	c := e.client()
	c.signup("alice", pw)
	if body := c.want(c.do("GET", "/login", nil), http.StatusOK).body; strings.Contains(string(body), `name="remember"`) {
		t.Error("strict: the login page offers remember me")
	}
	for _, via := range []string{"api", "form"} {
		var r *resp
		if via == "api" {
			r = c.want(c.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw, "remember": true}), http.StatusOK)
		} else {
			r = c.want(c.do("POST", "/login", url.Values{"username": {"alice"}, "password": {pw}, "remember": {"1"}}), http.StatusSeeOther)
		}
		found := false
		for _, h := range r.Header.Values("Set-Cookie") {
			if strings.HasPrefix(h, "__Host-sesame=") {
				found = true
				if strings.Contains(h, "Max-Age=") || strings.Contains(h, "Expires=") {
					t.Errorf("strict, %s login with remember: persistent session cookie %s", via, h)
				}
			}
		}
		if !found {
			t.Errorf("strict, %s login: no session cookie set", via)
		}
	}
}
