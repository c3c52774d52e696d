package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/guard"
)

// RunGuard runs the conformance suite for a [guard.Store]. newStore is
// called once per subtest and must return an empty store that shares
// nothing with earlier calls. A store that also implements [guard.Cleaner]
// has it tested.
func RunGuard(t *testing.T, newStore func(t *testing.T) guard.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s guard.Store)
	}{
		{"FailCounts", testGuardFailCounts},
		{"GetMissing", testGuardGetMissing},
		{"EmptyCalls", testGuardEmptyCalls},
		{"WindowBoundary", testGuardWindowBoundary},
		{"FailExtendsWindow", testGuardFailExtendsWindow},
		{"LaggingClock", testGuardLaggingClock},
		{"PerCounterWindows", testGuardPerCounterWindows},
		{"Reset", testGuardReset},
		{"KeysIsolated", testGuardKeysIsolated},
		{"ConcurrentFail", testGuardConcurrentFail},
		{"Cleaner", testGuardCleaner},
	}
	for _, tc := range tests {
		t.Run("Guard/"+tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// guardBase has nanoseconds, which every store must keep.
var guardBase = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

const guardWindow = 15 * time.Minute

func guardFail(t *testing.T, s guard.Store, now time.Time, counters ...guard.Counter) []guard.State {
	t.Helper()
	st, err := s.Fail(context.Background(), now, counters...)
	if err != nil {
		t.Fatalf("Fail: %v", err)
	}
	if len(st) != len(counters) {
		t.Fatalf("Fail: got %d states for %d counters", len(st), len(counters))
	}
	return st
}

func guardGet(t *testing.T, s guard.Store, now time.Time, keys ...string) []guard.State {
	t.Helper()
	st, err := s.Get(context.Background(), now, keys...)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if len(st) != len(keys) {
		t.Fatalf("Get: got %d states for %d keys", len(st), len(keys))
	}
	return st
}

func wantState(t *testing.T, what string, got guard.State, count int, last, expires time.Time) {
	t.Helper()
	if got.Count != count || !got.Last.Equal(last) || !got.Expires.Equal(expires) {
		t.Fatalf("%s: got {Count:%d Last:%v Expires:%v}, want {Count:%d Last:%v Expires:%v}",
			what, got.Count, got.Last, got.Expires, count, last, expires)
	}
}

func wantZeroState(t *testing.T, what string, got guard.State) {
	t.Helper()
	if got.Count != 0 || !got.Last.IsZero() || !got.Expires.IsZero() {
		t.Fatalf("%s: got %+v, want the zero State", what, got)
	}
}

func testGuardFailCounts(t *testing.T, s guard.Store) {
	c := guard.Counter{Key: "ip:192.0.2.1", Window: guardWindow}
	for i := 1; i <= 3; i++ {
		now := guardBase.Add(time.Duration(i) * time.Second)
		st := guardFail(t, s, now, c)
		wantState(t, fmt.Sprintf("Fail #%d", i), st[0], i, now, now.Add(guardWindow))
	}
	last := guardBase.Add(3 * time.Second)
	got := guardGet(t, s, last.Add(time.Minute), c.Key)
	wantState(t, "Get", got[0], 3, last, last.Add(guardWindow))
}

func testGuardGetMissing(t *testing.T, s guard.Store) {
	guardFail(t, s, guardBase, guard.Counter{Key: "b", Window: guardWindow})
	got := guardGet(t, s, guardBase, "a", "b", "c")
	wantZeroState(t, "Get(missing a)", got[0])
	wantState(t, "Get(b)", got[1], 1, guardBase, guardBase.Add(guardWindow))
	wantZeroState(t, "Get(missing c)", got[2])
}

func testGuardEmptyCalls(t *testing.T, s guard.Store) {
	if st, err := s.Fail(context.Background(), guardBase); err != nil || len(st) != 0 {
		t.Fatalf("Fail with no counters: got %v, %v, want no states and nil", st, err)
	}
	if st, err := s.Get(context.Background(), guardBase); err != nil || len(st) != 0 {
		t.Fatalf("Get with no keys: got %v, %v, want no states and nil", st, err)
	}
	if err := s.Reset(context.Background()); err != nil {
		t.Fatalf("Reset with no keys: got %v, want nil", err)
	}
}

// A counter is alive strictly before Expires and gone at Expires exactly,
// for Get and for Fail alike.
func testGuardWindowBoundary(t *testing.T, s guard.Store) {
	c := guard.Counter{Key: "k", Window: guardWindow}
	guardFail(t, s, guardBase, c)
	end := guardBase.Add(guardWindow)
	wantState(t, "Get 1ns before expiry", guardGet(t, s, end.Add(-time.Nanosecond), c.Key)[0], 1, guardBase, end)
	wantZeroState(t, "Get at expiry", guardGet(t, s, end, c.Key)[0])
	wantZeroState(t, "Get after expiry", guardGet(t, s, end.Add(time.Hour), c.Key)[0])
	st := guardFail(t, s, end, c)
	wantState(t, "Fail at expiry restarts", st[0], 1, end, end.Add(guardWindow))
}

func testGuardFailExtendsWindow(t *testing.T, s guard.Store) {
	c := guard.Counter{Key: "k", Window: guardWindow}
	guardFail(t, s, guardBase, c)
	at := guardBase.Add(guardWindow - time.Nanosecond)
	st := guardFail(t, s, at, c)
	wantState(t, "Fail 1ns before expiry", st[0], 2, at, at.Add(guardWindow))
	wantState(t, "Get after the first window", guardGet(t, s, guardBase.Add(guardWindow), c.Key)[0], 2, at, at.Add(guardWindow))
}

// A node whose clock lags records its failure without moving the counter
// back in time.
func testGuardLaggingClock(t *testing.T, s guard.Store) {
	c := guard.Counter{Key: "k", Window: guardWindow}
	guardFail(t, s, guardBase, c)
	st := guardFail(t, s, guardBase.Add(-2*time.Second), c)
	wantState(t, "Fail from a lagging clock", st[0], 2, guardBase, guardBase.Add(guardWindow))
}

func testGuardPerCounterWindows(t *testing.T, s guard.Store) {
	st := guardFail(t, s, guardBase,
		guard.Counter{Key: "short", Window: time.Minute},
		guard.Counter{Key: "long", Window: time.Hour})
	wantState(t, "short", st[0], 1, guardBase, guardBase.Add(time.Minute))
	wantState(t, "long", st[1], 1, guardBase, guardBase.Add(time.Hour))
	got := guardGet(t, s, guardBase.Add(time.Minute), "short", "long")
	wantZeroState(t, "short after its window", got[0])
	wantState(t, "long after the short window", got[1], 1, guardBase, guardBase.Add(time.Hour))
}

func testGuardReset(t *testing.T, s guard.Store) {
	a, b := guard.Counter{Key: "a", Window: guardWindow}, guard.Counter{Key: "b", Window: guardWindow}
	guardFail(t, s, guardBase, a, b)
	guardFail(t, s, guardBase, a, b)
	if err := s.Reset(context.Background(), "a", "missing"); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	got := guardGet(t, s, guardBase, "a", "b")
	wantZeroState(t, "Get(a) after Reset", got[0])
	wantState(t, "Get(b) after Reset(a)", got[1], 2, guardBase, guardBase.Add(guardWindow))
	if err := s.Reset(context.Background(), "a"); err != nil {
		t.Fatalf("Reset again: got %v, want nil", err)
	}
	wantState(t, "Fail after Reset", guardFail(t, s, guardBase, a)[0], 1, guardBase, guardBase.Add(guardWindow))
}

// Keys are exact byte strings: no prefix matching, no case folding, no
// trimming.
func testGuardKeysIsolated(t *testing.T, s guard.Store) {
	keys := []string{"ip:192.0.2.1", "ip:192.0.2.10", "ip:192.0.2.1 ", "IP:192.0.2.1", "acct:ab", "acctip:ab|192.0.2.1", "ip:2001:db8::/64"}
	for i, k := range keys {
		for range i + 1 {
			guardFail(t, s, guardBase, guard.Counter{Key: k, Window: guardWindow})
		}
	}
	got := guardGet(t, s, guardBase, keys...)
	for i, k := range keys {
		if got[i].Count != i+1 {
			t.Fatalf("Get(%q): got count %d, want %d", k, got[i].Count, i+1)
		}
	}
}

// Concurrent Fail calls on one key each add exactly one and see distinct
// counts, also when each call carries several keys.
func testGuardConcurrentFail(t *testing.T, s guard.Store) {
	const n = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	var seen []int
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := guard.Counter{Key: fmt.Sprintf("own-%d", i), Window: guardWindow}
			st, err := s.Fail(context.Background(), guardBase, guard.Counter{Key: "shared", Window: guardWindow}, own)
			if err != nil {
				t.Errorf("concurrent Fail: %v", err)
				return
			}
			if len(st) != 2 || st[1].Count != 1 {
				t.Errorf("concurrent Fail: got %+v, want 2 states, the second with count 1", st)
				return
			}
			mu.Lock()
			seen = append(seen, st[0].Count)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(seen)
	for i, c := range seen {
		if c != i+1 {
			t.Fatalf("counts returned to %d concurrent Fail calls: got %v, want 1..%d each once", n, seen, n)
		}
	}
	if got := guardGet(t, s, guardBase, "shared")[0].Count; got != n {
		t.Fatalf("count after %d concurrent failures: got %d, want %d", n, got, n)
	}
}

func testGuardCleaner(t *testing.T, s guard.Store) {
	c, ok := s.(guard.Cleaner)
	if !ok {
		t.Skip("store expires counters by itself")
	}
	guardFail(t, s, guardBase, guard.Counter{Key: "old", Window: time.Minute}, guard.Counter{Key: "young", Window: time.Hour})
	guardFail(t, s, guardBase, guard.Counter{Key: "edge", Window: 2 * time.Minute})
	now := guardBase.Add(2 * time.Minute)
	n, err := c.DeleteStaleThrottles(context.Background(), now)
	if err != nil {
		t.Fatalf("DeleteStaleThrottles: %v", err)
	}
	if n != 2 {
		t.Fatalf("DeleteStaleThrottles: got %d deleted, want 2 (old, and edge at its exact expiry)", n)
	}
	wantState(t, "young after cleanup", guardGet(t, s, now, "young")[0], 1, guardBase, guardBase.Add(time.Hour))
	// Deleted rows are really gone: a Fail with a lagging clock, which would
	// still see an expired-but-kept row as alive, starts afresh.
	st := guardFail(t, s, guardBase, guard.Counter{Key: "old", Window: time.Minute})
	wantState(t, "Fail on a cleaned key", st[0], 1, guardBase, guardBase.Add(time.Minute))
	if n, err := c.DeleteStaleThrottles(context.Background(), now); err != nil || n != 1 {
		t.Fatalf("DeleteStaleThrottles again: got %d, %v, want 1, nil", n, err)
	}
}
