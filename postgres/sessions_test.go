package postgres_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// Times read back to the nanosecond, also at the ends of the range.
func TestNanosecondRoundTrip(t *testing.T) {
	db := openTest(t)
	s := newSession("u1")
	s.PrevTokenHash, s.PrevValidUntil = randHash(), base.Add(time.Nanosecond)
	s.ExpiresAt = time.Unix(0, 1<<62).UTC()
	s.Device = sesame.Device{} // empty, not NULL
	must(t, "Create", db.Create(ctx, s))
	got, err := db.ByToken(ctx, s.PrevTokenHash)
	must(t, "ByToken(previous)", err)
	for _, p := range []struct {
		name      string
		got, want time.Time
	}{
		{"CreatedAt", got.CreatedAt, s.CreatedAt}, {"PrevValidUntil", got.PrevValidUntil, s.PrevValidUntil},
		{"ExpiresAt", got.ExpiresAt, s.ExpiresAt}, {"AuthTime", got.AuthTime, s.AuthTime},
	} {
		if !p.got.Equal(p.want) {
			t.Errorf("%s: got %v, want %v", p.name, p.got, p.want)
		}
	}
	if got.Device != s.Device {
		t.Errorf("Device: got %+v, want %+v", got.Device, s.Device)
	}
	u := &sesame.User{ID: "u1", Username: "alice", PasswordHash: "x", CreatedAt: base, UpdatedAt: base.Add(time.Nanosecond)}
	must(t, "CreateUser", db.CreateUser(ctx, u))
	gotU, err := db.UserByID(ctx, "u1")
	must(t, "UserByID", err)
	if !gotU.CreatedAt.Equal(u.CreatedAt) || !gotU.UpdatedAt.Equal(u.UpdatedAt) {
		t.Fatalf("user times: got %v %v, want %v %v", gotU.CreatedAt, gotU.UpdatedAt, u.CreatedAt, u.UpdatedAt)
	}
}

// A deadline past the int64 range is clamped by the generated column,
// never an error.
func TestDeadlineOverflow(t *testing.T) {
	db := openTest(t)
	s := newSession("u1")
	s.LastSeen, s.IdleTimeout = time.Unix(0, 1<<62), time.Duration(1<<62)
	s.ExpiresAt = time.Unix(0, 1<<62+5)
	must(t, "Create", db.Create(ctx, s))
	n, err := db.DeleteExpired(ctx, base, time.Hour, 10)
	must(t, "DeleteExpired", err)
	if n != 0 {
		t.Fatalf("DeleteExpired: got %d, want 0", n)
	}
}

// Text PostgreSQL cannot store: lookups find nothing (no error, which would
// read as an outage), writes are invalid input; bytea fields keep any bytes.
func TestUnstorableText(t *testing.T) {
	db := openTest(t)
	for _, bad := range []string{"\xff", "a\x00b"} {
		if _, err := db.ByID(ctx, bad); !errors.Is(err, sesame.ErrNotFound) {
			t.Errorf("ByID(%q): got %v, want ErrNotFound", bad, err)
		}
		if _, err := db.UserByName(ctx, bad); !errors.Is(err, sesame.ErrNotFound) {
			t.Errorf("UserByName(%q): got %v, want ErrNotFound", bad, err)
		}
		if deleted, err := db.Delete(ctx, bad); err != nil || deleted {
			t.Errorf("Delete(%q): got %v, %v, want false, nil", bad, deleted, err)
		}
		if ids, err := db.DeleteByUser(ctx, bad, bad); err != nil || len(ids) != 0 {
			t.Errorf("DeleteByUser(%q): got %v, %v, want none, nil", bad, ids, err)
		}
		if st, err := db.Get(ctx, base, bad, "ok"); err != nil || st[0] != (guard.State{}) {
			t.Errorf("Get(%q): got %v, %v, want the zero state", bad, st, err)
		}
		u := &sesame.User{ID: randHex(8), Username: bad, CreatedAt: base, UpdatedAt: base}
		if err := db.CreateUser(ctx, u); sesame.ErrorCode(err) != sesame.EInvalid {
			t.Errorf("CreateUser(%q): got %v, want code %q", bad, err, sesame.EInvalid)
		}
	}
	// A User-Agent cut at 256 bytes may end inside a UTF-8 sequence.
	s := newSession("u1")
	s.Device = sesame.Device{UserAgent: "Mozilla \xc3", IP: "\x00"}
	must(t, "Create", db.Create(ctx, s))
	got, err := db.ByID(ctx, s.ID)
	must(t, "ByID", err)
	if got.Device != s.Device {
		t.Fatalf("Device: got %q, want %q", got.Device, s.Device)
	}
}

