package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/postgres"
)

// deadline bounds every wait here: generous, because a loaded CI machine
// is slow, and never reached when things work.
const deadline = 15 * time.Second

// subscription runs Subscribe in the background and records its calls.
type subscription struct {
	changed   chan string
	connected chan bool
	done      chan error
	cancel    context.CancelFunc
}

func subscribe(t *testing.T, db *postgres.DB) *subscription {
	t.Helper()
	sctx, cancel := context.WithCancel(ctx)
	s := &subscription{changed: make(chan string, 100), connected: make(chan bool, 100), done: make(chan error, 1), cancel: cancel}
	go func() {
		s.done <- db.Notifier().Subscribe(sctx,
			func(p string) { s.changed <- p },
			func(up bool) { s.connected <- up })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(deadline):
			t.Error("Subscribe did not return after its context ended")
		}
	})
	return s
}

func (s *subscription) waitConnected(t *testing.T, want bool) {
	t.Helper()
	select {
	case got := <-s.connected:
		if got != want {
			t.Fatalf("connected(%v), want connected(%v)", got, want)
		}
	case <-time.After(deadline):
		t.Fatalf("no connected(%v) within %v", want, deadline)
	}
}

// testPayload is what the tests notify: the payload must arrive unchanged.
const testPayload = "s1 r sessionA u sessionB"

func (s *subscription) waitChanged(t *testing.T) {
	t.Helper()
	select {
	case p := <-s.changed:
		if p != testPayload {
			t.Fatalf("changed(%q), want %q", p, testPayload)
		}
	case <-time.After(deadline):
		t.Fatalf("no changed() within %v", deadline)
	}
}

// One node notifies; another, on its own handle, hears it.
func TestNotifierAcrossHandles(t *testing.T) {
	u, schema := testURL(t), newSchema(t)
	a, b := openSchema(t, u, schema), openSchema(t, u, schema)
	sub := subscribe(t, a)
	sub.waitConnected(t, true)
	must(t, "Notify", b.Notifier().Notify(ctx, testPayload))
	sub.waitChanged(t)
}

// A listener whose backend is terminated says connected(false) at once,
// reconnects by itself, says connected(true), and hears notifications
// again.
func TestNotifierReconnects(t *testing.T) {
	u, schema := testURL(t), newSchema(t)
	app := "sesame_test_" + randHex(6)
	listener := openSchema(t, withParam(t, u, "application_name", app), schema)
	other := openSchema(t, u, schema)
	sub := subscribe(t, listener)
	sub.waitConnected(t, true)

	for round := range 2 {
		var killed int
		must(t, "terminate the listener", other.Pool().QueryRow(ctx, `SELECT count(pg_terminate_backend(pid))
			FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`, app+" listener").Scan(&killed))
		if killed != 1 {
			t.Fatalf("round %d: terminated %d listener backends, want 1", round, killed)
		}
		sub.waitConnected(t, false)
		sub.waitConnected(t, true)
		for len(sub.changed) > 0 { // drop anything heard before
			<-sub.changed
		}
		must(t, "Notify", other.Notifier().Notify(ctx, testPayload))
		sub.waitChanged(t)
	}
}

// While the server cannot be reached, Subscribe keeps trying without
// reporting a connection, and returns nil when its context ends.
func TestNotifierUnreachable(t *testing.T) {
	db, err := postgres.OpenWithoutMigrating(ctx, "postgres://sesame@127.0.0.1:1/none?connect_timeout=1")
	must(t, "open", err)
	defer db.Close()
	sctx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
	defer cancel()
	got := make(chan bool, 10)
	errc := make(chan error, 1)
	go func() { errc <- db.Notifier().Subscribe(sctx, func(string) {}, func(up bool) { got <- up }) }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Subscribe after its context ended: got %v, want nil", err)
		}
	case <-time.After(deadline):
		t.Fatal("Subscribe did not return when its context ended")
	}
	if len(got) != 0 {
		t.Fatalf("connected called %d times for an unreachable server, want 0", len(got))
	}
}

// A listener idle past its health interval pings its connection and keeps
// listening: the timeouts of the wait do not break the connection, and
// notifications sent between them arrive.
func TestNotifierSurvivesHealthChecks(t *testing.T) {
	u, schema := testURL(t), newSchema(t)
	listener, other := openSchema(t, u, schema), openSchema(t, u, schema)
	sctx, cancel := context.WithCancel(ctx)
	changed, connected := make(chan string, 100), make(chan bool, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		postgres.NotifierWithHealth(listener, 10*time.Millisecond).Subscribe(sctx,
			func(p string) { changed <- p }, func(up bool) { connected <- up })
	}()
	defer func() { cancel(); <-done }()
	select {
	case up := <-connected:
		if !up {
			t.Fatal("connected(false) before connected(true)")
		}
	case <-time.After(deadline):
		t.Fatal("no connected(true)")
	}
	for i := range 10 {
		time.Sleep(25 * time.Millisecond) // a couple of health intervals, idle
		must(t, "Notify", other.Notifier().Notify(ctx, testPayload))
		select {
		case <-changed:
		case up := <-connected:
			t.Fatalf("round %d: connected(%v) while the server was up", i, up)
		case <-time.After(deadline):
			t.Fatalf("round %d: no changed()", i)
		}
	}
}
