package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// A non-admin opening /admin gets the 403 page once: a heading and one
// capitalised sentence, in the layout, not "forbidden" twice.
func TestErrorPage403Once(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", pw)
	c.login("alice", pw, false)
	r := c.want(c.do("GET", "/admin", nil, "Accept", "text/html"), 403)
	body := string(r.body)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type %q, want the HTML page", ct)
	}
	for _, want := range []string{"<title>Access denied · Sesame</title>", `<h1 id="error-heading">Access denied</h1>`,
		"You do not have permission to open this page.", `<header class="site">`, `id="main"`} {
		if !strings.Contains(body, want) {
			t.Errorf("403 page lacks %q:\n%s", want, body)
		}
	}
	if n := strings.Count(strings.ToLower(body), "forbidden"); n != 0 {
		t.Errorf("403 page says forbidden %d times", n)
	}
	if strings.Count(body, "Access denied") != 2 { // the title and the heading
		t.Errorf("403 page: want the heading once in the title and once in the page")
	}
	// The API keeps its JSON.
	if r := c.do("GET", "/api/v1/admin/users", nil, "Accept", "text/html"); r.StatusCode != 403 || r.errCode(t) != "forbidden" {
		t.Errorf("API: got %d %s", r.StatusCode, r.body)
	}
}

// An unknown page is the 404 page in the layout; an unknown API path stays
// JSON; the favicon is served (no 404 in the browser's console).
func TestErrorPage404AndFavicon(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := c.want(c.do("GET", "/no/such/page", nil, "Accept", "text/html"), 404)
	if !strings.Contains(string(r.body), `<h1 id="error-heading">Page not found</h1>`) || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("404 page: %s", r.body)
	}
	if r.Header.Get("Content-Security-Policy") == "" {
		t.Error("404 page without the CSP")
	}
	r = c.do("POST", "/account", nil)
	if r.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(r.Header.Get("Allow"), "GET") {
		t.Errorf("POST /account: got %d Allow %q, want 405 with Allow: GET", r.StatusCode, r.Header.Get("Allow"))
	}
	if r := c.do("GET", "/api/v1/nope", nil, "Accept", "text/html"); r.StatusCode != 404 || r.errCode(t) != "not_found" {
		t.Errorf("API 404: got %d %s", r.StatusCode, r.body)
	}
	for _, p := range []string{"/static/favicon.svg", "/favicon.ico"} {
		r := c.want(c.do("GET", p, nil), 200)
		if r.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(string(r.body), "<svg") {
			t.Errorf("%s: %q %q", p, r.Header.Get("Content-Type"), r.body)
		}
	}
}
