package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/jose"
)

// bclRP is a relying party's back-channel logout endpoint: it answers 503
// until healthy is set, and records every logout token it accepted.
type bclRP struct {
	srv      *httptest.Server
	healthy  atomic.Bool
	attempts atomic.Int64
	mu       sync.Mutex
	accepted []string
	got      chan string
}

func newBCLRP(t *testing.T) *bclRP {
	rp := &bclRP{got: make(chan string, 16)}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("logout_token") == "" {
			http.Error(w, "want a form POST with logout_token", http.StatusBadRequest)
			return
		}
		rp.attempts.Add(1)
		if !rp.healthy.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		tok := r.PostForm.Get("logout_token")
		rp.mu.Lock()
		rp.accepted = append(rp.accepted, tok)
		rp.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		rp.got <- tok
	}))
	t.Cleanup(rp.srv.Close)
	return rp
}

// bclSignIn runs the authorization code flow (with PKCE S256) for the
// signed-in session cookie and returns the ID token's sid: the token
// endpoint records the client as a logout target of that session.
func bclSignIn(t *testing.T, w *world, base, cookie, clientID, secret, redirect string) string {
	t.Helper()
	c := w.client(base)
	verifier := bclRandom(t)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirect},
		"scope":                 {"openid"},
		"state":                 {bclRandom(t)},
		"nonce":                 {bclRandom(t)},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	resp, body := c.do(http.MethodGet, "/oauth2/authorize?"+q.Encode(), cookie, nil)
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /oauth2/authorize: got status %d, want a redirect to the client; body: %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirect) || loc.Query().Get("code") == "" {
		t.Fatalf("GET /oauth2/authorize: got Location %q, want %s?code=...", resp.Header.Get("Location"), redirect)
	}
	code := loc.Query().Get("code")
	w.secret(code)

	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
	req, err := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	tresp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("POST /oauth2/token: %v", err)
	}
	tbody, _ := io.ReadAll(tresp.Body)
	tresp.Body.Close()
	if tresp.StatusCode != http.StatusOK {
		t.Fatalf("POST /oauth2/token: got status %d, want 200; body: %s", tresp.StatusCode, tbody)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
	}
	if err := json.Unmarshal(tbody, &tok); err != nil || tok.IDToken == "" {
		t.Fatalf("POST /oauth2/token: got %s, want an id_token", tbody)
	}
	w.secret(tok.AccessToken, tok.RefreshToken, tok.IDToken)
	claims := bclPayload(t, tok.IDToken)
	sid, _ := claims["sid"].(string)
	if sid == "" {
		t.Fatalf("ID token has no sid: %v", claims)
	}
	return sid
}

