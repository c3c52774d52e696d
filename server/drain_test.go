package server_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/server"
)

// Drain turns readiness off at once and nothing else: GET /healthz answers
// 503 {"status":"draining"} while liveness and every other endpoint keep
// serving (a load balancer drains the node; requests it still sends
// succeed).
func TestDrainHealthz(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", pw)
	c.want(c.do("GET", "/healthz", nil), 200)
	if e.server.Draining() {
		t.Fatal("Draining before Drain")
	}

	e.server.Drain()
	e.server.Drain() // idempotent
	if !e.server.Draining() {
		t.Fatal("Draining after Drain: got false")
	}
	r := c.want(c.do("GET", "/healthz", nil), 503)
	if got := strings.TrimSpace(string(r.body)); got != `{"status":"draining"}` {
		t.Errorf("GET /healthz while draining: got body %s, want {\"status\":\"draining\"}", got)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("GET /healthz while draining: got Cache-Control %q, want no-store", cc)
	}
	c.want(c.do("GET", "/livez", nil), 200)
	c.login("alice", pw, false) // the node still serves what reaches it
	if c.me() != 200 {
		t.Error("GET /api/v1/me while draining: want 200")
	}
}

// A revocation stream never ends on its own: registered with
// RegisterOnShutdown, EndStreams ends the open ones so that
// http.Server.Shutdown returns well within its bound, and a stream asked
// for afterwards is refused with 503 and Retry-After (its client
// reconnects elsewhere or polls). Without EndStreams, Shutdown would wait
// for its whole bound.
func TestEndStreamsLetsShutdownFinish(t *testing.T) {
	e, _ := streamEnv(t)
	srv, err := server.New(server.Config{Accounts: e.accounts, Sessions: e.sessions, CSRFKey: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	hs.RegisterOnShutdown(srv.EndStreams)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	base := "http://" + ln.Addr().String()

	s := openStream(t, http.DefaultClient, base+"/api/v1/revocations/stream")
	if s.resp.StatusCode != 200 {
		t.Fatalf("open a stream: got %d, want 200", s.resp.StatusCode)
	}
	s.nextEvent() // the stream is open on the server and caught up

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with an open revocation stream: %v, want it to end the stream and return", err)
	}
	if _, err := io.ReadAll(s.resp.Body); err != nil {
		t.Errorf("the ended stream: got %v, want a clean end of the response", err)
	}
	if !srv.Draining() {
		t.Error("EndStreams did not imply Drain")
	}

	// A request that reaches the server afterwards (through a handler:
	// the listener is closed) is refused.
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/revocations/stream", nil))
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Errorf("a stream after EndStreams: got %d, Retry-After %q, want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
}
