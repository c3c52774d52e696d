package server_test

import (
	"cmp"
	"io"
	"net/http"
	"strings"
	"testing"
)

// SEC-40: a JSON endpoint refuses every other content type with 415, and
// that check runs before the CSRF check: a form or text/plain body (what a
// cross-site page can send without a preflight) reaches no JSON endpoint,
// and a same-site curl user who forgot the header sees the real problem.
// JSON from another site is still refused by the CSRF check (403).
func TestSEC40_JSONEndpointsRefuseOtherContentTypes(t *testing.T) {
	e := newEnv(t)
	alice := e.client()
	alice.signup("alice", pw)
	alice.login("alice", pw, false)
	evil := "https://evil.example"

	cases := []struct {
		name, method, path, ct, body, origin string
		want                                 int
	}{
		{"form login, same site", "POST", "/api/v1/login", "application/x-www-form-urlencoded", "username=alice&password=x", "", 415},
		{"form login, cross site", "POST", "/api/v1/login", "application/x-www-form-urlencoded", "username=alice&password=x", evil, 415},
		{"text/plain JSON login, cross site", "POST", "/api/v1/login", "text/plain", `{"username":"alice","password":"x"}`, evil, 415},
		{"multipart signup", "POST", "/api/v1/signup", "multipart/form-data; boundary=x", "--x--", evil, 415},
		{"text/plain password change", "POST", "/api/v1/password", "text/plain", `{"current_password":"x","new_password":"y"}`, "", 415},
		{"body without Content-Type", "POST", "/api/v1/password", "", `{"current_password":"x"}`, "", 415},
		{"body-less logout, text/plain", "POST", "/api/v1/logout", "text/plain", "", evil, 415},
		{"body-less DELETE, form", "DELETE", "/api/v1/sessions/x", "application/x-www-form-urlencoded", "", "", 415},
		{"two Content-Types", "POST", "/api/v1/login", "application/json", `{}`, "", 415},
		{"JSON, cross site", "POST", "/api/v1/logout", "application/json", `{}`, evil, 403},
		{"JSON with charset, same site, no CSRF token", "POST", "/api/v1/logout", "application/json; charset=utf-8", `{}`, "", 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			if tc.name == "two Content-Types" {
				req.Header.Add("Content-Type", "text/plain")
			}
			req.Header.Set("Origin", cmp.Or(tc.origin, e.srv.URL))
			res, err := alice.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			r := &resp{Response: res, body: b}
			if r.StatusCode != tc.want {
				t.Fatalf("%s %s (%s): got %d %s, want %d", tc.method, tc.path, tc.ct, r.StatusCode, r.body, tc.want)
			}
			if tc.want == 415 && r.errCode(t) != "unsupported_media" {
				t.Errorf("code %q, want unsupported_media", r.errCode(t))
			}
		})
	}
	// The session survived every refused request.
	if got := alice.me(); got != http.StatusOK {
		t.Fatalf("after the refused requests: /me %d, want 200", got)
	}
}
