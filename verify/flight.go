package verify

import (
	"context"
	"sync"
)

// flight runs at most one call of a function at a time and lets concurrent
// callers share its result (a single-key singleflight). The call runs in
// its own goroutine, detached from the cancellation of the caller that
// started it, so that a caller giving up does not fail the others.
type flight struct {
	mu  sync.Mutex
	cur *flightCall
	wg  sync.WaitGroup // running calls, for tests
}

type flightCall struct {
	done chan struct{}
	err  error
}

// begin returns the call in flight, or starts fn when allow (run under the
// flight's lock, so it may update state guarded by it) permits. It returns
// nil when no call is in flight and allow refused.
func (f *flight) begin(ctx context.Context, fn func(context.Context) error, allow func() bool) *flightCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur != nil {
		return f.cur
	}
	if allow != nil && !allow() {
		return nil
	}
	c := &flightCall{done: make(chan struct{})}
	f.cur = c
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		c.err = fn(context.WithoutCancel(ctx))
		f.mu.Lock()
		f.cur = nil
		f.mu.Unlock()
		close(c.done)
	}()
	return c
}

// wait returns the call's error, or ctx's if ctx ends first.
func (c *flightCall) wait(ctx context.Context) error {
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
