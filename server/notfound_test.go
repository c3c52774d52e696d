package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Every answer under /api/ is {"error":{"code","message"}}, including an
// unknown endpoint (404) and a wrong method (405 with Allow).
func TestAPIErrorShapeFor404And405(t *testing.T) {
	e := newEnv(t)
	h := e.server
	u, _ := url.Parse(e.srv.URL)
	for _, c := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/api/v1/nope", 404, "not_found", ""},
		{"POST", "/api/v2/login", 404, "not_found", ""},
		{"GET", "/api/v1/login", 405, "method_not_allowed", "POST"},
		{"PUT", "/api/v1/me", 405, "method_not_allowed", "GET, HEAD"},
	} {
		r := httptest.NewRequest(c.method, c.path, strings.NewReader("{}"))
		r.Header.Set("Content-Type", "application/json")
		r.Host = u.Host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if w.Code != c.status || json.Unmarshal(w.Body.Bytes(), &body) != nil || body.Error.Code != c.code || body.Error.Message == "" {
			t.Errorf("%s %s: got %d %q, want %d with code %s", c.method, c.path, w.Code, w.Body.String(), c.status, c.code)
		}
		if got := w.Header().Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: Content-Type %q", c.method, c.path, ct)
		}
	}
	_ = http.MethodGet
}

// A CSRF refusal says which check failed, and no more: csrf_origin for a
// cross-site request, csrf_token for a missing token (SEC-36, SEC-37).
func TestCSRFRefusalCodes(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", pw)
	c.login("alice", pw, false)
	c.origin = "https://evil.example"
	if r := c.do("POST", "/api/v1/sessions/revoke-others", nil, "X-CSRF-Token", "x"); r.StatusCode != 403 || r.errCode(t) != "csrf_origin" {
		t.Errorf("cross-site: got %d %s, want 403 csrf_origin", r.StatusCode, r.body)
	}
	c.origin, c.noCSRF = e.srv.URL, true
	if r := c.do("POST", "/api/v1/sessions/revoke-others", nil); r.StatusCode != 403 || r.errCode(t) != "csrf_token" {
		t.Errorf("no token: got %d %s, want 403 csrf_token", r.StatusCode, r.body)
	}
}
