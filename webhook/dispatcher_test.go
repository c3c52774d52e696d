package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/webhook"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
}

// receiver is a webhook endpoint that verifies every request with its
// secret and answers with what answer decides.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	clock  sesame.Clock
	answer func(n int64, r *http.Request) int // n: 1 for the first request

	n        atomic.Int64
	mu       sync.Mutex
	ids      []string // webhook-id of every request
	accepted []string // bodies answered 2xx
	got      chan string
}

func newReceiver(t *testing.T, clock sesame.Clock, answer func(n int64, r *http.Request) int) *receiver {
	rc := &receiver{t: t, secret: webhook.NewSecret(), clock: clock, answer: answer, got: make(chan string, 100)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify([]string{rc.secret}, r.Header, body, rc.clock.Now()); err != nil {
			t.Errorf("receiver: a request does not verify: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		n := rc.n.Add(1)
		rc.mu.Lock()
		rc.ids = append(rc.ids, r.Header.Get("webhook-id"))
		rc.mu.Unlock()
		code := rc.answer(n, r)
		if code/100 == 2 {
			rc.mu.Lock()
			rc.accepted = append(rc.accepted, string(body))
			rc.mu.Unlock()
			rc.got <- string(body)
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) endpoint(events ...string) webhook.Endpoint {
	key, err := webhook.ParseSecret(rc.secret)
	if err != nil {
		rc.t.Fatal(err)
	}
	if len(events) == 0 {
		events = []string{"*"}
	}
	return webhook.Endpoint{URL: rc.srv.URL + "/hook", Events: events, Keys: [][]byte{key}}
}

// run starts a dispatcher and stops it at cleanup.
func run(t *testing.T, cfg webhook.Config) *webhook.Dispatcher {
	t.Helper()
	d, err := webhook.NewDispatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d
}

var fast = webhook.Tuning{Poll: 20 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, RequestTimeout: 5 * time.Second}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling, not a timing assertion
	}
}

func pending(t *testing.T, s webhook.Store, dead bool) []*webhook.Message {
	t.Helper()
	ms, err := s.ListWebhooks(context.Background(), dead, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// A receiver that fails the first 3 times and then accepts gets the
// webhook 4 times with one webhook-id, each request signed; the fourth is
// accepted, the outbox is then empty, and the attempts were recorded in
// the store (LastError of the failures, Attempts counting each).
func TestDeliverAfterFailures(t *testing.T) {
	store := memstore.New()
	clock := sesame.SystemClock{}
	var seenAttempts atomic.Int64
	var rc *receiver
	rc = newReceiver(t, clock, func(n int64, r *http.Request) int {
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		ms := pending(t, store, false)
		if len(ms) == 1 {
			seenAttempts.Store(int64(ms[0].Attempts))
			if ms[0].LastError != "answered HTTP 503" {
				t.Errorf("LastError before the 4th attempt: got %q, want answered HTTP 503", ms[0].LastError)
			}
		}
		return http.StatusNoContent
	})
	d := run(t, webhook.Config{Store: store, Endpoints: []webhook.Endpoint{rc.endpoint()}, Tuning: fast})
	sink := &webhook.Sink{Store: store, Endpoints: []webhook.Endpoint{rc.endpoint()}, Notify: d.Kick}
	sink.Emit(context.Background(), sesame.Event{Type: sesame.EventLoginSuccess, UserID: "u1", Username: "alice", SessionID: "sid1"})

	body := <-rc.got
	waitFor(t, "the outbox to empty", func() bool { return len(pending(t, store, false)) == 0 })
	if n := rc.n.Load(); n != 4 {
		t.Fatalf("requests: got %d, want 4 (3 failures, 1 success)", n)
	}
	if seenAttempts.Load() != 4 {
		t.Errorf("Attempts recorded at the 4th attempt: got %d, want 4", seenAttempts.Load())
	}
	rc.mu.Lock()
	ids := rc.ids
	rc.mu.Unlock()
	for _, id := range ids {
		if id != ids[0] || !strings.HasPrefix(id, "msg_") {
			t.Fatalf("webhook-id changed between attempts: %v", ids)
		}
	}
	var p webhook.Payload
	if err := json.Unmarshal([]byte(body), &p); err != nil || p.Type != "login.success" || p.Data.UserID != "u1" ||
		p.Data.Username != "alice" || p.Data.SessionID != "sid1" || p.Timestamp.IsZero() {
		t.Fatalf("payload: got %s (%v)", body, err)
	}
	select {
	case extra := <-rc.got:
		t.Fatalf("delivered twice: %s", extra)
	case <-time.After(100 * time.Millisecond):
	}
}

// A receiver that hangs costs one attempt's RequestTimeout: the attempt
// fails with a timeout and is retried; meanwhile a Sink's Emit (what a
// login calls) returns while the receiver is still blocked in its first
// request (it stays blocked until the end of the test: the order of
// events is the assertion, not a duration).
func TestHangingReceiver(t *testing.T) {
	store := &settleCounter{Store: memstore.New()}
	release := make(chan struct{})
	blocked := make(chan struct{}, 1)
	var firstReturned atomic.Bool
	rc := newReceiver(t, sesame.SystemClock{}, func(n int64, r *http.Request) int {
		if n == 1 {
			blocked <- struct{}{}
			<-release // hangs, whatever the sender does
			firstReturned.Store(true)
			return http.StatusOK
		}
		return http.StatusOK
	})
	defer close(release) // before the receiver's Close (a cleanup) waits for its handlers
	tu := fast
	tu.RequestTimeout = 200 * time.Millisecond
	d := run(t, webhook.Config{Store: store, Endpoints: []webhook.Endpoint{rc.endpoint()}, Tuning: tu})
	sink := &webhook.Sink{Store: store, Endpoints: []webhook.Endpoint{rc.endpoint()}, Notify: d.Kick}
	sink.Emit(context.Background(), sesame.Event{Type: sesame.EventLoginSuccess, UserID: "u1"})
	<-blocked

	// The receiver is blocked in its first request: another event (another
	// login) is queued and Emit returns.
	sink.Emit(context.Background(), sesame.Event{Type: sesame.EventLoginSuccess, UserID: "u2"})
	if firstReturned.Load() {
		t.Fatal("the receiver's first request returned before the second Emit did")
	}

	// Both are delivered: the second by another worker, the first on its
	// retry after the timeout, while the first request is still blocked.
	users := map[string]bool{}
	for range 2 {
		var p webhook.Payload
		if err := json.Unmarshal([]byte(<-rc.got), &p); err != nil {
			t.Fatal(err)
		}
		users[p.Data.UserID] = true
	}
	if !users["u1"] || !users["u2"] {
		t.Fatalf("delivered: %v, want u1 and u2", users)
	}
	if firstReturned.Load() {
		t.Fatal("the first request returned: the test did not hang the receiver")
	}
	waitFor(t, "the outbox to empty", func() bool { return len(pending(t, store, false)) == 0 })
	if store.settled.Load() < 1 {
		t.Error("the timed-out attempt was not recorded as a failure")
	}
}

// With the default schedule (5 s doubling to 1 h, jitter) on a fake clock,
// a receiver that always fails is given up after about 24 hours of
// attempts: the message is dead-lettered, not deleted, and no longer
// attempted; revived (sesame webhooks retry), it is delivered.
func TestDeadLetterAfterGiveUpThenRetry(t *testing.T) {
	store := &settleCounter{Store: memstore.New()}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: start}
	var healthy atomic.Bool
	rc := newReceiver(t, clock, func(n int64, r *http.Request) int {
		if healthy.Load() {
			return http.StatusOK
		}
		return http.StatusInternalServerError
	})
	tu := webhook.Tuning{Poll: 5 * time.Millisecond} // the default schedule
	run(t, webhook.Config{Store: store, Endpoints: []webhook.Endpoint{rc.endpoint()}, Clock: clock, Tuning: tu})
	sink := &webhook.Sink{Store: store, Endpoints: []webhook.Endpoint{rc.endpoint()}, Clock: clock}
	sink.Emit(context.Background(), sesame.Event{Type: sesame.EventUserBlocked, UserID: "u1"})

	for {
		// Wait until every attempt made so far has its outcome recorded:
		// DueAt is then the next attempt, not a claim's lease.
		waitFor(t, "the last attempt's outcome", func() bool { return store.settled.Load() == rc.n.Load() })
		if dead := pending(t, store, true); len(dead) == 1 {
			break
		}
		ms := pending(t, store, false)
		if len(ms) != 1 {
			t.Fatalf("pending: %d messages, want 1", len(ms))
		}
		if ms[0].DueAt.After(start.Add(time.Hour)) && ms[0].DueAt.Sub(clock.Now()) > 2*time.Hour {
			t.Fatalf("a retry is scheduled %v ahead, more than the 1 h cap", ms[0].DueAt.Sub(clock.Now()))
		}
		n := rc.n.Load()
		clock.Set(ms[0].DueAt) // jump to the next attempt (a claim lease end is also a DueAt)
		waitFor(t, "the next attempt or the dead letter", func() bool {
			return rc.n.Load() > n || len(pending(t, store, true)) == 1
		})
		if rc.n.Load() > 60 {
			t.Fatalf("%d attempts and not dead-lettered", rc.n.Load())
		}
	}
	span := clock.Now().Sub(start)
	if span < 20*time.Hour || span > 26*time.Hour {
		t.Fatalf("dead-lettered after %v of (fake) time and %d attempts, want about 24 h", span, rc.n.Load())
	}
	dead := pending(t, store, true)[0]
	if dead.LastError != "answered HTTP 500" || dead.DeadAt.IsZero() {
		t.Fatalf("the dead letter: %+v", dead)
	}
	attempts := rc.n.Load()
	clock.Set(clock.Now().Add(48 * time.Hour))
	time.Sleep(50 * time.Millisecond) // several polls: a dead letter is not attempted
	if rc.n.Load() != attempts {
		t.Fatalf("a dead letter was attempted again (%d → %d)", attempts, rc.n.Load())
	}
	t.Logf("dead-lettered after %v of fake time, %d attempts", span, attempts)

	healthy.Store(true)
	if err := store.ReviveWebhook(context.Background(), dead.ID, clock.Now()); err != nil {
		t.Fatal(err)
	}
	<-rc.got
	waitFor(t, "the outbox to empty", func() bool {
		return len(pending(t, store, false)) == 0 && len(pending(t, store, true)) == 0
	})
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if last := rc.ids[len(rc.ids)-1]; last != dead.ID {
		t.Fatalf("the retried delivery's webhook-id: got %s, want the dead letter's %s", last, dead.ID)
	}
}

// The filter: an endpoint gets only the event types it names ("*": all),
// and an event no endpoint wants queues nothing.
func TestSinkFilter(t *testing.T) {
	store := memstore.New()
	var audited []sesame.EventType
	sink := &webhook.Sink{Store: store,
		Next: sesame.EventFunc(func(_ context.Context, e sesame.Event) { audited = append(audited, e.Type) }),
		Endpoints: []webhook.Endpoint{
			{URL: "https://a.example/hook", Events: webhook.Filter{"login.failure", "user.blocked"}},
			{URL: "https://b.example/hook", Events: webhook.Filter{"*"}},
		}}
	for _, ty := range []sesame.EventType{sesame.EventLoginSuccess, sesame.EventLoginFailure, sesame.EventUserBlocked} {
		sink.Emit(context.Background(), sesame.Event{Type: ty, UserID: "u1"})
	}
	got := map[string][]string{}
	for _, m := range pending(t, store, false) {
		got[m.URL] = append(got[m.URL], m.Type)
	}
	if len(got["https://a.example/hook"]) != 2 || len(got["https://b.example/hook"]) != 3 {
		t.Fatalf("queued: %v, want a: login.failure and user.blocked, b: all three", got)
	}
	for _, ty := range got["https://a.example/hook"] {
		if ty == "login.success" {
			t.Fatalf("endpoint a got login.success, which it did not ask for")
		}
	}
	if len(audited) != 3 {
		t.Fatalf("the next sink (audit log) got %d events, want every one (3)", len(audited))
	}
	none := &webhook.Sink{Store: store, Endpoints: []webhook.Endpoint{{URL: "https://c.example", Events: webhook.Filter{"logout"}}}}
	before := len(pending(t, store, false))
	none.Emit(context.Background(), sesame.Event{Type: sesame.EventLoginSuccess})
	if len(pending(t, store, false)) != before {
		t.Fatal("an event no endpoint wants was queued")
	}
}

// The payload of a login.failure for an unknown name (what was typed may
// be a password in the wrong field) leaves the name out; nor does any
// payload carry the IP or the user agent.
func TestPayloadLeavesOut(t *testing.T) {
	b, err := webhook.NewPayload(sesame.Event{Type: sesame.EventLoginFailure, Username: "hunter2-typed-as-name",
		IP: "203.0.113.9", UserAgent: "Mozilla/5.0 canary-agent", Reason: "throttled", Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"hunter2", "203.0.113.9", "canary-agent"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("payload %s holds %q", b, leak)
		}
	}
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil || p["type"] != "login.failure" || p["timestamp"] == nil || p["data"] == nil {
		t.Fatalf("payload shape: %s", b)
	}
}

// Two dispatchers (two nodes) on one store deliver each message once.
func TestTwoDispatchersDeliverOnce(t *testing.T) {
	store := memstore.New()
	rc := newReceiver(t, sesame.SystemClock{}, func(int64, *http.Request) int { return http.StatusOK })
	eps := []webhook.Endpoint{rc.endpoint()}
	run(t, webhook.Config{Store: store, Endpoints: eps, Tuning: fast})
	run(t, webhook.Config{Store: store, Endpoints: eps, Tuning: fast})
	sink := &webhook.Sink{Store: store, Endpoints: eps}
	const n = 50
	for i := range n {
		sink.Emit(context.Background(), sesame.Event{Type: sesame.EventSessionCreated, SessionID: "s" + string(rune('A'+i))})
	}
	waitFor(t, "every message delivered", func() bool { return len(pending(t, store, false)) == 0 })
	rc.mu.Lock()
	defer rc.mu.Unlock()
	seen := map[string]int{}
	for _, id := range rc.ids {
		seen[id]++
	}
	if len(seen) != n {
		t.Fatalf("delivered %d distinct messages, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("message %s delivered %d times with a healthy receiver", id, k)
		}
	}
}

// settleCounter counts the recorded outcomes of failed attempts.
type settleCounter struct {
	webhook.Store
	settled atomic.Int64
}

func (s *settleCounter) RetryWebhook(ctx context.Context, id string, due time.Time, lastError string) error {
	defer s.settled.Add(1)
	return s.Store.RetryWebhook(ctx, id, due, lastError)
}

func (s *settleCounter) KillWebhook(ctx context.Context, id string, at time.Time, lastError string) error {
	defer s.settled.Add(1)
	return s.Store.KillWebhook(ctx, id, at, lastError)
}

// A dispatcher stopped while an attempt hangs gives the claim back, due
// at once (not at the end of its 30 s lease), and returns.
func TestShutdownGivesClaimBack(t *testing.T) {
	store := memstore.New()
	blocked := make(chan struct{}, 1)
	rc := newReceiver(t, sesame.SystemClock{}, func(n int64, r *http.Request) int {
		blocked <- struct{}{}
		<-r.Context().Done()
		return http.StatusOK
	})
	d, err := webhook.NewDispatcher(webhook.Config{Store: store, Endpoints: []webhook.Endpoint{rc.endpoint()}, Tuning: fast})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	sink := &webhook.Sink{Store: store, Endpoints: []webhook.Endpoint{rc.endpoint()}, Notify: d.Kick}
	sink.Emit(context.Background(), sesame.Event{Type: sesame.EventLogout, UserID: "u1"})
	<-blocked
	cancel()
	<-done
	ms := pending(t, store, false)
	if len(ms) != 1 || ms[0].DueAt.After(time.Now()) || ms[0].LastError != "interrupted by a shutdown" {
		t.Fatalf("after a shutdown mid-attempt: %+v, want the message due now", ms)
	}
}