func bclRandom(t *testing.T) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// bclPayload decodes a JWT's claims without verifying it.
func bclPayload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("a JWT has 3 parts, got %d", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBackchannelLogoutSurvivesRestart (issue 12, "Back-channel logout
// delivery: kill and restart Sesame with notices pending"): a session
// ends while the relying party answers 503; the server is killed with
// SIGKILL while the notice is pending; restarted with the relying party
// healthy, it delivers the notice, signed and verifying with the JWKS,
// exactly for the session that ended, and nothing for the session that
// lives.
func TestBackchannelLogoutSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the sesame binary; skipped with -short")
	}
	t.Parallel()
	w := newWorld(t)
	bin := buildBinary(t, t.TempDir())
	rp := newBCLRP(t)

	first := w.startChild(bin)
	const redirect = "http://127.0.0.1:9/callback" // never visited: the test reads the Location
	// Run directly, not through w.run: its output, which holds the
	// client secret by design, is not one the secrets check must pass.
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	code := Run(ctx, []string{"clients", "add", "--db", w.db, "--first-party", "--redirect-uri", redirect,
		"--backchannel-logout-uri", rp.srv.URL + "/backchannel", "--json", "rp-app"}, strings.NewReader(""), &stdout, &stderr)
	cancel()
	if code != 0 {
		t.Fatalf("clients add: got exit %d, want 0; stderr: %s", code, stderr.String())
	}
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &reg); err != nil || reg.ClientID == "" || reg.ClientSecret == "" {
		t.Fatalf("clients add --json: got %q, want client_id and client_secret", stdout.String())
	}
	w.secret(reg.ClientSecret) // never in the servers' output

	c := w.client(first.url)
	c.signup("alice", canaryPassword)
	ending := c.login("alice", canaryPassword)
	living := c.login("alice", canaryPassword)
	endingSID := bclSignIn(t, w, first.url, ending, reg.ClientID, reg.ClientSecret, redirect)
	livingSID := bclSignIn(t, w, first.url, living, reg.ClientID, reg.ClientSecret, redirect)
	if endingSID == livingSID {
		t.Fatalf("two logins share the sid %s", endingSID)
	}

	resp, body := c.do(http.MethodPost, "/api/v1/logout", ending, nil)
	c.expect(resp, body, http.StatusNoContent)
	deadline := time.Now().Add(30 * time.Second)
	for rp.attempts.Load() < 2 { // the first attempt, and a retry after its backoff
		if time.Now().After(deadline) {
			t.Fatalf("the relying party got %d delivery attempts within 30 s of the logout, want 2; server stderr:\n%s", rp.attempts.Load(), first.stderr)
		}
		time.Sleep(10 * time.Millisecond) // polling, not a timing assertion
	}
	// Killed between two attempts the notice is due again within seconds
	// after the restart; killed during one (this pause is only likely to
	// avoid it) the killed node's claim lapses first, 30 s later. Both
	// must deliver.
	time.Sleep(300 * time.Millisecond)
	first.kill(t)
	rp.healthy.Store(true)

	second := w.startChild(bin)
	var tok string
	select {
	case tok = <-rp.got:
	case <-time.After(90 * time.Second): // a claim of the killed node lapses after 30 s
		t.Fatalf("no logout notice after the restart within 90 s; server stderr:\n%s", second.stderr)
	}
	w.secret(tok)

	// The RP's validation (Back-Channel Logout §2.6) with the published keys.
	jresp, jbody := w.client(second.url).do(http.MethodGet, "/.well-known/jwks.json", "", nil)
	if jresp.StatusCode != http.StatusOK {
		t.Fatalf("GET /.well-known/jwks.json: status %d", jresp.StatusCode)
	}
	keys, err := jose.ParseJWKS(jbody)
	if err != nil {
		t.Fatalf("parse the JWKS: %v", err)
	}
	v := &jose.Verifier{Keys: keys, Audience: []string{reg.ClientID}, Type: "logout+jwt", Required: []string{"iss", "iat", "jti", "sid", "events"}}
	var claims map[string]any
	if err := v.Verify(tok, &claims); err != nil {
		t.Fatalf("the logout token does not verify with the JWKS: %v", err)
	}
	if claims["sid"] != endingSID {
		t.Errorf("logout token sid: got %v, want the ended session's %s", claims["sid"], endingSID)
	}
	if _, ok := claims["nonce"]; ok {
		t.Error("the logout token has a nonce")
	}
	if ev, _ := claims["events"].(map[string]any); ev == nil || ev["http://schemas.openid.net/event/backchannel-logout"] == nil {
		t.Errorf("events: got %v", claims["events"])
	}

	// Exactly that one: nothing more arrives, in particular nothing for
	// the living session.
	select {
	case extra := <-rp.got:
		w.secret(extra)
		t.Errorf("a second notice arrived, for sid %v (living session %s)", bclPayload(t, extra)["sid"], livingSID)
	case <-time.After(3 * time.Second):
	}
	if got := w.client(second.url).meStatus(living); got != http.StatusOK {
		t.Errorf("GET /api/v1/me with the living session after the restart: got %d, want 200", got)
	}
}
