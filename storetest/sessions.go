package storetest

import (
	"bytes"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
)

// base is a fixed instant with microsecond precision, the finest that
// every supported store keeps.
var base = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

func newSession(userID string) *sesame.Session {
	return &sesame.Session{
		ID: randHex(16), UserID: userID, TokenHash: randHash(),
		CreatedAt: base, LastSeen: base, AuthTime: base,
		IdleTimeout: 30 * time.Minute, ExpiresAt: base.Add(12 * time.Hour),
		Device: sesame.Device{UserAgent: "Mozilla/5.0 (storetest) ü", IP: "192.0.2.7"},
	}
}

func create(t *testing.T, s session.Store, sess *sesame.Session) *sesame.Session {
	t.Helper()
	must(t, "Create", s.Create(ctx(), sess))
	return sess
}

// equal compares two sessions field by field, treating nil and empty Data
// alike and times by instant.
func equal(t *testing.T, got, want *sesame.Session) {
	t.Helper()
	g, w := *got, *want
	for _, p := range []struct {
		name string
		a, b time.Time
	}{
		{"CreatedAt", g.CreatedAt, w.CreatedAt}, {"LastSeen", g.LastSeen, w.LastSeen},
		{"ExpiresAt", g.ExpiresAt, w.ExpiresAt}, {"AuthTime", g.AuthTime, w.AuthTime},
		{"PrevValidUntil", g.PrevValidUntil, w.PrevValidUntil}, {"FactorTime", g.FactorTime, w.FactorTime},
	} {
		if !p.a.Equal(p.b) {
			t.Errorf("%s: got %v, want %v", p.name, p.a, p.b)
		}
	}
	g.CreatedAt, g.LastSeen, g.ExpiresAt, g.AuthTime, g.PrevValidUntil = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	w.CreatedAt, w.LastSeen, w.ExpiresAt, w.AuthTime, w.PrevValidUntil = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	g.FactorTime, w.FactorTime = time.Time{}, time.Time{}
	if len(g.Data) == 0 && len(w.Data) == 0 {
		g.Data, w.Data = nil, nil
	}
	if len(g.AMR) == 0 && len(w.AMR) == 0 {
		g.AMR, w.AMR = nil, nil
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("session: got %+v, want %+v", g, w)
	}
}

func testCreateAndRead(t *testing.T, s session.Store) {
	want := newSession("u1")
	want.Remember = true
	want.Data = map[string][]byte{"theme": []byte(`"dark"`)}
	create(t, s, want)
	got, err := s.ByID(ctx(), want.ID)
	must(t, "ByID", err)
	equal(t, got, want)
	got, err = s.ByToken(ctx(), want.TokenHash)
	must(t, "ByToken", err)
	equal(t, got, want)
	// The store hands out copies: changing one must not change the store.
	got.Data["theme"] = []byte(`"light"`)
	got.UserID = "mallory"
	again, err := s.ByID(ctx(), want.ID)
	must(t, "ByID again", err)
	equal(t, again, want)
}

func testNotFound(t *testing.T, s session.Store) {
	_, err := s.ByID(ctx(), "no-such-id")
	wantNotFound(t, "ByID", err)
	_, err = s.ByToken(ctx(), randHash())
	wantNotFound(t, "ByToken", err)
	sess := newSession("u1")
	wantNotFound(t, "Update", s.Update(ctx(), sess))
	must(t, "Touch of a missing session", s.Touch(ctx(), "no-such-id", base))
	// A zero hash must never match a session without a previous token.
	create(t, s, newSession("u1"))
	_, err = s.ByToken(ctx(), [32]byte{})
	wantNotFound(t, "ByToken(zero hash)", err)
}

func testDuplicateCreate(t *testing.T, s session.Store) {
	a := create(t, s, newSession("u1"))
	dupID := newSession("u1")
	dupID.ID = a.ID
	if err := s.Create(ctx(), dupID); err == nil {
		t.Fatal("Create with a duplicate ID: got nil error, want an error")
	}
	dupHash := newSession("u1")
	dupHash.TokenHash = a.TokenHash
	if err := s.Create(ctx(), dupHash); err == nil {
		t.Fatal("Create with a duplicate token hash: got nil error, want an error")
	}
	got, err := s.ByToken(ctx(), a.TokenHash)
	must(t, "ByToken", err)
	if got.ID != a.ID {
		t.Fatalf("ByToken after rejected duplicate: got ID %q, want %q", got.ID, a.ID)
	}
}

