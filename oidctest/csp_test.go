package oidctest

import (
	"crypto/rand"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sesame-auth/sesame/oauth"
)

// TestChromiumFormRedirectsToClient signs in through Sesame's login form
// (a first-party client) and then answers its consent form (another
// client) in real Chromium, without bypassing any Content-Security-Policy:
// each form's answer redirects, through the authorization endpoint, to the
// client's redirect_uri on another origin, which the browser must reach.
// A page CSP of form-action 'self' alone blocks it (Chromium applies
// form-action to the redirects after a submission): the pages must allow
// the client's registered redirect origin.
func TestChromiumFormRedirectsToClient(t *testing.T) {
	t.Parallel()
	b := StartBrowser(t)
	s := Start(t)
	s.User("judy", pw)
	rp := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!doctype html><title>client</title><p id="reached">callback reached</p>`)
	}))
	rp.Config.ErrorLog = log.New(io.Discard, "", 0)
	rp.Start()
	t.Cleanup(rp.Close)
	cb := rp.URL + "/callback"
	first, _ := s.AddClient(oauth.Client{Name: "First", RedirectURIs: []string{cb}, FirstParty: true})
	other, _ := s.AddClient(oauth.Client{Name: "Other", RedirectURIs: []string{cb}})
	authURL := func(client string) string {
		q := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {cb}, "scope": {"openid"},
			"state": {rand.Text()}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
			"code_challenge_method": {"S256"}}
		return s.URL + oauth.PathAuthorize + "?" + q.Encode()
	}

	b.Navigate(authURL(first))
	if p := b.Location(); p != s.URL+"/login" {
		t.Fatalf("at %s, want Sesame's login page", p)
	}
	b.Login("judy", pw, cb)

	b.Navigate(authURL(other))
	b.Consent(true, cb)
	if b.Text("#reached") != "callback reached" {
		t.Errorf("not at the client's callback: %.300s", b.Eval(`document.body.innerText`))
	}
}
