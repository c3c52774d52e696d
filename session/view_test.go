package session

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
)

// feed is a change feed the test writes directly; the view reads nothing
// else from its store.
type feed struct {
	Store   // nil: the view must not call anything else
	changes []Change
	next    int64
}

func newFeed() *feed { return &feed{next: 1} }

func (f *feed) revoke(id string) {
	f.changes = append(f.changes, Change{Seq: f.next, Kind: ChangeRevoked, SessionID: id, UserID: "u", Time: time.Now()})
	f.next++
}

func (f *feed) trim() { f.changes = nil }

func (f *feed) Changes(_ context.Context, after int64, limit int) ([]Change, int64, error) {
	oldest := f.next
	if len(f.changes) > 0 {
		oldest = f.changes[0].Seq
	}
	var out []Change
	for _, c := range f.changes {
		if c.Seq > after && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, oldest, nil
}

func testSession(id string) *sesame.Session {
	_, h := newToken()
	now := time.Now().UTC()
	return &sesame.Session{ID: id, UserID: "u", TokenHash: h, CreatedAt: now, LastSeen: now,
		IdleTimeout: time.Hour, ExpiresAt: now.Add(time.Hour)}
}

// A view that fell behind a feed the store has since trimmed must not keep
// trusting what it cached: the revocation it missed is gone from the feed.
func TestViewFlushesAfterMissedChanges(t *testing.T) {
	ctx := context.Background()
	store := newFeed()
	store.revoke("old") // some history before this view started
	v := newView(store, slog.New(slog.DiscardHandler), 100, time.Second, time.Hour)
	a := testSession("a")
	if err := v.sync(ctx); err != nil {
		t.Fatal(err)
	}
	v.put(a, v.generation())
	if got, _ := v.get(a.TokenHash); got == nil {
		t.Fatal("put then get: not cached")
	}
	// Another process revokes a, then the feed is trimmed to empty before
	// this view syncs.
	store.revoke(a.ID)
	store.trim()
	if err := v.sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := v.get(a.TokenHash); got != nil {
		t.Fatal("the view still trusts a session whose revocation it missed")
	}
	// Caught up again, it caches what it reads after the gap.
	v.put(a, v.generation())
	if got, _ := v.get(a.TokenHash); got == nil {
		t.Fatal("after the flush the view should cache new reads")
	}
}

// A store read that raced a revocation is not cached (the read may predate
// the revocation the feed has just delivered).
func TestViewRefusesStaleRead(t *testing.T) {
	ctx := context.Background()
	store := newFeed()
	v := newView(store, slog.New(slog.DiscardHandler), 100, time.Second, time.Hour)
	a := testSession("a")
	if err := v.sync(ctx); err != nil {
		t.Fatal(err)
	}
	gen := v.generation()
	stale := a.Clone() // the store read...
	store.revoke(a.ID) // ...then another process revokes it
	if err := v.sync(ctx); err != nil {
		t.Fatal(err)
	}
	v.put(stale, gen)
	if got, _ := v.get(a.TokenHash); got != nil {
		t.Fatal("a read from before a revocation was cached after it")
	}
}

// A view that has not synced within staleAfter is not trusted.
func TestViewUntrustedWhenStale(t *testing.T) {
	ctx := context.Background()
	v := newView(newFeed(), slog.New(slog.DiscardHandler), 100, time.Second, time.Hour)
	a := testSession("a")
	if err := v.sync(ctx); err != nil {
		t.Fatal(err)
	}
	v.put(a, v.generation())
	v.mu.Lock()
	v.syncedAt = time.Now().Add(-v.staleAfter)
	v.mu.Unlock()
	if got, gen := v.get(a.TokenHash); got != nil || gen != -1 {
		t.Fatal("a stale view answered from its cache")
	}
}

// A feed that restarts its Seqs (Redis without persistence) makes the view
// flush and follow the new feed, never sit past its newest Seq.
func TestViewFollowsAResetFeed(t *testing.T) {
	ctx := context.Background()
	store := newFeed()
	for range 5 {
		store.revoke("old")
	}
	v := newView(store, slog.New(slog.DiscardHandler), 100, time.Second, time.Hour)
	if err := v.sync(ctx); err != nil {
		t.Fatal(err)
	}
	a := testSession("a")
	v.put(a, v.generation())
	// The store restarts empty and numbers from 1 again; a is revoked there.
	store.changes, store.next = nil, 1
	store.revoke(a.ID)
	if err := v.sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := v.get(a.TokenHash); got != nil {
		t.Fatal("after a feed reset the view still trusts its cache")
	}
	if !v.denied(a.ID) {
		t.Fatal("the revocation in the new feed was not applied")
	}
	store.revoke("b")
	if err := v.sync(ctx); err != nil {
		t.Fatal(err)
	}
	if !v.denied("b") {
		t.Fatal("the view does not follow the new feed")
	}
}

// A store read that finds a session whose revocation the view has already
// applied (the record is deleted after the feed entry) is not cached.
func TestViewRefusesRevokedRead(t *testing.T) {
	ctx := context.Background()
	store := newFeed()
	v := newView(store, slog.New(slog.DiscardHandler), 100, time.Second, time.Hour)
	if err := v.sync(ctx); err != nil {
		t.Fatal(err)
	}
	a := testSession("a")
	store.revoke(a.ID) // the feed entry first...
	if err := v.sync(ctx); err != nil {
		t.Fatal(err)
	}
	v.put(a.Clone(), v.generation()) // ...a read before the record is deleted
	if got, _ := v.get(a.TokenHash); got != nil {
		t.Fatal("a revoked session was cached")
	}
}

// SEC-65: a notification is applied on receipt, before any feed read: the
// sessions it names leave the view (revoked ones onto the denylist), and a
// store read that started before an announced update is not cached.
func TestViewAppliesNotificationOnReceipt(t *testing.T) {
	ctx := context.Background()
	store := newFeed()
	v := newView(store, slog.New(slog.DiscardHandler), 100, time.Hour, time.Hour)
	if err := v.sync(ctx); err != nil {
		t.Fatal(err)
	}
	a, b := testSession("a"), testSession("b")
	gen := v.generation()
	v.put(a, gen)
	v.put(b, gen)
	v.notified(Notification{Revoked: []string{"a"}, Updated: []string{"b"}}.Encode()[0])
	if got, _ := v.get(a.TokenHash); got != nil {
		t.Fatal("a revoked session is still in the view after its notification")
	}
	if got, _ := v.getID("a"); got != nil {
		t.Fatal("a revoked session is still in the view by ID after its notification")
	}
	if !v.denied("a") {
		t.Fatal("the notified revocation is not on the denylist")
	}
	if got, _ := v.get(b.TokenHash); got != nil {
		t.Fatal("an updated session's old record is still in the view")
	}
	v.put(b, gen) // a read that started before the update
	if got, _ := v.getID("b"); got != nil {
		t.Fatal("a read older than the announced update was cached")
	}
	if _, trusted := v.get(a.TokenHash); trusted < 0 {
		t.Fatal("a readable notification made the view untrusted")
	}
}