func testPreviousTokenHash(t *testing.T, s session.Store) {
	sess := create(t, s, newSession("u1"))
	old := sess.TokenHash
	sess.PrevTokenHash, sess.PrevValidUntil = old, base.Add(10*time.Second)
	sess.TokenHash = randHash()
	must(t, "Update (renew)", s.Update(ctx(), sess))
	for name, h := range map[string][32]byte{"new": sess.TokenHash, "previous": old} {
		got, err := s.ByToken(ctx(), h)
		must(t, "ByToken("+name+")", err)
		if got.ID != sess.ID {
			t.Fatalf("ByToken(%s): got ID %q, want %q", name, got.ID, sess.ID)
		}
	}
	// A second renewal drops the first token entirely.
	sess.PrevTokenHash, sess.TokenHash = sess.TokenHash, randHash()
	must(t, "Update (second renew)", s.Update(ctx(), sess))
	_, err := s.ByToken(ctx(), old)
	wantNotFound(t, "ByToken(token from two renewals ago)", err)
}

func testUpdateVersionCheck(t *testing.T, s session.Store) {
	sess := create(t, s, newSession("u1"))
	stale := sess.Clone()
	sess.Data = map[string][]byte{"a": []byte("1")}
	must(t, "Update", s.Update(ctx(), sess))
	if sess.Version != 1 {
		t.Fatalf("Version after Update: got %d, want 1", sess.Version)
	}
	stale.Data = map[string][]byte{"b": []byte("2")}
	if err := s.Update(ctx(), stale); !errors.Is(err, sesame.ErrConflict) {
		t.Fatalf("Update with a stale version: got %v, want sesame.ErrConflict", err)
	}
	got, err := s.ByID(ctx(), sess.ID)
	must(t, "ByID", err)
	if got.Version != 1 || string(got.Data["a"]) != "1" || got.Data["b"] != nil {
		t.Fatalf("after a lost race: got version %d data %q, want version 1 data {a:1}", got.Version, got.Data)
	}
	// UserID and CreatedAt never change.
	sess.UserID, sess.CreatedAt = "mallory", base.Add(time.Hour)
	must(t, "Update", s.Update(ctx(), sess))
	got, err = s.ByID(ctx(), sess.ID)
	must(t, "ByID", err)
	if got.UserID != "u1" || !got.CreatedAt.Equal(base) {
		t.Fatalf("Update changed immutable fields: got user %q created %v, want u1 %v", got.UserID, got.CreatedAt, base)
	}
}

func testUpdateKeepsLaterLastSeen(t *testing.T, s session.Store) {
	sess := create(t, s, newSession("u1"))
	later := base.Add(5 * time.Minute)
	must(t, "Touch", s.Touch(ctx(), sess.ID, later))
	sess.Data = map[string][]byte{"k": []byte("1")} // sess.LastSeen is still base
	must(t, "Update", s.Update(ctx(), sess))
	got, err := s.ByID(ctx(), sess.ID)
	must(t, "ByID", err)
	if !got.LastSeen.Equal(later) {
		t.Fatalf("LastSeen after an Update carrying an older value: got %v, want %v", got.LastSeen, later)
	}
}

func testUpdateMovesTokenIndex(t *testing.T, s session.Store) {
	sess := create(t, s, newSession("u1"))
	old := sess.TokenHash
	sess.TokenHash = randHash() // renewal without grace
	must(t, "Update", s.Update(ctx(), sess))
	_, err := s.ByToken(ctx(), old)
	wantNotFound(t, "ByToken(replaced token)", err)
	if _, err := s.ByToken(ctx(), sess.TokenHash); err != nil {
		t.Fatalf("ByToken(new token): %v", err)
	}
}

func testConcurrentUpdates(t *testing.T, s session.Store) {
	sess := create(t, s, newSession("u1"))
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := sess.Clone()
			c.Data = map[string][]byte{"writer": {byte('a' + i)}}
			err := s.Update(ctx(), c)
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, sesame.ErrConflict) {
				t.Errorf("concurrent Update: got %v, want nil or ErrConflict", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent updates of version 0: got %d successes, want exactly 1", n, wins)
	}
}

func testTouch(t *testing.T, s session.Store) {
	sess := create(t, s, newSession("u1"))
	later := base.Add(2 * time.Minute)
	must(t, "Touch", s.Touch(ctx(), sess.ID, later))
	must(t, "Touch (older)", s.Touch(ctx(), sess.ID, base.Add(time.Minute)))
	got, err := s.ByID(ctx(), sess.ID)
	must(t, "ByID", err)
	if !got.LastSeen.Equal(later) {
		t.Fatalf("LastSeen: got %v, want %v (Touch never moves it back)", got.LastSeen, later)
	}
	if got.Version != 0 {
		t.Fatalf("Version after Touch: got %d, want 0", got.Version)
	}
}

