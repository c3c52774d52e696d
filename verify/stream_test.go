package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
)

// fakeStream is an issuer's revocation stream (at /feed/stream) and feed
// (at /feed) whose answers each test writes.
type fakeStream struct {
	srv *httptest.Server

	mu      sync.Mutex
	lastIDs []string // Last-Event-ID of each stream connection
	polls   int
	// streamsAtFirstPoll is how many stream connections were tried when
	// the feed was first polled.
	streamsAtFirstPoll int
	feedStatus         int                                                 // 0: the feed answers
	stream             func(n int, w http.ResponseWriter, r *http.Request) // n counts connections from 0
}

func newFakeStream(t *testing.T, stream func(n int, w http.ResponseWriter, r *http.Request)) *fakeStream {
	fs := &fakeStream{stream: stream}
	fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		if r.URL.Path == "/feed/stream" {
			n := len(fs.lastIDs)
			fs.lastIDs = append(fs.lastIDs, r.Header.Get("Last-Event-ID"))
			fn := fs.stream
			fs.mu.Unlock()
			fn(n, w, r)
			return
		}
		if fs.polls == 0 {
			fs.streamsAtFirstPoll = len(fs.lastIDs)
		}
		fs.polls++
		status := fs.feedStatus
		fs.mu.Unlock()
		if status != 0 {
			http.Error(w, "feed down", status)
			return
		}
		fmt.Fprint(w, `{"revocations":[],"next":1}`)
	}))
	t.Cleanup(fs.srv.Close)
	return fs
}

func (fs *fakeStream) get(fn func(fs *fakeStream)) {
	fs.mu.Lock()
	fn(fs)
	fs.mu.Unlock()
}

// sse writes a stream's head and body.
func sse(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, body)
	w.(http.Flusher).Flush()
}

const primeAt5 = "retry: 1000\n\nevent: position\nid: 5\ndata: {\"next\":5}\n\n"

// applied after a refused event, it must never be seen.
const afterBad = "event: revocation\nid: 9\ndata: {\"seq\":9,\"sid\":\"after\"}\n\n"

func streamFollower(t *testing.T, fs *fakeStream, clock *testclock.Clock, mutate ...func(*RevocationConfig)) (*Verifier, *issuer) {
	t.Helper()
	is := newIssuer(t)
	v := newVerifier(t, is, clock, func(c *Config) {
		c.Revocations = &RevocationConfig{URL: fs.srv.URL + "/feed", StreamRetry: time.Hour}
		for _, m := range mutate {
			m(c.Revocations)
		}
	})
	return v, is
}

// An oversized or malformed event ends the connection with an error (no
// panic, no 500 for the requests meanwhile); nothing after it is applied.
func TestStreamRefusesMalformedEvents(t *testing.T) {
	for _, tc := range []struct {
		name, body, ctype string
		want              error // nil: any error
		lost              bool
	}{
		{name: "line too long", body: "data: " + strings.Repeat("x", 100<<10) + "\n\n", want: errSSELineTooLong},
		{name: "event too large", body: strings.Repeat("data: 0123456789\n", 10000) + "\n", want: errSSEEventTooLong},
		{name: "revocation without id", body: "event: revocation\ndata: {\"seq\":6,\"sid\":\"s\"}\n\n"},
		{name: "revocation id not a number", body: "event: revocation\nid: six\ndata: {\"seq\":6,\"sid\":\"s\"}\n\n"},
		{name: "revocation data not JSON", body: "event: revocation\nid: 6\ndata: {\"seq\":6,\n\n"},
		{name: "revocation without sid", body: "event: revocation\nid: 6\ndata: {\"seq\":6}\n\n"},
		{name: "revocation id going back", body: "event: revocation\nid: 3\ndata: {\"seq\":3,\"sid\":\"s\"}\n\n"},
		{name: "position id and next differ", body: "event: position\nid: 7\ndata: {\"next\":8}\n\n"},
		{name: "position without next", body: "event: position\nid: 7\ndata: {}\n\n"},
		{name: "position going back", body: "event: position\nid: 2\ndata: {\"next\":2}\n\n", want: errStreamLost, lost: true},
		{name: "not an event stream", ctype: "text/html", body: "<html>", want: &streamRefusedError{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFakeStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
					fmt.Fprint(w, tc.body)
					return
				}
				sse(w, primeAt5+tc.body+afterBad)
			})
			fs.get(func(fs *fakeStream) { fs.feedStatus = http.StatusBadGateway }) // no lazy poll may prime
			v, is := streamFollower(t, fs, testclock.New(t0))
			caughtUp, err := v.rev.streamOnce(context.Background())
			var refused *streamRefusedError
			switch {
			case err == nil:
				t.Fatal("got no error")
			case errors.As(tc.want, &refused):
				if !errors.As(err, &refused) {
					t.Fatalf("got %v, want a refused stream", err)
				}
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			v.rev.mu.RLock()
			_, applied := v.rev.revoked["after"]
			primed, pos := v.rev.primed, v.rev.cursor
			v.rev.mu.RUnlock()
			if applied || pos != 5 && tc.ctype == "" {
				t.Fatalf("an event after the refused one was applied (position %d)", pos)
			}
			_, err = v.Verify(context.Background(), is.token())
			switch {
			case tc.ctype != "":
				if caughtUp || primed {
					t.Fatal("primed from a response that is not a stream")
				}
				wantCode(t, err, sesame.EUnavailable, ErrUnavailable)
			case tc.lost:
				// SEC-64: a position going back is a lost position: fail
				// closed until primed again.
				if primed {
					t.Fatal("still primed after the position went back")
				}
				wantCode(t, err, sesame.EUnavailable, ErrUnavailable)
			default:
				if !caughtUp || !primed || err != nil {
					t.Fatalf("the catch-up before the bad event: caught up %v, primed %v, verify %v", caughtUp, primed, err)
				}
			}
		})
	}
}

