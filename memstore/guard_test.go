package memstore_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/storetest"
)

func TestGuardConformance(t *testing.T) {
	storetest.RunGuard(t, func(t *testing.T) guard.Store { return memstore.New() })
}

// Each Store has its own counters.
func TestGuardPerStore(t *testing.T) {
	a, b := memstore.New(), memstore.New()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := a.Fail(context.Background(), now, guard.Counter{Key: "k", Window: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.Get(context.Background(), now, "k"); st[0].Count != 0 {
		t.Fatalf("another store: got count %d, want 0", st[0].Count)
	}
	runtime.KeepAlive(a)
}

// An attacker rotating usernames creates one counter per attempt; Fail
// sweeps expired ones as the table grows, so memory follows the live
// counters even when nobody runs the cleaner.
func TestGuardSweepsWithoutCleaner(t *testing.T) {
	s := memstore.New()
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 10000 {
		now := start.Add(time.Duration(i) * time.Second)
		if _, err := s.Fail(ctx, now, guard.Counter{Key: fmt.Sprintf("acct:%d", i), Window: time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	end := start.Add(10000 * time.Second)
	n, err := s.DeleteStaleThrottles(ctx, end.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if n > 2100 {
		t.Fatalf("stale counters left for the cleaner: got %d, want at most about 2 × 1024", n)
	}
}
