package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/sesame-auth/sesame/guard"
)

var (
	_ guard.Store   = (*Store)(nil)
	_ guard.Cleaner = (*Store)(nil)
)

// throttleSweepMin is the table size below which Fail never sweeps.
const throttleSweepMin = 1024

// throttleTable is a Store's login throttle counters, guarded by its own
// mutex: they are written on every failed login and never together with
// sessions.
type throttleTable struct {
	mu        sync.Mutex
	byKey     map[string]guard.State
	sweptSize int // table size after the last sweep
}

func (m *Store) throttles() *throttleTable {
	m.throttleOnce.Do(func() { m.throttleTab = &throttleTable{byKey: make(map[string]guard.State)} })
	return m.throttleTab
}

// Fail implements [guard.Store]. When the table has doubled since its last
// sweep, Fail also drops the expired counters, so that memory stays bounded
// by the live counters even without [Store.DeleteStaleThrottles].
func (m *Store) Fail(_ context.Context, now time.Time, counters ...guard.Counter) ([]guard.State, error) {
	now = now.Round(0).UTC()
	t := m.throttles()
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]guard.State, len(counters))
	for i, c := range counters {
		exp := now.Add(c.Window)
		s, ok := t.byKey[c.Key]
		if !ok || !now.Before(s.Expires) {
			s = guard.State{Count: 1, Last: now, Expires: exp}
		} else {
			s.Count++
			s.Last = later(s.Last, now)
			s.Expires = later(s.Expires, exp)
		}
		t.byKey[c.Key] = s
		out[i] = s
	}
	if len(t.byKey) >= max(throttleSweepMin, 2*t.sweptSize) {
		t.sweepLocked(now)
	}
	return out, nil
}

// Get implements [guard.Store].
func (m *Store) Get(_ context.Context, now time.Time, keys ...string) ([]guard.State, error) {
	t := m.throttles()
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]guard.State, len(keys))
	for i, k := range keys {
		if s, ok := t.byKey[k]; ok && now.Before(s.Expires) {
			out[i] = s
		}
	}
	return out, nil
}

// Reset implements [guard.Store].
func (m *Store) Reset(_ context.Context, keys ...string) error {
	t := m.throttles()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.byKey, k)
	}
	return nil
}

// DeleteStaleThrottles implements [guard.Cleaner].
func (m *Store) DeleteStaleThrottles(_ context.Context, now time.Time) (int, error) {
	t := m.throttles()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sweepLocked(now), nil
}

func (t *throttleTable) sweepLocked(now time.Time) int {
	n := 0
	for k, s := range t.byKey {
		if !now.Before(s.Expires) {
			delete(t.byKey, k)
			n++
		}
	}
	t.sweptSize = len(t.byKey)
	return n
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
