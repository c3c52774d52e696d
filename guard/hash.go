package guard

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/sesame-auth/sesame"
)

// HashConfig bounds password hashing in a [HashLimiter]. The zero value is
// the recommended configuration; each field documents its default.
type HashConfig struct {
	// Concurrency is how many hashes may run at once. Each argon2id hash
	// with Sesame's parameters holds one core and 19 MiB for tens of
	// milliseconds. Zero or negative means half of GOMAXPROCS, at least 1,
	// so that a login flood leaves the other half of the CPU to every other
	// request.
	Concurrency int
	// Queue is how many callers may wait for a slot; beyond that Do refuses
	// at once. A waiting caller costs a goroutine and no CPU, and MaxWait
	// refuses those that could not be served in time anyway, so the queue
	// is sized to absorb an honest burst of logins. Zero or negative means
	// 32 × Concurrency.
	Queue int
	// MaxWait is the longest a caller waits for a slot before Do refuses.
	// Zero or negative means 1 s.
	MaxWait time.Duration
}

// ErrBusy is returned by [HashLimiter.Do] when no hashing slot is free
// within the bounds: an *sesame.Error with code [sesame.EUnavailable]
// (503). Send Retry-After: 1 with it.
var ErrBusy = &sesame.Error{Code: sesame.EUnavailable, Message: "the server is busy: try again shortly"}

// HashLimiter runs password hashing under a bounded concurrency limit with
// a bounded queue (SEC-44, SEC-46), so that a flood of logins, each costing
// one argon2id hash, cannot take every core and gigabytes of memory from
// the other requests. Excess work is refused quickly instead of piling up.
// It is safe for concurrent use.
type HashLimiter struct {
	slots   chan struct{}
	queue   int64
	waiting atomic.Int64
	maxWait time.Duration

	rejected atomic.Uint64 // ErrBusy answers (Stats)
}

// NewHashLimiter returns a HashLimiter configured by c.
func NewHashLimiter(c HashConfig) *HashLimiter {
	if c.Concurrency <= 0 {
		c.Concurrency = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if c.Queue <= 0 {
		c.Queue = 32 * c.Concurrency
	}
	if c.MaxWait <= 0 {
		c.MaxWait = time.Second
	}
	return &HashLimiter{slots: make(chan struct{}, c.Concurrency), queue: int64(c.Queue), maxWait: c.MaxWait}
}

// Do runs f in a hashing slot and returns nil, or returns [ErrBusy]
// without running f when the queue is full or no slot frees up within
// MaxWait, or an *sesame.Error with code [sesame.EUnavailable] wrapping
// ctx's error when ctx ends while waiting. Put the whole password check
// in f (account.Service.Authenticate, Signup, ChangePassword), so that the
// time spent outside the hash stays small.
func (h *HashLimiter) Do(ctx context.Context, f func()) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer func() { <-h.slots }()
	f()
	return nil
}

func (h *HashLimiter) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	if h.waiting.Add(1) > h.queue {
		h.waiting.Add(-1)
		h.rejected.Add(1)
		return ErrBusy
	}
	defer h.waiting.Add(-1)
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-t.C:
		h.rejected.Add(1)
		return ErrBusy
	case <-ctx.Done():
		return sesame.Wrap(sesame.EUnavailable, ctx.Err(), "the request ended while waiting to check the password")
	}
}

// HashStats is a snapshot of a [HashLimiter], for metrics.
type HashStats struct {
	Slots    int    // how many hashes may run at once (Concurrency)
	InUse    int    // slots taken now
	Queued   int    // callers waiting for a slot now
	Rejected uint64 // ErrBusy answers since the limiter was built (queue full, or MaxWait passed)
}

// Stats returns a snapshot of the limiter. It allocates nothing.
func (h *HashLimiter) Stats() HashStats {
	return HashStats{Slots: cap(h.slots), InUse: len(h.slots), Queued: int(min(max(h.waiting.Load(), 0), h.queue)), Rejected: h.rejected.Load()}
}
