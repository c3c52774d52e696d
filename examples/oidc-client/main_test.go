package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/oidctest"
)

const pw = "correct horse battery staple"

type fixture struct {
	s     *oidctest.Sesame
	app   *App
	url   string
	agent *oidctest.Agent
}

// start runs Sesame and the example app, registered as a first-party
// client with its callback, post-logout and back-channel URIs, and an
// agent signed in to Sesame as alice.
func start(t *testing.T) *fixture {
	t.Helper()
	s := oidctest.Start(t)
	s.User("alice", pw)
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	id, secret := s.AddClient(oauth.Client{Name: "Notes", RedirectURIs: []string{base + "/callback"},
		PostLogoutRedirectURIs: []string{base + "/"}, BackchannelLogoutURI: base + "/backchannel", FirstParty: true})
	app, err := New(context.Background(), Config{Issuer: s.URL, ClientID: id, ClientSecret: secret, URL: base})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = app.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	ag := s.NewAgent()
	ag.Login("alice", pw)
	return &fixture{s: s, app: app, url: base, agent: ag}
}

func (f *fixture) signIn(t *testing.T) {
	t.Helper()
	p := f.agent.Get(f.url + "/login")
	if p.Status != 200 || p.URL.Path != "/" || !strings.Contains(p.Body, `<b id="user">alice</b>`) {
		t.Fatalf("sign-in ended %s", p)
	}
}

func (f *fixture) sessions() int {
	f.app.mu.Lock()
	defer f.app.mu.Unlock()
	return len(f.app.sessions)
}

func TestSignInAndRPInitiatedLogout(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.signIn(t)

	// Sign out in the app: local session gone, Sesame's too, back at the app.
	req, _ := http.NewRequest("POST", f.url+"/logout", nil)
	res, err := f.agent.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || loc == nil {
		t.Fatalf("POST /logout: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	p := f.agent.Get(loc.String())
	if p.Status == 200 && p.URL.Path == oauth.PathEndSession { // a confirmation page: the user confirms
		if _, p, err = f.agent.SubmitForm(p, oauth.PathEndSession, nil, ""); err != nil {
			t.Fatalf("end session page: %v", err)
		}
	}
	if back, err := url.Parse(p.Visited[len(p.Visited)-1]); err != nil || back.Host != strings.TrimPrefix(f.url, "http://") {
		t.Fatalf("end session did not come back to the app: %s", p)
	}
	if !strings.Contains(p.Body, `id="anonymous"`) {
		t.Errorf("after logout the app still shows a user: %s", p)
	}
	// The Sesame session ended: signing in again asks for the password.
	p = f.agent.Get(f.url + "/login")
	if !p.VisitedPath("/login") || p.URL.Host == strings.TrimPrefix(f.url, "http://") {
		t.Errorf("after RP-initiated logout, sign-in did not stop at Sesame's login page: %s", p)
	}
}

// TestBackchannelLogoutEndsAppSession: a sign-out at Sesame (not in the
// app) reaches the app's back-channel endpoint, which ends its session.
func TestBackchannelLogoutEndsAppSession(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.signIn(t)
	if n := f.sessions(); n != 1 {
		t.Fatalf("%d app sessions, want 1", n)
	}
	f.agent.Logout()
	deadline := time.Now().Add(30 * time.Second)
	for f.sessions() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := f.sessions(); n != 0 {
		t.Fatalf("%d app sessions 30 s after the Sesame session ended, want 0", n)
	}
	if p := f.agent.Get(f.url + "/"); !strings.Contains(p.Body, `id="anonymous"`) {
		t.Errorf("the app still shows a user: %s", p)
	}
}

// TestCallbackRefusesForeignState: a callback whose state is not the one
// this browser's sign-in sent (a forged or swapped response, CSRF on the
// redirect URI) is refused before any code exchange.
func TestCallbackRefusesForeignState(t *testing.T) {
	t.Parallel()
	f := start(t)
	// Start a sign-in, but stop at the callback.
	q, p := f.agent.Authorize(f.url+"/login", f.url+"/callback")
	if q == nil {
		t.Fatalf("no callback: %s", p)
	}
	q.Set("state", "attacker-state")
	if p := f.agent.Get(f.url + "/callback?" + q.Encode()); p.Status != http.StatusBadRequest {
		t.Errorf("callback with another state: %s, want 400", p)
	}
	// Without the sign-in cookie (another browser): refused too.
	res, err := http.Get(f.url + "/callback?code=x&state=y&iss=" + url.QueryEscape(f.s.URL))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("callback without the sign-in cookie: %d, want 400", res.StatusCode)
	}
	if f.sessions() != 0 {
		t.Error("a refused callback made a session")
	}
}

// TestBrowser signs in and out in real Chromium: the app's sign-in link →
// Sesame's login page → back to the app, signed in (a first-party client:
// no consent page); the app's sign-out → Sesame's confirmation page →
// back to the app, signed out everywhere.
func TestBrowser(t *testing.T) {
	t.Parallel()
	b := oidctest.StartBrowser(t)
	f := start(t)
	b.Navigate(f.url + "/")
	b.ClickTo("#login", f.s.URL+"/login")
	b.Login("alice", pw, f.url+"/")
	if got := b.Text("#user"); got != "alice" {
		t.Fatalf("the app after sign-in shows user %q, want alice: %.300s", got, b.Eval(`document.body.innerText`))
	}
	if loc := b.ClickTo("#logout", f.s.URL+oauth.PathEndSession, f.url+"/"); strings.HasPrefix(loc, f.s.URL) {
		b.ClickTo("#logout-confirm", f.url+"/")
	}
	if b.Text("#anonymous") == "" || f.sessions() != 0 {
		t.Errorf("after sign-out the app shows %.300s with %d sessions", b.Eval(`document.body.innerText`), f.sessions())
	}
	b.ClickTo("#login", f.s.URL+"/login") // Sesame's session ended too: its login page again
}
