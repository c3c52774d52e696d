package mongo_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/mongo"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// The feed is written without transactions (FerretDB has none): writers
// on several handles race for each Seq. A reader that follows the feed
// while they write must see every change exactly once, in Seq order,
// never one below its cursor (which it would skip for good).
func TestChangeFeedConcurrentWriters(t *testing.T) {
	db := newDB(t)
	reader := openDB(t, db, mongo.Options{})
	const writers, perWriter = 5, 10
	want := make(map[string]bool)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range writers {
		w := openDB(t, db, mongo.Options{}) // a handle (a node) of its own
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWriter {
				s := newSession("u")
				if err := w.Create(ctx, s); err != nil {
					t.Error(err)
					return
				}
				if err := w.Update(ctx, s); err != nil {
					t.Error(err)
					return
				}
				if _, err := w.Delete(ctx, s.ID); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				want[s.ID] = true
				mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := make(map[string][]session.ChangeKind)
	_, oldest, err := reader.Changes(ctx, 0, 0)
	must(t, "Changes", err)
	cursor := oldest - 1
	read := func() int {
		changes, oldest, err := reader.Changes(ctx, cursor, 7)
		must(t, "Changes", err)
		if cursor < oldest-1 {
			t.Fatalf("cursor %d fell behind oldest %d", cursor, oldest)
		}
		for _, c := range changes {
			if c.Seq != cursor+1 {
				t.Fatalf("change Seq %d after cursor %d: want the next Seq (the feed has no gaps)", c.Seq, cursor)
			}
			cursor = c.Seq
			seen[c.SessionID] = append(seen[c.SessionID], c.Kind)
		}
		return len(changes)
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		read()
	}
	for read() > 0 {
	}
	if len(seen) != len(want) {
		t.Fatalf("reader saw changes of %d sessions, want %d", len(seen), len(want))
	}
	for id := range want {
		if k := seen[id]; len(k) != 2 || k[0] != session.ChangeUpdated || k[1] != session.ChangeRevoked {
			t.Fatalf("changes of session %s: got %v, want [updated revoked] once each", id, k)
		}
	}
}

// A trimmed feed whose database document was lost begins again past
// every Seq it gave (SEC-64): a reader's cursor then lies in a gap.
func TestChangeFeedLostStartsPastOldSeqs(t *testing.T) {
	s := openTest(t)
	sess := newSession("u")
	must(t, "Create", s.Create(ctx, sess))
	_, err := s.Delete(ctx, sess.ID)
	must(t, "Delete", err)
	changes, _, err := s.Changes(ctx, 0, 10)
	must(t, "Changes", err)
	if len(changes) != 1 {
		t.Fatalf("changes: got %d, want 1", len(changes))
	}
	last := changes[0].Seq
	must(t, "drop the feed", s.Database().Collection("session_changes").Drop(ctx))
	must(t, "drop the meta", s.Database().Collection("meta").Drop(ctx))
	_, oldest, err := s.Changes(ctx, last, 10)
	must(t, "Changes", err)
	if last >= oldest-1 {
		t.Fatalf("after losing the feed: oldest %d, cursor %d: want the cursor in a gap", oldest, last)
	}
}

// SEC-66 inside RedeemRefresh: a process that dies after the
// compare-and-swap (the redemption record) and before inserting the
// successor leaves a state from which the client's retry, which reads the
// redeemed token, finds that very successor.
func TestCrashInsideRedeem(t *testing.T) {
	db := newDB(t)
	dying, clean := openDB(t, db, mongo.Options{}), openDB(t, db, mongo.Options{})
	sess := newSession("u")
	must(t, "Create", clean.Create(ctx, sess))
	r := newRefresh(sess)
	must(t, "CreateRefresh", clean.CreateRefresh(ctx, r))
	next := *r
	next.Hash = randHash()
	crash := errors.New("killed")
	mongo.SetCrashAfter(dying, func(step string) error {
		if step == "redeem:swap" {
			return crash
		}
		return nil
	})
	if err := dying.RedeemRefresh(ctx, r.Hash, base.Add(time.Minute), &next); !errors.Is(err, crash) {
		t.Fatalf("RedeemRefresh: got %v, want the injected crash", err)
	}
	if _, err := clean.RefreshByHash(ctx, next.Hash); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("successor before the retry: got %v, want not found (the crash came before its insert)", err)
	}
	old, err := clean.RefreshByHash(ctx, r.Hash)
	must(t, "RefreshByHash(redeemed)", err)
	if !old.UsedAt.Equal(base.Add(time.Minute)) {
		t.Fatalf("UsedAt: got %v, want the redemption's time", old.UsedAt)
	}
	got, err := clean.RefreshByHash(ctx, next.Hash)
	must(t, "RefreshByHash(successor) after the retry read the redeemed token", err)
	if got.FamilyID != r.FamilyID || got.SessionID != sess.ID {
		t.Fatalf("successor: got family %q session %q", got.FamilyID, got.SessionID)
	}
	// A second redemption still loses.
	again := next
	again.Hash = randHash()
	if err := clean.RedeemRefresh(ctx, r.Hash, base.Add(2*time.Minute), &again); !errors.Is(err, sesame.ErrConflict) {
		t.Fatalf("second redemption: got %v, want ErrConflict", err)
	}
	// Deleting the family leaves nothing from which the successor could
	// come back.
	must(t, "DeleteFamily", clean.DeleteFamily(ctx, r.FamilyID))
	for _, h := range [][32]byte{r.Hash, next.Hash, r.Hash, next.Hash} {
		if _, err := clean.RefreshByHash(ctx, h); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("token after DeleteFamily: got %v, want not found", err)
		}
	}
}

// Touch keeps LastSeen apart from the record, so an Update carrying an
// older LastSeen, and a Touch racing it, change neither each other's
// fields nor the version.
func TestTouchDoesNotUndoUpdate(t *testing.T) {
	s := openTest(t)
	sess := newSession("u")
	must(t, "Create", s.Create(ctx, sess))
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			must(t, "Touch", s.Touch(ctx, sess.ID, base.Add(time.Duration(i+1)*time.Second)))
		}()
		go func() {
			defer wg.Done()
			sess.TokenHash = randHash()
			must(t, "Update", s.Update(ctx, sess))
		}()
		wg.Wait()
		got, err := s.ByID(ctx, sess.ID)
		must(t, "ByID", err)
		if got.TokenHash != sess.TokenHash || got.Version != sess.Version {
			t.Fatalf("round %d: the record lost an Update (version %d, want %d)", i, got.Version, sess.Version)
		}
	}
}

func newRefresh(sess *sesame.Session) *token.Refresh {
	return &token.Refresh{Hash: randHash(), FamilyID: randHex(8), SessionID: sess.ID, UserID: sess.UserID, ClientID: "app",
		CreatedAt: base, ExpiresAt: base.Add(time.Hour), FamilyExpiresAt: base.Add(24 * time.Hour)}
}
