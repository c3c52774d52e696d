package verify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/password"
	. "github.com/sesame-auth/sesame/verify"
)

// sesameServer is a real Sesame (package app over a fresh SQLite file,
// TLS on loopback) behind a wrapper that counts the revocation feed's
// polls and streams, and lets a test cut the open streams, hold new ones,
// or refuse either endpoint.
type sesameServer struct {
	t   *testing.T
	srv *httptest.Server

	polls, streams atomic.Int64

	mu          sync.Mutex
	lastIDs     []string // Last-Event-ID of each stream request
	open        map[*http.Request]context.CancelFunc
	hold        chan struct{} // while set, new streams wait for it to close
	refuseFeed  int           // status for polls, 0: serve
	refuseStrm  int           // status for streams, 0: serve
	pollsRefuse atomic.Int64  // polls answered with refuseFeed
}

func startSesame(t *testing.T) *sesameServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &sesameServer{t: t, open: map[*http.Request]context.CancelFunc{}}
	s.srv = httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.DB = filepath.Join(t.TempDir(), "sesame.db")
	cfg.PublicURL = "https://" + s.srv.Listener.Addr().String()
	cfg.Issuer = "https://sesame.test"
	cfg.MasterKey = config.Secret(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	a, err := app.New(ctx, cfg, app.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		app.WithPasswordParams(password.Params{Memory: 64, Time: 1, Threads: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	a.Start(ctx)
	h := a.Handler()
	s.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/revocations":
			s.polls.Add(1)
			s.mu.Lock()
			status := s.refuseFeed
			s.mu.Unlock()
			if status != 0 {
				s.pollsRefuse.Add(1)
				http.Error(w, "refused by the test", status)
				return
			}
		case "/api/v1/revocations/stream":
			s.streams.Add(1)
			s.mu.Lock()
			s.lastIDs = append(s.lastIDs, r.Header.Get("Last-Event-ID"))
			status, hold := s.refuseStrm, s.hold
			s.mu.Unlock()
			if status != 0 {
				http.Error(w, "refused by the test", status)
				return
			}
			if hold != nil {
				<-hold
			}
			ctx, cancel := context.WithCancel(r.Context())
			r = r.WithContext(ctx)
			s.mu.Lock()
			s.open[r] = cancel
			s.mu.Unlock()
			defer func() {
				s.mu.Lock()
				delete(s.open, r)
				s.mu.Unlock()
				cancel()
			}()
		}
		h.ServeHTTP(w, r)
	})
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

// cut ends every open stream, as a network failure or a restart would.
func (s *sesameServer) cut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cancel := range s.open {
		cancel()
	}
}

func (s *sesameServer) set(fn func(s *sesameServer)) {
	s.mu.Lock()
	fn(s)
	s.mu.Unlock()
}

func (s *sesameServer) streamLastIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lastIDs...)
}

// call sends a JSON request as a non-browser client and decodes the
// answer into out (when not nil).
func (s *sesameServer) call(method, path, bearer string, body any, want int, out any) {
	s.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, s.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: got %d %s, want %d", method, path, resp.StatusCode, got, want)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			s.t.Fatal(err)
		}
	}
}

// login signs a user up (once) and returns an access token of a new
// session.
func (s *sesameServer) login(user string) string {
	s.t.Helper()
	var p struct {
		AccessToken string `json:"access_token"`
	}
	creds := map[string]string{"username": user, "password": "correct horse battery staple"}
	if !s.signedUp(user) {
		s.call("POST", "/api/v1/signup", "", creds, http.StatusCreated, nil)
	}
	creds["transport"] = "header"
	s.call("POST", "/api/v1/login", "", creds, http.StatusOK, &p)
	return p.AccessToken
}

var signedUp sync.Map

func (s *sesameServer) signedUp(user string) bool {
	_, loaded := signedUp.LoadOrStore(s.srv.URL+"|"+user, true)
	return loaded
}

func (s *sesameServer) logout(token string) {
	s.t.Helper()
	s.call("POST", "/api/v1/logout", token, nil, http.StatusNoContent, nil)
}