// Writers on many connections at once, a reader following the feed with
// its cursor: the reader sees every change exactly once. Without the feed
// lock, a change that draws a lower seq but commits after a higher one
// would be skipped by a cursor that already passed it.
func TestChangeFeedConcurrentWriters(t *testing.T) {
	db := openTest(t)
	const writers, perWriter = 8, 40
	want := make(map[string]bool)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWriter {
				s := newSession("u")
				if err := db.Create(ctx, s); err != nil {
					t.Error(err)
					return
				}
				if err := db.Update(ctx, s); err != nil {
					t.Error(err)
					return
				}
				if _, err := db.Delete(ctx, s.ID); err != nil {
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
	var cursor int64
	read := func() int {
		changes, oldest, err := db.Changes(ctx, cursor, 50)
		must(t, "Changes", err)
		if cursor < oldest-1 {
			t.Fatalf("cursor %d fell behind oldest %d: the feed was trimmed under the reader", cursor, oldest)
		}
		for _, c := range changes {
			if c.Seq <= cursor {
				t.Fatalf("change Seq %d after cursor %d: want strictly increasing", c.Seq, cursor)
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
		if !slices.Equal(seen[id], []session.ChangeKind{session.ChangeUpdated, session.ChangeRevoked}) {
			t.Fatalf("changes of session %s: got %v, want [updated revoked]", id, seen[id])
		}
	}
}

// Expired sessions, refresh tokens and feed records go in batches; the
// sessions' tokens go with them.
func TestRunCleanupBatches(t *testing.T) {
	db := openTest(t)
	past := time.Now().Add(-time.Hour)
	var tokens [][32]byte
	for range 25 {
		s := newSession("u")
		s.CreatedAt, s.LastSeen, s.ExpiresAt = past, past, past.Add(time.Minute)
		must(t, "Create", db.Create(ctx, s))
		r := &token.Refresh{Hash: randHash(), FamilyID: randHex(8), SessionID: s.ID, UserID: "u",
			CreatedAt: past, ExpiresAt: time.Now().Add(time.Hour), FamilyExpiresAt: time.Now().Add(time.Hour)}
		must(t, "CreateRefresh", db.CreateRefresh(ctx, r))
		tokens = append(tokens, r.Hash)
	}
	live := newSession("u")
	live.LastSeen, live.ExpiresAt = time.Now(), time.Now().Add(time.Hour)
	must(t, "Create", db.Create(ctx, live))

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go db.RunCleanup(cctx, time.Hour, 10, time.Hour, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := db.ListByUser(ctx, "u")
		must(t, "ListByUser", err)
		if len(list) == 1 && list[0].ID == live.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after cleanup: %d sessions left, want only the live one", len(list))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, h := range tokens {
		if _, err := db.RefreshByHash(ctx, h); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("refresh token of an expired session: got %v, want ErrNotFound", err)
		}
	}
	changes, _, err := db.Changes(ctx, 0, 100)
	must(t, "Changes", err)
	if len(changes) != 25 {
		t.Fatalf("revocations recorded by cleanup: got %d, want 25", len(changes))
	}
}
