package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/server"
)

// publicServer serves e's components with a public URL and allowed hosts.
func publicServer(t *testing.T, e *env, publicURL string, allowed ...string) *httptest.Server {
	t.Helper()
	h, err := server.New(server.Config{Accounts: e.accounts, Sessions: e.sessions, Tokens: e.tokens,
		CSRFKey: bytes.Repeat([]byte{9}, 32), TLS: true, PublicURL: publicURL, AllowedHosts: allowed,
		Throttle: guard.NewLimiter(e.db, guard.Config{Clock: e.clock})})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// hostRequest sends a JSON request to srv with the given Host and Origin
// headers (Origin omitted when empty) and returns the status and body.
func hostRequest(t *testing.T, srv *httptest.Server, method, path, host, origin, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func errorCode(b []byte) string {
	var v struct {
		Error struct{ Code string }
	}
	json.Unmarshal(b, &v)
	return v.Error.Code
}

// SEC-63: with a public URL, a DNS-rebinding page (evil.example resolving
// to the server, so its requests carry Host: evil.example and its own
// Origin) can neither sign up nor log in nor read anything: 421 before any
// handler. The public host, spelled in any case and with or without the
// default port, and an allowed host work; the CSRF origin is the public
// one whatever Host was used.
func TestSEC63_HostChecked(t *testing.T) {
	e := newEnv(t)
	e.client().signup("alice", pw)
	srv := publicServer(t, e, "https://auth.example", "sesame.internal:8443")
	const creds = `{"username":"alice","password":"` + pw + `"}`

	for _, rq := range []struct{ method, path, body string }{
		{"POST", "/api/v1/signup", `{"username":"mallory","password":"` + pw + `"}`},
		{"POST", "/api/v1/login", creds},
		{"GET", "/api/v1/me", ""},
		{"GET", "/api/v1/csrf", ""},
		{"GET", "/login", ""},
	} {
		for _, host := range []string{"evil.example", "evil.example:443", "auth.example.evil.example", "127.0.0.1", ""} {
			status, b := hostRequest(t, srv, rq.method, rq.path, host, "http://evil.example", rq.body)
			if status != 421 || errorCode(b) != string(sesame.EMisdirected) {
				t.Fatalf("%s %s with Host %q: got %d %s, want 421 misdirected_request", rq.method, rq.path, host, status, b)
			}
		}
	}
	if _, err := e.accounts.Lookup(context.Background(), "mallory"); sesame.ErrorCode(err) != sesame.ENotFound {
		t.Fatalf("the rebinding sign-up created an account: %v", err)
	}

	// The public host works, however it is spelled.
	for _, host := range []string{"auth.example", "AUTH.example:443"} {
		if status, b := hostRequest(t, srv, "POST", "/api/v1/login", host, "https://auth.example", creds); status != 200 {
			t.Fatalf("login with Host %q: got %d %s", host, status, b)
		}
	}
	if status, b := hostRequest(t, srv, "POST", "/api/v1/signup", "auth.example", "https://auth.example",
		`{"username":"bob","password":"`+pw+`"}`); status != 201 {
		t.Fatalf("sign-up at the public host: got %d %s", status, b)
	}
	// The CSRF origin is the public origin, not the request's Host: the
	// right Host with a foreign Origin is refused, and so is an allowed
	// host's own origin.
	if status, _ := hostRequest(t, srv, "POST", "/api/v1/login", "auth.example", "https://evil.example", creds); status != 403 {
		t.Fatalf("public host, foreign Origin: got %d, want 403", status)
	}
	if status, _ := hostRequest(t, srv, "POST", "/api/v1/login", "sesame.internal:8443", "https://sesame.internal:8443", creds); status != 403 {
		t.Fatalf("allowed host with its own Origin: got %d, want 403 (the origin must be the public one)", status)
	}
	// An allowed host is answered.
	if status, b := hostRequest(t, srv, "GET", "/livez", "sesame.internal:8443", "", ""); status != 200 {
		t.Fatalf("GET /livez at an allowed host: got %d %s", status, b)
	}
	if status, b := hostRequest(t, srv, "POST", "/api/v1/login", "SESAME.internal:8443", "https://auth.example", creds); status != 200 {
		t.Fatalf("login through an allowed host from the public origin: got %d %s", status, b)
	}
	if status, _ := hostRequest(t, srv, "GET", "/livez", "sesame.internal", "", ""); status != 421 {
		t.Fatalf("an allowed host with another port: got %d, want 421", status)
	}
}

// Without a public URL the server answers any Host, as a loopback
// development server does today, and compares Origin with that Host.
func TestNoPublicURLAnyHost(t *testing.T) {
	e := newEnv(t)
	e.client().signup("alice", pw)
	srv := publicServer(t, e, "")
	if status, b := hostRequest(t, srv, "POST", "/api/v1/login", "dev.example:8080", "https://dev.example:8080",
		`{"username":"alice","password":"`+pw+`"}`); status != 200 {
		t.Fatalf("login without a public URL: got %d %s", status, b)
	}
}

// A public URL or allowed host that is not an origin or host is refused
// at construction.
func TestPublicURLValidated(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		public  string
		allowed []string
	}{
		{"auth.example", nil},
		{"ftp://auth.example", nil},
		{"https://auth.example/app", nil},
		{"https://auth.example?x=1", nil},
		{"https://user@auth.example", nil},
		{"https://", nil},
		{"https://auth.example", []string{"https://other.example"}},
		{"https://auth.example", []string{"other.example/x"}},
		{"https://auth.example", []string{""}},
		{"", []string{"other.example"}},
	} {
		_, err := server.New(server.Config{Accounts: e.accounts, Sessions: e.sessions, CSRFKey: bytes.Repeat([]byte{9}, 32),
			PublicURL: tc.public, AllowedHosts: tc.allowed})
		if err == nil {
			t.Errorf("PublicURL %q, AllowedHosts %q: accepted", tc.public, tc.allowed)
		}
	}
	if _, err := server.New(server.Config{Accounts: e.accounts, Sessions: e.sessions, CSRFKey: bytes.Repeat([]byte{9}, 32),
		PublicURL: "http://[::1]:8080/", AllowedHosts: []string{"localhost:8080"}}); err != nil {
		t.Errorf("a loopback public URL: %v", err)
	}
}
