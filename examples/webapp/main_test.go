package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/session"
)

// browser is a client with a cookie jar that sends the Origin a browser
// sends for same-origin form posts.
type browser struct {
	t      *testing.T
	c      *http.Client
	base   string
	origin string
}

func (b *browser) get(path string) (int, string) {
	res, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

var tokenRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// post submits a form with the CSRF token of the current page (withToken).
func (b *browser) post(path string, form url.Values, withToken bool) (int, string) {
	if withToken {
		_, page := b.get("/")
		m := tokenRE.FindStringSubmatch(page)
		if m == nil {
			b.t.Fatalf("no CSRF token on the page: %s", page)
		}
		form.Set("csrf_token", m[1])
	}
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.origin)
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func TestWebApp(t *testing.T) {
	ctx := context.Background()
	app, closeDB, err := New(ctx, filepath.Join(t.TempDir(), "notes.db"), []byte(strings.Repeat("k", 32)),
		session.Config{}, &password.Hasher{Params: password.Params{Memory: 64, Time: 1, Threads: 1}, AllowWeakParams: true})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB()
	srv := httptest.NewTLSServer(app.Handler())
	defer srv.Close()
	newBrowser := func() *browser {
		c := srv.Client()
		c.Jar, _ = cookiejar.New(nil)
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return &browser{t: t, c: c, base: srv.URL, origin: srv.URL}
	}
	alice := newBrowser()

	creds := url.Values{"username": {"alice"}, "password": {"correct horse battery"}, "action": {"signup"}}
	if code, body := alice.post("/login", creds, false); code != http.StatusForbidden {
		t.Fatalf("sign-up without a CSRF token: %d %s, want 403", code, body)
	}
	if code, body := alice.post("/login", creds, true); code != http.StatusSeeOther {
		t.Fatalf("sign-up: %d %s, want 303", code, body)
	}
	if code, _ := alice.post("/notes", url.Values{"note": {"buy milk"}}, true); code != http.StatusSeeOther {
		t.Fatalf("add a note: %d, want 303", code)
	}
	if _, page := alice.get("/"); !strings.Contains(page, "Signed in as alice") || !strings.Contains(page, "<li>buy milk</li>") {
		t.Fatalf("the page after adding a note: %s", page)
	}

	// Forged requests change nothing: no token, or a cross-site origin.
	if code, _ := alice.post("/notes", url.Values{"note": {"forged"}}, false); code != http.StatusForbidden {
		t.Errorf("a note without a CSRF token: %d, want 403", code)
	}
	alice.origin = "https://evil.example"
	if code, _ := alice.post("/notes", url.Values{"note": {"cross-site"}}, true); code != http.StatusForbidden {
		t.Errorf("a cross-site note: %d, want 403", code)
	}
	alice.origin = srv.URL
	if _, page := alice.get("/"); strings.Contains(page, "forged") || strings.Contains(page, "cross-site") {
		t.Errorf("a forged note was stored: %s", page)
	}

	// A wrong password is refused with a safe message; a signed-out
	// visitor cannot add notes.
	mallory := newBrowser()
	wrong := url.Values{"username": {"alice"}, "password": {"wrong password!"}, "action": {"login"}}
	if code, page := mallory.post("/login", wrong, true); code != http.StatusUnauthorized || !strings.Contains(page, "role=\"alert\"") {
		t.Errorf("a wrong password: %d %s, want 401 with a message", code, page)
	}
	if code, _ := mallory.post("/notes", url.Values{"note": {"x"}}, true); code != http.StatusUnauthorized {
		t.Errorf("a note without signing in: %d, want 401", code)
	}

	// Signing in again (another device) sees the same user; signing out
	// kills the cookie for good.
	bob := newBrowser()
	login := url.Values{"username": {"alice"}, "password": {"correct horse battery"}, "action": {"login"}}
	if code, _ := bob.post("/login", login, true); code != http.StatusSeeOther {
		t.Fatalf("login: %d, want 303", code)
	}
	u, _ := url.Parse(srv.URL)
	stolen := bob.c.Jar.Cookies(u)
	if code, _ := bob.post("/logout", url.Values{}, true); code != http.StatusSeeOther {
		t.Fatalf("logout: %d, want 303", code)
	}
	replay := newBrowser()
	replay.c.Jar.SetCookies(u, stolen)
	if _, page := replay.get("/"); strings.Contains(page, "Signed in") {
		t.Errorf("the cookie of a signed-out session still works: %s", page)
	}
}
