package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/sqlite"
)

// growthSizes are the table sizes of BenchmarkGrowth: SESAME_BENCH_SIZES
// (comma-separated, e.g. 1000,100000,1000000), default 1000,10000 so that a
// one-pass CI run stays quick.
func growthSizes(b *testing.B) []int {
	spec := os.Getenv("SESAME_BENCH_SIZES")
	if spec == "" {
		spec = "1000,10000"
	}
	var out []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 100 {
			b.Fatalf("SESAME_BENCH_SIZES: bad size %q", f)
		}
		out = append(out, n)
	}
	return out
}

// growthStore is a store filled with n sessions of background users plus
// one user, "target", with 10 sessions.
type growthStore struct {
	store   session.Store
	tokens  [][32]byte // token hashes of existing sessions, for lookups
	bytes   float64    // bytes per session
	cleanup func()
}

// BenchmarkGrowth measures, at several table sizes, a session lookup by
// token hash (a view miss: what a cold node pays) and revoking all 10
// sessions of one user. Goal: flat lookup, and revoke-all proportional to
// the user's own sessions, not to the table. It reports bytes/session.
func BenchmarkGrowth(b *testing.B) {
	for _, n := range growthSizes(b) {
		for _, kind := range []string{"memstore", "sqlite", "postgres", "redis"} {
			b.Run(fmt.Sprintf("%s/%d", kind, n), func(b *testing.B) {
				var g *growthStore
				switch kind {
				case "memstore":
					g = fillMemstore(b, n)
				case "sqlite":
					g = fillSQLite(b, n)
				case "postgres":
					g = fillPostgres(b, n)
				case "redis":
					g = fillRedis(b, n)
				}
				defer g.cleanup()
				b.Run("lookup", func(b *testing.B) {
					ctx := context.Background()
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						if _, err := g.store.ByToken(ctx, g.tokens[i%len(g.tokens)]); err != nil {
							b.Fatal(err)
						}
						i++
					}
					b.ReportMetric(g.bytes, "bytes/session")
				})
				b.Run("revoke-all-10", func(b *testing.B) {
					ctx := context.Background()
					b.ReportAllocs()
					for b.Loop() {
						b.StopTimer()
						addTarget(b, g.store, 10)
						b.StartTimer()
						ids, err := g.store.DeleteByUser(ctx, "target", "")
						if err != nil || len(ids) != 10 {
							b.Fatalf("DeleteByUser: %d, %v", len(ids), err)
						}
					}
				})
			})
		}
	}
}

func growthSession(user string, now time.Time) *sesame.Session {
	var raw [32]byte
	rand.Read(raw[:])
	return &sesame.Session{ID: fmt.Sprintf("%x", raw[:16]), UserID: user, TokenHash: sha256.Sum256(raw[:]),
		CreatedAt: now, LastSeen: now, AuthTime: now, IdleTimeout: time.Hour, ExpiresAt: now.Add(12 * time.Hour),
		Device: sesame.Device{UserAgent: "Mozilla/5.0 (X11; Linux x86_64) bench", IP: "192.0.2.1"}}
}

func addTarget(b *testing.B, s session.Store, n int) {
	now := time.Now().UTC()
	for range n {
		if err := s.Create(context.Background(), growthSession("target", now)); err != nil {
			b.Fatal(err)
		}
	}
}

func fillMemstore(b *testing.B, n int) *growthStore {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s := memstore.New()
	now := time.Now().UTC()
	g := &growthStore{store: s, cleanup: func() {}}
	for i := range n {
		sess := growthSession("user"+strconv.Itoa(i%(n/10+1)), now)
		if err := s.Create(context.Background(), sess); err != nil {
			b.Fatal(err)
		}
		if i%max(n/1000, 1) == 0 {
			g.tokens = append(g.tokens, sess.TokenHash)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	g.bytes = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	runtime.KeepAlive(s)
	return g
}

// fillSQLite generates n sessions in SQL (a recursive CTE), as the issue
// allows for the SQL stores, then reads back a sample of token hashes.
func fillSQLite(b *testing.B, n int) *growthStore {
	ctx := context.Background()
	dir := b.TempDir()
	path := filepath.Join(dir, "growth.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixNano()
	_, err = db.SQL().ExecContext(ctx, `
		WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
		INSERT INTO sessions (id, user_id, token_hash, prev_token_hash, prev_valid_until, created_at, last_seen,
			idle_timeout, expires_at, remember, auth_time, user_agent, ip, version, data)
		SELECT hex(randomblob(16)), 'user' || (x % (? / 10 + 1)), randomblob(32), NULL, -9223372036854775808, ?, ?,
			3600000000000, ? + 43200000000000, 0, ?, 'Mozilla/5.0 (X11; Linux x86_64) bench', '192.0.2.1', 0, NULL
		FROM c`, n, n, now, now, now, now)
	if err != nil {
		b.Fatal(err)
	}
	g := &growthStore{store: db, cleanup: func() { db.Close() }}
	rows, err := db.SQL().QueryContext(ctx, `SELECT token_hash FROM sessions WHERE rowid % ? = 0 LIMIT 1000`, max(n/1000, 1))
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var h []byte
		rows.Scan(&h)
		var a [32]byte
		copy(a[:], h)
		g.tokens = append(g.tokens, a)
	}
	rows.Close()
	db.SQL().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	if info, err := os.Stat(path); err == nil {
		g.bytes = float64(info.Size()) / float64(n)
	}
	return g
}
