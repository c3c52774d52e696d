package guard_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/sesame-auth/sesame/guard"
)

// t0 has nanoseconds so that boundaries are exact.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 987654321, time.UTC)

// fakeClock is a settable sesame.Clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// recordingStore remembers every key it is given.
type recordingStore struct {
	guard.Store
	mu   sync.Mutex
	keys []string
}

func (r *recordingStore) note(keys ...string) {
	r.mu.Lock()
	r.keys = append(r.keys, keys...)
	r.mu.Unlock()
}

func (r *recordingStore) Fail(ctx context.Context, now time.Time, cs ...guard.Counter) ([]guard.State, error) {
	for _, c := range cs {
		r.note(c.Key)
	}
	return r.Store.Fail(ctx, now, cs...)
}

func (r *recordingStore) Get(ctx context.Context, now time.Time, keys ...string) ([]guard.State, error) {
	r.note(keys...)
	return r.Store.Get(ctx, now, keys...)
}

func (r *recordingStore) Reset(ctx context.Context, keys ...string) error {
	r.note(keys...)
	return r.Store.Reset(ctx, keys...)
}

func (r *recordingStore) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.keys)
}

var errOutage = errors.New("connection refused")

// brokenStore fails every call.
type brokenStore struct{}

func (brokenStore) Fail(context.Context, time.Time, ...guard.Counter) ([]guard.State, error) {
	return nil, errOutage
}
func (brokenStore) Get(context.Context, time.Time, ...string) ([]guard.State, error) {
	return nil, errOutage
}
func (brokenStore) Reset(context.Context, ...string) error { return errOutage }

// shortStore answers Get with too few states: a buggy adapter.
type shortStore struct{ brokenStore }

func (shortStore) Get(context.Context, time.Time, ...string) ([]guard.State, error) {
	return []guard.State{{}}, nil
}
