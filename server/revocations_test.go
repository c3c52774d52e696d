package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/server"
)

// sseEvent is one event or comment read from a revocation stream.
type sseEvent struct {
	typ, id, data string
	comment       string
}

// stream is an open GET /api/v1/revocations/stream.
type stream struct {
	t    *testing.T
	resp *http.Response
	sc   *bufio.Scanner
}

// openStream opens the stream at base with the given headers (name,
// value pairs) and returns the response, open or not.
func openStream(t *testing.T, client *http.Client, url string, hdr ...string) *stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hung test fails
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &stream{t: t, resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// next reads the next event or comment.
func (s *stream) next() sseEvent {
	s.t.Helper()
	var ev sseEvent
	var data []string
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if ev.comment != "" || data != nil {
				ev.data = strings.Join(data, "\n")
				return ev
			}
		case strings.HasPrefix(line, ":"):
			ev.comment = strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "event: "):
			ev.typ = line[len("event: "):]
		case strings.HasPrefix(line, "id: "):
			ev.id = line[len("id: "):]
		case strings.HasPrefix(line, "data: "):
			data = append(data, line[len("data: "):])
		}
	}
	s.t.Fatalf("stream ended: %v", s.sc.Err())
	return ev
}

// nextEvent skips comments.
func (s *stream) nextEvent() sseEvent {
	s.t.Helper()
	for {
		if ev := s.next(); ev.comment == "" {
			return ev
		}
	}
}

// feedPosition returns the polling feed's newest position.
func feedPosition(t *testing.T, c *client) int64 {
	t.Helper()
	var page struct{ Next int64 }
	for since := int64(0); ; {
		c.want(c.do("GET", "/api/v1/revocations?since="+itoa(since), nil), 200).json(t, &page)
		if page.Next == since {
			return since
		}
		since = page.Next
	}
}

// logoutSession signs alice in with a token, logs that session out and
// returns its ID.
func logoutSession(t *testing.T, c *client) string {
	t.Helper()
	p := c.loginHeader("alice", pw)
	var me struct{ Session sesame.SessionInfo }
	c.want(c.do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+p.AccessToken), 200).json(t, &me)
	c.want(c.do("POST", "/api/v1/logout", nil, "Authorization", "Bearer "+p.AccessToken), 204)
	return me.Session.ID
}

type revEvent struct {
	Seq int64     `json:"seq"`
	SID string    `json:"sid"`
	At  time.Time `json:"at"`
}

func decodeRev(t *testing.T, ev sseEvent) revEvent {
	t.Helper()
	var r revEvent
	if ev.typ != "revocation" {
		t.Fatalf("got event %q %q, want a revocation", ev.typ, ev.data)
	}
	if err := json.Unmarshal([]byte(ev.data), &r); err != nil || r.SID == "" || r.Seq == 0 || r.At.IsZero() {
		t.Fatalf("revocation event %q: %v", ev.data, err)
	}
	if ev.id != itoa(r.Seq) {
		t.Fatalf("revocation event id %q, want its seq %d", ev.id, r.Seq)
	}
	return r
}

func streamEnv(t *testing.T) (*env, *client) {
	e := newEnv(t)
	c := e.client()
	c.origin = ""
	c.signup("alice", pw)
	return e, c
}

// A logout is pushed to an open stream as the revocation the polling feed
// lists, with the same seq, followed by the position.
func TestRevocationStreamPushesLogout(t *testing.T) {
	e, c := streamEnv(t)
	start := feedPosition(t, c)
	s := openStream(t, e.srv.Client(), e.srv.URL+"/api/v1/revocations/stream?since="+itoa(start))
	if s.resp.StatusCode != 200 || s.resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("got %d %q, want 200 text/event-stream", s.resp.StatusCode, s.resp.Header.Get("Content-Type"))
	}
	if ev := s.nextEvent(); ev.typ != "position" || ev.id != itoa(start) {
		t.Fatalf("first event: got %+v, want the position %d", ev, start)
	}
	sid := logoutSession(t, c)
	got := decodeRev(t, s.nextEvent())
	var page struct {
		Revocations []revEvent
		Next        int64
	}
	c.want(c.do("GET", "/api/v1/revocations?since="+itoa(start), nil), 200).json(t, &page)
	if len(page.Revocations) != 1 || got.SID != sid || page.Revocations[0].SID != sid || page.Revocations[0].Seq != got.Seq {
		t.Fatalf("pushed %+v, feed %+v: want the logged-out session %s at one seq", got, page, sid)
	}
	if ev := s.nextEvent(); ev.typ != "position" || ev.id != itoa(page.Next) || ev.data != `{"next":`+itoa(page.Next)+`}` {
		t.Fatalf("after the revocation: got %+v, want the position %d", ev, page.Next)
	}
}