func testDelete(t *testing.T, s session.Store) {
	sess := create(t, s, newSession("u1"))
	deleted, err := s.Delete(ctx(), sess.ID)
	must(t, "Delete", err)
	if !deleted {
		t.Fatal("Delete of an existing session: got deleted=false, want true")
	}
	deleted, err = s.Delete(ctx(), sess.ID)
	must(t, "Delete again", err)
	if deleted {
		t.Fatal("second Delete: got deleted=true, want false")
	}
	_, err = s.ByToken(ctx(), sess.TokenHash)
	wantNotFound(t, "ByToken after Delete", err)
	_, err = s.ByID(ctx(), sess.ID)
	wantNotFound(t, "ByID after Delete", err)
}

func testListByUser(t *testing.T, s session.Store) {
	var want []string
	for i := range 3 {
		sess := newSession("alice")
		sess.CreatedAt = base.Add(time.Duration(2-i) * time.Minute) // created in reverse order
		create(t, s, sess)
		want = append([]string{sess.ID}, want...)
	}
	create(t, s, newSession("bob"))
	got, err := s.ListByUser(ctx(), "alice")
	must(t, "ListByUser", err)
	var ids []string
	for _, g := range got {
		ids = append(ids, g.ID)
		if g.UserID != "alice" {
			t.Fatalf("ListByUser(alice) returned a session of %q", g.UserID)
		}
	}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("ListByUser order: got %v, want %v (oldest first)", ids, want)
	}
	none, err := s.ListByUser(ctx(), "nobody")
	must(t, "ListByUser(nobody)", err)
	if len(none) != 0 {
		t.Fatalf("ListByUser(nobody): got %d sessions, want 0", len(none))
	}
}