// follower returns a started verifier of s's tokens that follows its
// revocation feed with the given settings, on clock (nil: the system's).
func (s *sesameServer) follower(clock sesame.Clock, rc RevocationConfig) *Verifier {
	s.t.Helper()
	rc.URL = s.srv.URL + "/api/v1/revocations"
	rc.TrustTokensIssuedBeforePrime = true // tokens of the test's logins, made around the prime
	v, err := New(Config{
		JWKSURL: s.srv.URL + "/.well-known/jwks.json", Issuer: "https://sesame.test",
		Audience: []string{"https://sesame.test"}, HTTPClient: s.srv.Client(), Clock: clock,
		Logger: slog.New(slog.NewTextHandler(testWriter{s.t}, &slog.HandlerOptions{Level: slog.LevelDebug})), Revocations: &rc,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.t.Cleanup(func() { cancel(); Wait(v) })
	v.Start(ctx)
	return v
}

// eventually waits until cond holds; a test that hangs fails after a
// minute, not on a timing assertion.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after a minute", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func revoked(v *Verifier, tok string) func() bool {
	return func() bool {
		_, err := v.Verify(context.Background(), tok)
		return errors.Is(err, ErrRevoked)
	}
}

// A logout on Sesame is pushed to the verifier on the stream: the token is
// rejected although the verifier never polled (its poll interval is an
// hour, and the feed endpoint counts no request at all).
func TestStreamPushesRevocation(t *testing.T) {
	s := startSesame(t)
	tok, other := s.login("alice"), s.login("alice")
	v := s.follower(nil, RevocationConfig{PollInterval: time.Hour})
	eventually(t, "the stream's catch-up", func() bool { return StreamConnections(v) == 1 })
	mustVerify(t, v, tok)
	mustVerify(t, v, other)

	s.logout(tok)
	eventually(t, "the pushed revocation", revoked(v, tok))
	_, err := v.Verify(context.Background(), tok)
	wantCode(t, err, sesame.EUnauthenticated, ErrRevoked)
	mustVerify(t, v, other)
	if n := s.polls.Load(); n != 0 {
		t.Fatalf("the feed was polled %d times: want the stream alone", n)
	}
	if n := s.streams.Load(); n != 1 {
		t.Fatalf("got %d stream connections, want 1", n)
	}
}

// A cut stream is resumed with Last-Event-ID at the verifier's position,
// and every revocation made while it was disconnected is applied, still
// without a single poll.
func TestStreamResumesWithoutMissingRevocations(t *testing.T) {
	s := startSesame(t)
	first := s.login("bob")
	v := s.follower(nil, RevocationConfig{PollInterval: time.Hour})
	eventually(t, "the stream's catch-up", func() bool { return StreamConnections(v) == 1 })
	s.logout(first)
	eventually(t, "the first revocation", revoked(v, first))
	pos := Position(v)

	var toks []string
	for range 3 {
		toks = append(toks, s.login("bob"))
	}
	hold := make(chan struct{})
	s.set(func(s *sesameServer) { s.hold = hold })
	s.cut()
	eventually(t, "the reconnection", func() bool { return len(s.streamLastIDs()) == 2 })
	for _, tok := range toks { // revoked while the verifier is disconnected
		s.logout(tok)
	}
	close(hold)
	for _, tok := range toks {
		eventually(t, "a revocation made while disconnected", revoked(v, tok))
	}
	if got := s.streamLastIDs(); got[0] != "" || got[1] != fmt.Sprint(pos) {
		t.Fatalf("Last-Event-ID of the connections: got %q, want [\"\" %q]", got, fmt.Sprint(pos))
	}
	if n := s.polls.Load(); n != 0 {
		t.Fatalf("the feed was polled %d times: want the stream alone", n)
	}
}

// SEC-65, fail closed: with the stream cut and refused (404), the verifier
// falls back to polling and still hears of revocations; when the feed
// fails too, it keeps deciding until MaxStaleness after it last heard from
// the issuer, and answers 503 from then on, never a stale 200.
func TestStreamCutFallsBackToPollingThenFailsClosed(t *testing.T) {
	s := startSesame(t)
	tok, later := s.login("carol"), s.login("carol")
	clock := testclock.New(time.Now())
	v := s.follower(clock, RevocationConfig{PollInterval: 100 * time.Millisecond, MaxStaleness: time.Second})
	bound := MaxStaleness(v)
	eventually(t, "the stream's catch-up", func() bool { return StreamConnections(v) == 1 })
	mustVerify(t, v, tok)

	s.set(func(s *sesameServer) { s.refuseStrm = http.StatusNotFound })
	s.cut()
	eventually(t, "the fallback to polling", func() bool { return StreamPolling(v) && s.polls.Load() > 0 })
	s.logout(later)
	eventually(t, "the revocation, polled", revoked(v, later))
	mustVerify(t, v, tok)

	s.set(func(s *sesameServer) { s.refuseFeed = http.StatusBadGateway })
	// Two refused polls: the last successful one (a single read runs at a
	// time) is over.
	eventually(t, "refused polls", func() bool { return s.pollsRefuse.Load() >= 2 })
	clock.Add(bound) // exactly the bound since the last read: still decides
	mustVerify(t, v, tok)
	clock.Add(time.Nanosecond)
	_, err := v.Verify(context.Background(), tok)
	wantCode(t, err, sesame.EUnavailable, ErrUnavailable)
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	v.Middleware(http.NotFoundHandler()).ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("middleware: got %d, want 503", rec.Code)
	}
	if strings.Join(s.streamLastIDs()[:1], "") != "" {
		t.Fatal("the first stream connection resumed instead of priming")
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

func mustVerify(t *testing.T, v *Verifier, tok string) {
	t.Helper()
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("Verify: got %v, want success", err)
	}
}

func wantCode(t *testing.T, err error, code sesame.Code, want error) {
	t.Helper()
	if sesame.ErrorCode(err) != code || !errors.Is(err, want) {
		t.Fatalf("got %v, want %s wrapping %v", err, code, want)
	}
}
