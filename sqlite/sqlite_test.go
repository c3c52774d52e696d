package sqlite_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/sqlite"
)

var ctx = context.Background()

// base has nanosecond precision: SQLite keeps every digit.
var base = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

func randHash() [32]byte {
	var h [32]byte
	rand.Read(h[:])
	return h
}

func newSession(userID string) *sesame.Session {
	id := make([]byte, 16)
	rand.Read(id)
	return &sesame.Session{
		ID: hex.EncodeToString(id), UserID: userID, TokenHash: randHash(),
		CreatedAt: base, LastSeen: base, AuthTime: base,
		IdleTimeout: 30 * time.Minute, ExpiresAt: base.Add(12 * time.Hour),
		Device: sesame.Device{UserAgent: "test", IP: "192.0.2.1"},
	}
}

func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestOpenRefusesNonFile(t *testing.T) {
	for _, path := range []string{"", ":memory:"} {
		t.Run(fmt.Sprintf("%q", path), func(t *testing.T) {
			db, err := sqlite.Open(ctx, path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q): got nil error, want one", path)
			}
			if !strings.HasPrefix(err.Error(), "sqlite: ") {
				t.Fatalf("error %q: want the prefix %q", err, "sqlite: ")
			}
		})
	}
}

// TestOpenPathIsNotAURI: characters that mean something in a URI are part
// of the file name.
func TestOpenPathIsNotAURI(t *testing.T) {
	for _, name := range []string{"a?mode=ro.db", "b#frag.db", "c%41.db", "d e.db"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			db, err := sqlite.Open(ctx, path)
			must(t, "Open", err)
			must(t, "Create", db.Create(ctx, newSession("u")))
			must(t, "Close", db.Close())
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("database file: got %v, want %s to exist", err, path)
			}
		})
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	var versions []int
	for i := range 3 {
		db, err := sqlite.Open(ctx, path)
		must(t, fmt.Sprintf("Open #%d", i+1), err)
		var n, v int
		must(t, "count", db.SQL().QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &v))
		if n != v {
			t.Fatalf("schema_migrations: got %d rows up to version %d, want one row per version", n, v)
		}
		versions = append(versions, v)
		must(t, "Close", db.Close())
	}
	if versions[0] < 1 || versions[1] != versions[0] || versions[2] != versions[0] {
		t.Fatalf("schema version on each open: got %v, want the same positive version", versions)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	db, err := sqlite.Open(ctx, path)
	must(t, "Open", err)
	_, err = db.SQL().Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`)
	must(t, "plant a future version", err)
	must(t, "Close", db.Close())

	db, err = sqlite.Open(ctx, path)
	if err == nil {
		db.Close()
		t.Fatal("Open of a database from a newer version: got nil error, want one")
	}
	if !strings.Contains(err.Error(), "newer") || !strings.Contains(err.Error(), "9999") {
		t.Fatalf("error: got %q, want it to say the schema (9999) is newer", err)
	}
}

// TestReopenKeepsData: what was acknowledged before Close is there after.
func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	db, err := sqlite.Open(ctx, path)
	must(t, "Open", err)
	u := &sesame.User{ID: "u1", Username: "alice", PasswordHash: "$argon2id$x", Admin: true, CreatedAt: base, UpdatedAt: base}
	must(t, "CreateUser", db.CreateUser(ctx, u))
	kept := newSession("u1")
	kept.Data = map[string][]byte{"k": []byte("v")}
	must(t, "Create", db.Create(ctx, kept))
	must(t, "Update", db.Update(ctx, kept))
	gone := newSession("u1")
	must(t, "Create", db.Create(ctx, gone))
	_, err = db.Delete(ctx, gone.ID)
	must(t, "Delete", err)
	changes, _, err := db.Changes(ctx, 0, 100)
	must(t, "Changes", err)
	must(t, "Close", db.Close())

	db, err = sqlite.Open(ctx, path)
	must(t, "reopen", err)
	defer db.Close()
	gotU, err := db.UserByName(ctx, "alice")
	must(t, "UserByName", err)
	if gotU.ID != u.ID || !gotU.Admin || !gotU.CreatedAt.Equal(base) {
		t.Fatalf("user after reopen: got %+v, want %+v", gotU, u)
	}
	got, err := db.ByToken(ctx, kept.TokenHash)
	must(t, "ByToken", err)
	if got.Version != 1 || string(got.Data["k"]) != "v" || !got.LastSeen.Equal(base) {
		t.Fatalf("session after reopen: got version %d data %q last seen %v, want 1, {k:v}, %v", got.Version, got.Data, got.LastSeen, base)
	}
	if _, err := db.ByID(ctx, gone.ID); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("deleted session after reopen: got %v, want ErrNotFound", err)
	}
	again, _, err := db.Changes(ctx, 0, 100)
	must(t, "Changes", err)
	if len(again) != len(changes) || len(again) != 2 {
		t.Fatalf("change feed after reopen: got %d records, want 2 (as before: %d)", len(again), len(changes))
	}
}

// TestSeqNeverReused: after the whole feed is trimmed, new changes still
// get higher sequence numbers, so a reader's cursor stays meaningful.
func TestSeqNeverReused(t *testing.T) {
	db := openTemp(t)
	revoke := func() int64 {
		s := newSession("u")
		must(t, "Create", db.Create(ctx, s))
		_, err := db.Delete(ctx, s.ID)
		must(t, "Delete", err)
		c, _, err := db.Changes(ctx, 0, 100)
		must(t, "Changes", err)
		return c[len(c)-1].Seq
	}
	first := revoke()
	_, err := db.DeleteExpired(ctx, time.Now().Add(time.Hour), 0, 0)
	must(t, "DeleteExpired (trim the feed)", err)
	c, oldest, err := db.Changes(ctx, 0, 100)
	must(t, "Changes", err)
	if len(c) != 0 || oldest != first+1 {
		t.Fatalf("trimmed feed: got %d changes, oldest %d; want 0 and the next seq %d", len(c), oldest, first+1)
	}
	if second := revoke(); second != first+1 {
		t.Fatalf("seq after trimming: got %d, want %d (never reused)", second, first+1)
	}
}

// TestDeleteOutsideStoreIsRecorded: the feed is written by a trigger, so a
// session deleted by hand (an operator in the sqlite3 shell) is still a
// revocation other processes hear about.
func TestDeleteOutsideStoreIsRecorded(t *testing.T) {
	db := openTemp(t)
	s := newSession("u")
	must(t, "Create", db.Create(ctx, s))
	_, err := db.SQL().Exec(`DELETE FROM sessions WHERE user_id = 'u'`)
	must(t, "DELETE", err)
	c, _, err := db.Changes(ctx, 0, 100)
	must(t, "Changes", err)
	if len(c) != 1 || c[0].Kind != session.ChangeRevoked || c[0].SessionID != s.ID || c[0].UserID != "u" {
		t.Fatalf("changes: got %+v, want one revocation of %s", c, s.ID)
	}
	if d := time.Since(c[0].Time); d < -time.Minute || d > time.Minute {
		t.Fatalf("change time: got %v, want about now (wall clock)", c[0].Time)
	}
}

func TestZeroPrevHashNeverMatches(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, db *sqlite.DB) *sesame.Session
	}{
		{"never renewed", func(t *testing.T, db *sqlite.DB) *sesame.Session {
			s := newSession("u")
			must(t, "Create", db.Create(ctx, s))
			return s
		}},
		{"renewal grace cleared by Update", func(t *testing.T, db *sqlite.DB) *sesame.Session {
			s := newSession("u")
			must(t, "Create", db.Create(ctx, s))
			s.PrevTokenHash, s.TokenHash = s.TokenHash, randHash()
			must(t, "Update (renew)", db.Update(ctx, s))
			s.PrevTokenHash, s.PrevValidUntil = [32]byte{}, time.Time{}
			must(t, "Update (grace over)", db.Update(ctx, s))
			return s
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openTemp(t)
			s := tc.setup(t, db)
			if _, err := db.ByToken(ctx, [32]byte{}); !errors.Is(err, sesame.ErrNotFound) {
				t.Fatalf("ByToken(zero hash): got %v, want ErrNotFound", err)
			}
			var nulls int
			must(t, "count NULLs", db.SQL().QueryRow(`SELECT count(*) FROM sessions WHERE id = ? AND prev_token_hash IS NULL`, s.ID).Scan(&nulls))
			if nulls != 1 {
				t.Fatal("prev_token_hash: got a stored value, want NULL for the zero hash")
			}
			got, err := db.ByID(ctx, s.ID)
			must(t, "ByID", err)
			if got.PrevTokenHash != ([32]byte{}) || !got.PrevValidUntil.IsZero() {
				t.Fatalf("PrevTokenHash/PrevValidUntil: got %x/%v, want zero", got.PrevTokenHash, got.PrevValidUntil)
			}
		})
	}
}

// TestTimesRoundTrip: instants keep every nanosecond; the zero time stays
// zero; instants outside 1678..2262 are clamped.
func TestTimesRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		in, want time.Time
	}{
		{"nanoseconds", base, base},
		{"other zone", base.In(time.FixedZone("X", 3600)), base},
		{"zero", time.Time{}, time.Time{}},
		{"epoch", time.Unix(0, 0), time.Unix(0, 0)},
		{"before 1678", time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}},
		{"after 2262", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, math.MaxInt64)},
	}
	db := openTemp(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession("u")
			s.AuthTime, s.PrevValidUntil = tc.in, tc.in
			must(t, "Create", db.Create(ctx, s))
			got, err := db.ByID(ctx, s.ID)
			must(t, "ByID", err)
			for name, g := range map[string]time.Time{"AuthTime": got.AuthTime, "PrevValidUntil": got.PrevValidUntil} {
				if !g.Equal(tc.want) || g.IsZero() != tc.want.IsZero() {
					t.Errorf("%s: got %v, want %v", name, g, tc.want)
				}
				if g.Location() != time.UTC {
					t.Errorf("%s location: got %v, want UTC", name, g.Location())
				}
			}
		})
	}
}

// TestDeadlineBoundaries: DeleteExpired removes a session at its deadline
// (the earlier of LastSeen+IdleTimeout and ExpiresAt) and not a nanosecond
// before, including where that sum overflows int64 nanoseconds.
func TestDeadlineBoundaries(t *testing.T) {
	tests := []struct {
		name     string
		idle     time.Duration
		expires  time.Time
		touch    time.Time // zero: no Touch
		deadline time.Time
	}{
		{"idle first", 30 * time.Minute, base.Add(12 * time.Hour), time.Time{}, base.Add(30 * time.Minute)},
		{"absolute first", 48 * time.Hour, base.Add(12 * time.Hour), time.Time{}, base.Add(12 * time.Hour)},
		{"touch moves idle deadline", 30 * time.Minute, base.Add(12 * time.Hour), base.Add(time.Hour), base.Add(90 * time.Minute)},
		{"touch never passes absolute", 30 * time.Minute, base.Add(12 * time.Hour), base.Add(12 * time.Hour), base.Add(12 * time.Hour)},
		{"huge idle timeout (no overflow)", math.MaxInt64, base.Add(12 * time.Hour), time.Time{}, base.Add(12 * time.Hour)},
		{"negative idle timeout", -time.Minute, base.Add(12 * time.Hour), time.Time{}, base.Add(-time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openTemp(t)
			s := newSession("u")
			s.IdleTimeout, s.ExpiresAt = tc.idle, tc.expires
			must(t, "Create", db.Create(ctx, s))
			if !tc.touch.IsZero() {
				must(t, "Touch", db.Touch(ctx, s.ID, tc.touch))
			}
			n, err := db.DeleteExpired(ctx, tc.deadline.Add(-time.Nanosecond), time.Hour, 10)
			must(t, "DeleteExpired before the deadline", err)
			if n != 0 {
				t.Fatalf("DeleteExpired 1ns before the deadline: got %d removed, want 0", n)
			}
			n, err = db.DeleteExpired(ctx, tc.deadline, time.Hour, 10)
			must(t, "DeleteExpired at the deadline", err)
			if n != 1 {
				t.Fatalf("DeleteExpired at the deadline: got %d removed, want 1", n)
			}
		})
	}
}

// TestConcurrentWriters: many goroutines, on two handles of one file as two
// processes would, write at once; no write fails with SQLITE_BUSY.
func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	var dbs [2]*sqlite.DB
	for i := range dbs {
		db, err := sqlite.Open(ctx, path)
		must(t, "Open", err)
		defer db.Close()
		dbs[i] = db
	}
	const workers, rounds = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := dbs[w%len(dbs)]
			user := fmt.Sprintf("user%d", w)
			for i := range rounds {
				if err := writeRound(db, user, i); err != nil {
					errs <- fmt.Errorf("worker %d round %d: %w", w, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n int
	must(t, "count", dbs[0].SQL().QueryRow(`SELECT count(*) FROM sessions`).Scan(&n))
	if want := workers * rounds * 4 / 5; n != want { // every fifth is deleted
		t.Fatalf("sessions left: got %d, want %d", n, want)
	}
}

// writeRound creates, updates, touches and reads one session, and deletes
// every fifth.
func writeRound(db *sqlite.DB, user string, i int) error {
	s := newSession(user)
	if err := db.Create(ctx, s); err != nil {
		return err
	}
	s.Data = map[string][]byte{"i": {byte(i)}}
	if err := db.Update(ctx, s); err != nil {
		return err
	}
	if err := db.Touch(ctx, s.ID, base.Add(time.Minute)); err != nil {
		return err
	}
	if _, err := db.ByToken(ctx, s.TokenHash); err != nil {
		return err
	}
	if i%5 == 0 {
		if _, err := db.Delete(ctx, s.ID); err != nil {
			return err
		}
	}
	if i%10 == 9 {
		if _, err := db.DeleteByUser(ctx, "nobody", ""); err != nil {
			return err
		}
	}
	return nil
}

// records sends every log record's attributes to a channel.
type records chan map[string]slog.Value

func (r records) Enabled(context.Context, slog.Level) bool { return true }
func (r records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r records) WithGroup(string) slog.Handler            { return r }
func (r records) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]slog.Value{"msg": slog.StringValue(rec.Message)}
	rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value; return true })
	r <- m
	return nil
}

func TestRunCleanupBatches(t *testing.T) {
	tests := []struct {
		name           string
		expired, batch int
		wantBatches    int
	}{
		{"partial last batch", 25, 10, 3},
		{"exact multiple", 20, 10, 3}, // the third batch comes back empty
		{"one batch", 3, 10, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openTemp(t)
			past := time.Now().Add(-time.Hour)
			for range tc.expired {
				s := newSession("u")
				s.LastSeen, s.ExpiresAt = past, past.Add(time.Minute)
				must(t, "Create", db.Create(ctx, s))
			}
			live := newSession("u")
			live.LastSeen, live.ExpiresAt = time.Now(), time.Now().Add(time.Hour)
			must(t, "Create", db.Create(ctx, live))

			logs := make(records, 10)
			cctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				db.RunCleanup(cctx, time.Hour, tc.batch, 24*time.Hour, slog.New(logs))
				close(done)
			}()
			rec := <-logs
			cancel()
			<-done
			if rec["removed"].Int64() != int64(tc.expired) || rec["batches"].Int64() != int64(tc.wantBatches) {
				t.Fatalf("cleanup log: got %v, want removed=%d batches=%d", rec, tc.expired, tc.wantBatches)
			}
			left, err := db.ListByUser(ctx, "u")
			must(t, "ListByUser", err)
			if len(left) != 1 || left[0].ID != live.ID {
				t.Fatalf("sessions after cleanup: got %d, want only the live one", len(left))
			}
			changes, _, err := db.Changes(ctx, 0, 1000)
			must(t, "Changes", err)
			if len(changes) != tc.expired {
				t.Fatalf("revocations recorded: got %d, want %d", len(changes), tc.expired)
			}
		})
	}
}

// TestRunCleanupStops: RunCleanup returns when its context ends.
func TestRunCleanupStops(t *testing.T) {
	db := openTemp(t)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		db.RunCleanup(cctx, time.Hour, 10, time.Hour, nil)
		close(done)
	}()
	cancel()
	<-done
}

func BenchmarkByToken(b *testing.B) {
	db := openTemp(b)
	var hashes [][32]byte
	for i := range 1000 {
		s := newSession(fmt.Sprintf("user%d", i%100))
		s.Data = map[string][]byte{"csrf": []byte("0123456789abcdef0123456789abcdef"), "theme": []byte(`"dark"`)}
		must(b, "Create", db.Create(ctx, s))
		hashes = append(hashes, s.TokenHash)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := db.ByToken(ctx, hashes[i%len(hashes)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkByTokenParallel(b *testing.B) {
	db := openTemp(b)
	var hashes [][32]byte
	for i := range 1000 {
		s := newSession(fmt.Sprintf("user%d", i%100))
		must(b, "Create", db.Create(ctx, s))
		hashes = append(hashes, s.TokenHash)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := db.ByToken(ctx, hashes[i%len(hashes)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// TestConcurrentOpen: processes starting at once on a new file (a server
// and a CLI command) each migrate safely; the schema is applied once.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	const n = 6
	var wg sync.WaitGroup
	dbs := make([]*sqlite.DB, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = sqlite.Open(ctx, path)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d: %v", i, err)
			continue
		}
		defer dbs[i].Close()
	}
	if t.Failed() {
		return
	}
	var rows, version int
	must(t, "count", dbs[0].SQL().QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&rows, &version))
	if rows != version {
		t.Fatalf("schema_migrations: got %d rows for version %d, want one per version", rows, version)
	}
}

// The database holds password hashes and session state: a new file is
// private to its owner, and so are the WAL files SQLite makes beside it.
func TestNewDatabaseIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "private.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	must(t, "Create", db.Create(ctx, newSession("u")))
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s: mode %v, want no group or other access", filepath.Base(p), perm)
		}
	}
}