// A client that reconnects with Last-Event-ID (or ?since=) gets every
// revocation made while it was away, in order, and nothing before.
func TestRevocationStreamResumes(t *testing.T) {
	e, c := streamEnv(t)
	before := logoutSession(t, c)
	pos := feedPosition(t, c)
	missed := []string{logoutSession(t, c), logoutSession(t, c)}
	for _, hdr := range [][]string{{"Last-Event-ID", itoa(pos)}, nil} {
		url := e.srv.URL + "/api/v1/revocations/stream"
		if hdr == nil {
			url += "?since=" + itoa(pos)
		}
		s := openStream(t, e.srv.Client(), url, hdr...)
		for _, sid := range missed {
			if got := decodeRev(t, s.nextEvent()); got.SID != sid || got.SID == before {
				t.Fatalf("resumed from %d (%v): got %s, want %s", pos, hdr, got.SID, sid)
			}
		}
		if ev := s.nextEvent(); ev.typ != "position" {
			t.Fatalf("after the missed revocations: got %+v, want the position", ev)
		}
	}
	// Without a position, every retained revocation, the first included.
	s := openStream(t, e.srv.Client(), e.srv.URL+"/api/v1/revocations/stream")
	if got := decodeRev(t, s.nextEvent()); got.SID != before {
		t.Fatalf("from 0: got %s, want %s", got.SID, before)
	}
}

// A position that is not a number is 400, one outside the feed 410, both
// before the stream starts, in the API's error shape.
func TestRevocationStreamRefusesBadPositions(t *testing.T) {
	e, c := streamEnv(t)
	pos := feedPosition(t, c)
	tests := []struct {
		name, query string
		hdr         []string
		status      int
	}{
		{"Last-Event-ID not a number", "", []string{"Last-Event-ID", "abc"}, 400},
		{"Last-Event-ID negative", "", []string{"Last-Event-ID", "-1"}, 400},
		{"Last-Event-ID with CRLF-ish junk", "", []string{"Last-Event-ID", "1 2"}, 400},
		{"since not a number", "?since=x", nil, 400},
		{"heartbeat_ms not a number", "?heartbeat_ms=soon", nil, 400},
		{"beyond the newest position", "", []string{"Last-Event-ID", itoa(pos + 1000)}, 410},
		{"since beyond the newest position", "?since=" + itoa(pos+1000), nil, 410},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStream(t, e.srv.Client(), e.srv.URL+"/api/v1/revocations/stream"+tt.query, tt.hdr...)
			var body struct {
				Error struct{ Code string }
			}
			if err := json.NewDecoder(s.resp.Body).Decode(&body); err != nil || s.resp.StatusCode != tt.status || body.Error.Code == "" {
				t.Fatalf("got %d %+v (%v), want %d with a JSON error", s.resp.StatusCode, body, err, tt.status)
			}
		})
	}
}

// newStreamServer serves e's sessions with a server configured by cfg, over
// plain HTTP.
func newStreamServer(t *testing.T, e *env, cfg server.Config) *httptest.Server {
	t.Helper()
	cfg.Accounts, cfg.Sessions, cfg.CSRFKey = e.accounts, e.sessions, bytes.Repeat([]byte{7}, 32)
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs
}

// Beyond MaxRevocationSubscribers open streams, one more is 503 with
// Retry-After; a closed stream frees its place.
func TestRevocationStreamSubscriberLimit(t *testing.T) {
	e, _ := streamEnv(t)
	hs := newStreamServer(t, e, server.Config{MaxRevocationSubscribers: 2})
	url := hs.URL + "/api/v1/revocations/stream"
	a, b := openStream(t, hs.Client(), url), openStream(t, hs.Client(), url)
	for _, s := range []*stream{a, b} {
		if s.resp.StatusCode != 200 {
			t.Fatalf("within the limit: got %d, want 200", s.resp.StatusCode)
		}
		s.nextEvent() // the stream is open on the server
	}
	over := openStream(t, hs.Client(), url)
	if over.resp.StatusCode != 503 || over.resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: got %d, Retry-After %q, want 503 with Retry-After", over.resp.StatusCode, over.resp.Header.Get("Retry-After"))
	}
	// The polling feed is not limited.
	resp, err := hs.Client().Get(hs.URL + "/api/v1/revocations?since=0")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("polling feed while the streams are full: %v %v", resp, err)
	}
	resp.Body.Close()
	a.resp.Body.Close()
	for {
		s := openStream(t, hs.Client(), url)
		if s.resp.StatusCode == 200 {
			break // the server noticed the closed stream
		}
		s.resp.Body.Close()
		time.Sleep(10 * time.Millisecond)
	}
}

// A quiet stream sends heartbeats, at the configured interval or a shorter
// one the client asks for, so that its followers stay fresh.
func TestRevocationStreamHeartbeats(t *testing.T) {
	e, c := streamEnv(t)
	pos := feedPosition(t, c)
	hs := newStreamServer(t, e, server.Config{RevocationHeartbeat: 10 * time.Millisecond})
	s := openStream(t, hs.Client(), hs.URL+"/api/v1/revocations/stream", "Last-Event-ID", itoa(pos))
	if ev := s.next(); ev.typ != "position" {
		t.Fatalf("got %+v, want the position first", ev)
	}
	for range 3 {
		if ev := s.next(); ev.comment != "heartbeat" {
			t.Fatalf("on a quiet stream: got %+v, want a heartbeat", ev)
		}
	}
	// A client may ask for heartbeats (default server: every 15 s).
	s = openStream(t, e.srv.Client(), e.srv.URL+"/api/v1/revocations/stream?heartbeat_ms=250", "Last-Event-ID", itoa(pos))
	s.next()
	if ev := s.next(); ev.comment != "heartbeat" {
		t.Fatalf("asked for heartbeats: got %+v, want a heartbeat", ev)
	}
}