func testDeleteByUser(t *testing.T, s session.Store) {
	keep := create(t, s, newSession("alice"))
	a2 := create(t, s, newSession("alice"))
	a3 := create(t, s, newSession("alice"))
	bob := create(t, s, newSession("bob"))
	ids, err := s.DeleteByUser(ctx(), "alice", keep.ID)
	must(t, "DeleteByUser(except)", err)
	if len(ids) != 2 || !contains(ids, a2.ID) || !contains(ids, a3.ID) {
		t.Fatalf("DeleteByUser(except) IDs: got %v, want %s and %s", ids, a2.ID, a3.ID)
	}
	if _, err := s.ByToken(ctx(), keep.TokenHash); err != nil {
		t.Fatalf("the excepted session: %v", err)
	}
	if _, err := s.ByToken(ctx(), bob.TokenHash); err != nil {
		t.Fatalf("another user's session: %v", err)
	}
	ids, err = s.DeleteByUser(ctx(), "alice", "")
	must(t, "DeleteByUser(all)", err)
	if len(ids) != 1 || ids[0] != keep.ID {
		t.Fatalf("DeleteByUser(all) IDs: got %v, want [%s]", ids, keep.ID)
	}
	ids, err = s.DeleteByUser(ctx(), "alice", "")
	must(t, "DeleteByUser(none left)", err)
	if len(ids) != 0 {
		t.Fatalf("DeleteByUser with nothing left: got %v, want none", ids)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func testChangeFeed(t *testing.T, s session.Store) {
	changes, oldest, err := s.Changes(ctx(), 0, 100)
	must(t, "Changes", err)
	if len(changes) == 0 && oldest < 1 {
		t.Fatalf("oldest of an empty feed: got %d, want the next Seq (at least 1)", oldest)
	}
	start := int64(0)
	if n := len(changes); n > 0 {
		start = changes[n-1].Seq
	}
	a := create(t, s, newSession("alice"))
	b := create(t, s, newSession("alice"))
	a.Data = map[string][]byte{"x": []byte("1")}
	must(t, "Update", s.Update(ctx(), a))
	must(t, "Touch", s.Touch(ctx(), a.ID, base.Add(time.Minute))) // not a change
	_, err = s.Delete(ctx(), b.ID)
	must(t, "Delete", err)
	_, err = s.DeleteByUser(ctx(), "alice", "")
	must(t, "DeleteByUser", err)

	changes, oldest, err = s.Changes(ctx(), start, 100)
	must(t, "Changes", err)
	type kv struct {
		kind session.ChangeKind
		id   string
	}
	var got []kv
	last := start
	for _, c := range changes {
		if c.Seq <= last {
			t.Fatalf("change Seq %d after %d: want strictly increasing", c.Seq, last)
		}
		last = c.Seq
		if c.UserID != "alice" {
			t.Fatalf("change UserID: got %q, want alice", c.UserID)
		}
		got = append(got, kv{c.Kind, c.SessionID})
	}
	want := []kv{{session.ChangeUpdated, a.ID}, {session.ChangeRevoked, b.ID}, {session.ChangeRevoked, a.ID}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("changes: got %v, want %v", got, want)
	}
	if oldest < 1 || oldest > changes[0].Seq {
		t.Fatalf("oldest: got %d, want between 1 and %d", oldest, changes[0].Seq)
	}
	more, _, err := s.Changes(ctx(), last, 100)
	must(t, "Changes after the last", err)
	if len(more) != 0 {
		t.Fatalf("Changes after the last Seq: got %d, want 0", len(more))
	}
}

func testChangeFeedPaging(t *testing.T, s session.Store) {
	for range 5 {
		sess := create(t, s, newSession("carol"))
		_, err := s.Delete(ctx(), sess.ID)
		must(t, "Delete", err)
	}
	all, _, err := s.Changes(ctx(), 0, 1000)
	must(t, "Changes", err)
	if len(all) < 5 {
		t.Fatalf("Changes: got %d, want at least 5", len(all))
	}
	var paged []session.Change
	after := int64(0)
	for {
		page, _, err := s.Changes(ctx(), after, 2)
		must(t, "Changes page", err)
		if len(page) > 2 {
			t.Fatalf("Changes with limit 2: got %d", len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].Seq
	}
	if len(paged) != len(all) {
		t.Fatalf("paged changes: got %d, want %d", len(paged), len(all))
	}
}

func testDataRoundTrip(t *testing.T, s session.Store) {
	sess := newSession("u1")
	sess.Data = map[string][]byte{
		"json":   []byte(`{"a":[1,2,3],"b":"ü\u0000"}`),
		"binary": {0, 1, 2, 0xff, 0xfe},
		"empty":  {},
	}
	create(t, s, sess)
	got, err := s.ByID(ctx(), sess.ID)
	must(t, "ByID", err)
	for k, v := range sess.Data {
		if !bytes.Equal(got.Data[k], v) {
			t.Fatalf("Data[%q]: got %q, want %q", k, got.Data[k], v)
		}
	}
	if len(got.Data) != len(sess.Data) {
		t.Fatalf("Data: got %d keys, want %d", len(got.Data), len(sess.Data))
	}
}

func testCleaner(t *testing.T, s session.Store) {
	c, ok := s.(session.Cleaner)
	if !ok {
		t.Skip("store does not implement session.Cleaner")
	}
	now := base.Add(time.Hour)
	idle := newSession("u1") // LastSeen base + 30 min idle: expired at now
	abs := newSession("u1")
	abs.IdleTimeout, abs.ExpiresAt = 48*time.Hour, now // absolute deadline exactly now: expired
	live := newSession("u1")
	live.LastSeen = now.Add(-time.Minute)
	for _, x := range []*sesame.Session{idle, abs, live} {
		create(t, s, x)
	}
	n, err := c.DeleteExpired(ctx(), now, time.Hour, 1)
	must(t, "DeleteExpired(limit 1)", err)
	if n != 1 {
		t.Fatalf("DeleteExpired with limit 1: got %d, want 1", n)
	}
	n, err = c.DeleteExpired(ctx(), now, time.Hour, 100)
	must(t, "DeleteExpired", err)
	if n != 1 {
		t.Fatalf("second DeleteExpired: got %d, want 1", n)
	}
	for _, x := range []*sesame.Session{idle, abs} {
		_, err := s.ByID(ctx(), x.ID)
		wantNotFound(t, "expired session after DeleteExpired", err)
	}
	if _, err := s.ByID(ctx(), live.ID); err != nil {
		t.Fatalf("live session after DeleteExpired: %v", err)
	}
	// Expiry removals are revocations in the feed; old change records go.
	changes, _, err := s.Changes(ctx(), 0, 100)
	must(t, "Changes", err)
	if len(changes) < 2 {
		t.Fatalf("changes after expiry cleanup: got %d, want at least 2", len(changes))
	}
	_, err = c.DeleteExpired(ctx(), time.Now().Add(2*time.Hour), time.Hour, 100)
	must(t, "DeleteExpired (trim feed)", err)
	last := changes[len(changes)-1].Seq
	changes, oldest, err := s.Changes(ctx(), 0, 100)
	must(t, "Changes", err)
	if len(changes) != 0 {
		t.Fatalf("changes older than keepChanges: got %d left, want 0", len(changes))
	}
	// A trimmed-empty feed still tells a reader that it missed changes:
	// oldest is the next Seq, past every Seq handed out.
	if oldest <= last {
		t.Fatalf("oldest of a trimmed-empty feed: got %d, want more than the last Seq seen, %d", oldest, last)
	}
	sess := create(t, s, newSession("u9"))
	_, err = s.Delete(ctx(), sess.ID)
	must(t, "Delete", err)
	changes, _, err = s.Changes(ctx(), 0, 100)
	must(t, "Changes", err)
	if len(changes) != 1 || changes[0].Seq != oldest {
		t.Fatalf("first change after a trim: got %v, want Seq %d (the announced next Seq; Seqs are never reused)", changes, oldest)
	}
}