// A stream that keeps breaking before its catch-up is given up after 3
// connections for polling, and tried again after StreamRetry.
func TestStreamBreakingRepeatedlyFallsBackToPolling(t *testing.T) {
	var mu sync.Mutex
	working := false
	fs := newFakeStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok := working
		mu.Unlock()
		if !ok {
			http.Error(w, "upstream broke", http.StatusBadGateway)
			return
		}
		sse(w, primeAt5)
		<-r.Context().Done()
	})
	v, is := streamFollower(t, fs, testclock.New(t0), func(rc *RevocationConfig) { rc.StreamRetry = 200 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); v.loops.Wait() }()
	v.Start(ctx)
	waitFor(t, "the first poll", func() bool {
		var polls int
		fs.get(func(fs *fakeStream) { polls = fs.polls })
		return polls > 0
	})
	var tried int
	fs.get(func(fs *fakeStream) { tried = fs.streamsAtFirstPoll })
	if tried != streamMaxFailures {
		t.Fatalf("stream connections before falling back: got %d, want %d", tried, streamMaxFailures)
	}
	mustVerify(t, v, is.token()) // primed by the poll
	mu.Lock()
	working = true
	mu.Unlock()
	waitFor(t, "the stream retried after StreamRetry", func() bool {
		v.rev.stream.mu.Lock()
		defer v.rev.stream.mu.Unlock()
		return v.rev.stream.connected == 1 && !v.rev.stream.polling
	})
	var ids []string
	fs.get(func(fs *fakeStream) { ids = slices.Clone(fs.lastIDs) })
	if last := ids[len(ids)-1]; last != "1" {
		t.Fatalf("the retried stream resumed from %q, want the polled position 1", last)
	}
}

// SEC-64: a 410 on reconnection (the issuer's feed no longer holds the
// position: trimmed, or its store lost its data) fails closed until the
// stream primed again, and then refuses every token issued before, even
// with TrustTokensIssuedBeforePrime.
func TestStreamGoneOnReconnectSetsBarrier(t *testing.T) {
	fs := newFakeStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 0:
			sse(w, primeAt5) // then the connection ends
		case 1:
			http.Error(w, "gone", http.StatusGone)
		default:
			sse(w, "event: position\nid: 1\ndata: {\"next\":1}\n\n")
			<-r.Context().Done()
		}
	})
	clock := testclock.New(t0.Add(time.Minute))
	v, is := streamFollower(t, fs, clock, func(rc *RevocationConfig) { rc.TrustTokensIssuedBeforePrime = true })
	old := is.token()
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); v.loops.Wait() }()
	v.Start(ctx)
	waitFor(t, "the re-prime", func() bool {
		v.rev.stream.mu.Lock()
		defer v.rev.stream.mu.Unlock()
		return v.rev.stream.connected == 2
	})
	_, err := v.Verify(context.Background(), old)
	wantCode(t, err, sesame.EUnauthenticated, ErrRevoked)
	clock.Add(time.Second)
	mustVerify(t, v, sign(t, is.key, func() *Claims { c := claimsAt(clock.Now()); c.SessionID = "sid-new"; return c }()))
	var ids []string
	fs.get(func(fs *fakeStream) { ids = slices.Clone(fs.lastIDs) })
	if want := []string{"", "5", ""}; !slices.Equal(ids, want) {
		t.Fatalf("Last-Event-ID of the connections: got %q, want %q", ids, want)
	}
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	for n := 1; n <= 10; n++ {
		ceil := min(streamBackoffMin<<(n-1), streamBackoffMax)
		for range 50 {
			if d := backoff(n); d < ceil/2 || d > ceil {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, ceil/2, ceil)
			}
		}
	}
}

// waitFor waits until cond holds; a hung test fails after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after a minute", what)
		}
		time.Sleep(time.Millisecond)
	}
}
