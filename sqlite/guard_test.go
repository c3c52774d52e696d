package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/sqlite"
	"github.com/sesame-auth/sesame/storetest"
)

func TestGuardConformance(t *testing.T) {
	storetest.RunGuard(t, func(t *testing.T) guard.Store { return openTemp(t) })
}

// Two servers on one database file count into the same counters, without
// losing an update, while both write at once.
func TestGuardSharedAcrossHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	var dbs [2]*sqlite.DB
	for i := range dbs {
		db, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const perHandle = 25
	var wg sync.WaitGroup
	for _, db := range dbs {
		for range perHandle {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := db.Fail(context.Background(), now, guard.Counter{Key: "ip:192.0.2.1", Window: time.Hour}); err != nil {
					t.Errorf("Fail: %v", err)
				}
			}()
		}
	}
	wg.Wait()
	for i, db := range dbs {
		st, err := db.Get(context.Background(), now, "ip:192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if st[0].Count != 2*perHandle {
			t.Fatalf("handle %d: got count %d, want %d", i, st[0].Count, 2*perHandle)
		}
	}
	if err := dbs[1].Reset(context.Background(), "ip:192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if st, _ := dbs[0].Get(context.Background(), now, "ip:192.0.2.1"); st[0].Count != 0 {
		t.Fatalf("after Reset through the other handle: got count %d, want 0", st[0].Count)
	}
}

// The login-path read and the cleanup are answered from indexes.
func TestGuardQueryPlans(t *testing.T) {
	db := openTemp(t)
	for _, tc := range []struct{ name, query, want string }{
		{"Get", `SELECT key, count, last_at, expires_at FROM throttle WHERE expires_at > ? AND key IN (?, ?, ?)`, "PRIMARY KEY"},
		{"DeleteStale", `DELETE FROM throttle WHERE expires_at <= ?`, "throttle_expires"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := strings.Count(tc.query, "?")
			args := make([]any, n)
			args[0] = int64(0)
			for i := 1; i < n; i++ {
				args[i] = "k"
			}
			rows, err := db.SQL().Query(`EXPLAIN QUERY PLAN `+tc.query, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			all := strings.Join(plan, "; ")
			if !strings.Contains(all, tc.want) || strings.Contains(all, "SCAN throttle") {
				t.Fatalf("plan: got %q, want a search using %s", all, tc.want)
			}
		})
	}
}
