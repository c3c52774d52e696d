package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/jose"
)

// signedToken is an access token signed with key, issued a minute ago
// and expiring at exp.
func signedToken(t *testing.T, key *jose.Key, exp time.Time) string {
	t.Helper()
	return signedTokenAt(t, key, time.Now().Add(-time.Minute), exp)
}

func signedTokenAt(t *testing.T, key *jose.Key, iat, exp time.Time) string {
	t.Helper()
	tok, err := jose.SignJWT(key, struct {
		jose.Claims
		ClientID string `json:"client_id"`
	}{jose.Claims{
		Issuer: "https://auth.example", Subject: "user-1", Audience: jose.Audience{"https://auth.example"}, ID: "j-1",
		IssuedAt: jose.NewNumericDate(iat), ExpiresAt: jose.NewNumericDate(exp),
	}, "web"}, jose.SignOptions{Type: "at+jwt"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// sigOf returns a token's signature part: a secret for the world's check.
func sigOf(tok string) string { return tok[strings.LastIndexByte(tok, '.')+1:] }

func TestInspect(t *testing.T) {
	w := newWorld(t)
	key, _, pub := writeKey(t, jose.ES256, "cli-1")
	good := signedToken(t, key, time.Now().Add(14*time.Minute))
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin"}`)) + "."
	cookieValue := "Q2FuYXJ5Q29va2llVmFsdWUx"
	w.secret(sigOf(good), cookieValue)
	other, _, otherPub := writeKey(t, jose.ES256, "cli-2")
	_ = other

	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string // in stdout
		wantErr  string // in stderr
	}{
		{"token as argument", "", []string{good}, 0, "JWT: access token", ""},
		{"token on stdin", good + "\n", nil, 0, "expires in 1", ""},
		{"token on stdin with -", "Bearer " + good, []string{"-"}, 0, "JWT: access token", ""},
		{"alg none: exit 1", "", []string{none}, 1, "SEC-17", ""},
		{"good Set-Cookie", "", []string{"Set-Cookie: __Host-sesame=" + cookieValue + "; Path=/; Secure; HttpOnly; SameSite=Lax"}, 0, "0 errors", ""},
		{"cookie without Secure/HttpOnly: exit 1", "Set-Cookie: sid=" + cookieValue + "; Path=/\n", nil, 1, "cookie.secure", ""},
		{"Cookie header", "", []string{"Cookie: __Host-sesame=" + cookieValue}, 0, "Cookie header", ""},
		{"JWKS", "", []string{"--kind", "jwks", readFile(t, pub)}, 0, "JWKS: 1 key", ""},
		{"verified with --jwks FILE", "", []string{"--jwks", pub, good}, 0, `Verified: by the key with kid "cli-1"`, ""},
		{"not verified by other keys", "", []string{"--jwks", otherPub, good}, 1, "Not verified", ""},
		{"unreadable: exit 2", "", []string{"hello"}, 2, "", "sesame: inspect: not a JWT"},
		{"empty stdin: exit 2", "", nil, 2, "", "empty input"},
		{"JWE: exit 2", "", []string{"eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"}, 2, "", "JWE"},
		{"--jwks missing file: exit 2", "", []string{"--jwks", filepath.Join(t.TempDir(), "nope.json"), good}, 2, "", "--jwks"},
		{"unknown --kind: exit 2", "", []string{"--kind", "xml", good}, 2, "", "--kind must be one of"},
		{"two inputs: exit 2", "", []string{good, good}, 2, "", "at most one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.run(tt.stdin, append([]string{"inspect"}, tt.args...)...)
			if r.code != tt.wantCode {
				t.Fatalf("got exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.wantOut) {
				t.Errorf("got stdout %q, want it to hold %q", r.stdout, tt.wantOut)
			}
			if !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("got stderr %q, want it to hold %q", r.stderr, tt.wantErr)
			}
			if tt.wantCode == 2 && (strings.Count(r.stderr, "\n") != 1 || strings.Contains(r.stderr, "goroutine")) {
				t.Errorf("got stderr %q, want one line", r.stderr)
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInspectJSON(t *testing.T) {
	w := newWorld(t)
	key, _, pub := writeKey(t, jose.ES256, "cli-1")
	good := signedToken(t, key, time.Now().Add(50*time.Minute))
	w.secret(sigOf(good))
	r := w.run("", "inspect", "--json", "--jwks", pub, good)
	if r.code != 0 {
		t.Fatalf("got exit %d (%s), want 0", r.code, r.stderr)
	}
	var out struct {
		Kind string `json:"kind"`
		JWT  struct {
			TokenKind string          `json:"token_kind"`
			Claims    json.RawMessage `json:"claims"`
			Verify    struct {
				Verified bool   `json:"verified"`
				KeyID    string `json:"kid"`
			} `json:"verification"`
		} `json:"jwt"`
		Findings []struct{ Severity, Rule, Code string } `json:"findings"`
		Summary  struct{ Errors, Warnings int }          `json:"summary"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if out.Kind != "jwt" || out.JWT.TokenKind != "access token" || !out.JWT.Verify.Verified || out.JWT.Verify.KeyID != "cli-1" {
		t.Errorf("got %+v, want a verified access token", out)
	}
	// A 51-minute access token: the lifetime warning (SEC-26), not an error.
	if out.Summary.Errors != 0 || out.Summary.Warnings != 1 || out.Findings[0].Code != "jwt.lifetime" || out.Findings[0].Rule != "SEC-26" {
		t.Errorf("got findings %+v, want the one lifetime warning", out.Findings)
	}

	r = w.run("", "inspect", "--json", "Set-Cookie: sid=x; Path=/")
	if r.code != 1 || !json.Valid([]byte(r.stdout)) || !strings.Contains(r.stdout, `"code": "cookie.secure"`) {
		t.Errorf("bad cookie: got exit %d, stdout %s; want exit 1 and JSON findings", r.code, r.stdout)
	}
}

// TestInspectClock: the command reads the time through inspectNow.
func TestInspectClock(t *testing.T) {
	w := newWorld(t)
	key, _, _ := writeKey(t, jose.ES256, "cli-1")
	exp := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	tok := signedTokenAt(t, key, exp.Add(-15*time.Minute), exp)
	w.secret(sigOf(tok))
	defer func(f func() time.Time) { inspectNow = f }(inspectNow)
	inspectNow = func() time.Time { return exp.Add(3 * time.Hour) }
	r := w.run("", "inspect", tok)
	if r.code != 0 || !strings.Contains(r.stdout, "2030-01-01 12:00:00 UTC, expired 3 h ago") {
		t.Errorf("got exit %d, stdout %s; want expired 3 h ago", r.code, r.stdout)
	}
}

// TestInspectJWKSURL verifies against a key set served over HTTP, as an
// issuer publishes it, and refuses a key set that does not arrive.
func TestInspectJWKSURL(t *testing.T) {
	w := newWorld(t)
	key, _, pub := writeKey(t, jose.ES256, "cli-1")
	tok := signedToken(t, key, time.Now().Add(10*time.Minute))
	w.secret(sigOf(tok))
	jwks := readFile(t, pub)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/jwks.json":
			rw.Header().Set("Content-Type", "application/json")
			fmt.Fprint(rw, jwks)
		case "/huge":
			fmt.Fprint(rw, strings.Repeat(" ", 2<<20))
		default:
			http.NotFound(rw, r)
		}
	}))
	defer srv.Close()

	r := w.run("", "inspect", "--jwks", srv.URL+"/.well-known/jwks.json", tok)
	if r.code != 0 || !strings.Contains(r.stdout, `Verified: by the key with kid "cli-1"`) {
		t.Errorf("got exit %d, stdout %s, stderr %s; want verified", r.code, r.stdout, r.stderr)
	}
	for _, path := range []string{"/missing", "/huge"} {
		r = w.run("", "inspect", "--jwks", srv.URL+path, tok)
		if r.code != 2 || !strings.Contains(r.stderr, "--jwks") {
			t.Errorf("%s: got exit %d, stderr %q; want exit 2", path, r.code, r.stderr)
		}
	}
}

// TestInspectLiveServer inspects what a running Sesame hands out with its
// default configuration: its session Set-Cookie and a header-transport
// access token, verified against its published JWKS. Sesame's own
// credentials must pass Sesame's own lint.
func TestInspectLiveServer(t *testing.T) {
	w := newWorld(t)
	w.addUser("alice", canaryPassword, false)
	srv := w.serve()
	c := w.client(srv.url)

	resp, _ := c.do(http.MethodPost, "/api/v1/login", "", map[string]any{"username": "alice", "password": canaryPassword})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: got status %d", resp.StatusCode)
	}
	setCookie := resp.Header.Get("Set-Cookie")
	for _, ck := range resp.Cookies() {
		w.secret(ck.Value)
	}
	r := w.run("Set-Cookie: "+setCookie, "inspect")
	if r.code != 0 || !strings.Contains(r.stdout, "Set-Cookie: __Host-sesame") || !strings.Contains(r.stdout, "Findings: 0 errors, 0 warnings") {
		t.Errorf("the server's session cookie: got exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	resp, body := c.do(http.MethodPost, "/api/v1/login", "", map[string]any{"username": "alice", "password": canaryPassword, "transport": "header"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("header-transport login: got status %d: %s", resp.StatusCode, body)
	}
	var pair struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &pair); err != nil || pair.AccessToken == "" {
		t.Fatalf("login body %s: %v", body, err)
	}
	w.secret(sigOf(pair.AccessToken), pair.RefreshToken)
	r = w.run("", "inspect", "--jwks", srv.url+"/.well-known/jwks.json", pair.AccessToken)
	if r.code != 0 || !strings.Contains(r.stdout, "JWT: access token") || !strings.Contains(r.stdout, "Verified: by the key with kid") ||
		!strings.Contains(r.stdout, "Findings: 0 errors, 0 warnings") {
		t.Errorf("the server's access token: got exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
