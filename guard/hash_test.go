package guard

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
)

// waitFor yields until cond holds. It asserts nothing about time: a bug
// shows as the test's timeout.
func waitFor(cond func() bool) {
	for !cond() {
		runtime.Gosched()
	}
}

// holdSlots fills every slot of h with a call that runs until release is
// closed, and returns once they all run.
func holdSlots(t *testing.T, h *HashLimiter, release <-chan struct{}) *sync.WaitGroup {
	t.Helper()
	var wg sync.WaitGroup
	var running atomic.Int64
	for range cap(h.slots) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.Do(context.Background(), func() { running.Add(1); <-release }); err != nil {
				t.Errorf("Do: %v", err)
			}
		}()
	}
	waitFor(func() bool { return running.Load() == int64(cap(h.slots)) })
	return &wg
}

// A flood of 50 hashes runs at most Concurrency at a time, and all of it
// runs when the queue is deep enough.
func TestHashLimiterBoundsConcurrency(t *testing.T) {
	const n, limit = 50, 3
	h := NewHashLimiter(HashConfig{Concurrency: limit, Queue: n, MaxWait: time.Hour})
	release := make(chan struct{})
	var running, peak, ran atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := h.Do(context.Background(), func() {
				now := running.Add(1)
				for {
					p := peak.Load()
					if now <= p || peak.CompareAndSwap(p, now) {
						break
					}
				}
				<-release
				running.Add(-1)
				ran.Add(1)
			})
			if err != nil {
				t.Errorf("Do: %v", err)
			}
		}()
	}
	waitFor(func() bool { return running.Load() == limit && h.waiting.Load() == n-limit })
	close(release)
	wg.Wait()
	if peak.Load() != limit || ran.Load() != n {
		t.Fatalf("got peak %d concurrent and %d run, want %d and %d", peak.Load(), ran.Load(), limit, n)
	}
}

// Beyond the queue, Do refuses at once with a 503 and never runs f.
func TestHashLimiterQueueFull(t *testing.T) {
	h := NewHashLimiter(HashConfig{Concurrency: 1, Queue: 1, MaxWait: time.Hour})
	release := make(chan struct{})
	holders := holdSlots(t, h, release)
	queued := make(chan error)
	go func() { queued <- h.Do(context.Background(), func() {}) }()
	waitFor(func() bool { return h.waiting.Load() == 1 })
	ran := false
	err := h.Do(context.Background(), func() { ran = true })
	if !errors.Is(err, ErrBusy) || ran || sesame.HTTPStatus(sesame.ErrorCode(err)) != 503 {
		t.Fatalf("Do with a full queue: got %v (ran %v), want ErrBusy (503) without running", err, ran)
	}
	close(release)
	holders.Wait()
	if err := <-queued; err != nil {
		t.Fatalf("the queued call: got %v, want nil", err)
	}
	if h.waiting.Load() != 0 {
		t.Fatalf("waiting after the flood: got %d, want 0", h.waiting.Load())
	}
}

// A caller that waits MaxWait without a slot is refused.
func TestHashLimiterMaxWait(t *testing.T) {
	h := NewHashLimiter(HashConfig{Concurrency: 2, Queue: 10, MaxWait: time.Millisecond})
	release := make(chan struct{})
	holders := holdSlots(t, h, release)
	defer holders.Wait()
	defer close(release)
	ran := false
	if err := h.Do(context.Background(), func() { ran = true }); !errors.Is(err, ErrBusy) || ran {
		t.Fatalf("Do with every slot held past MaxWait: got %v (ran %v), want ErrBusy without running", err, ran)
	}
}

// A caller whose request ends while it waits gets a 503 wrapping the
// context's error.
func TestHashLimiterContext(t *testing.T) {
	h := NewHashLimiter(HashConfig{Concurrency: 1, MaxWait: time.Hour})
	release := make(chan struct{})
	holders := holdSlots(t, h, release)
	defer holders.Wait()
	defer close(release)
	c, cancel := context.WithCancel(context.Background())
	cancel()
	err := h.Do(c, func() {})
	if !errors.Is(err, context.Canceled) || sesame.ErrorCode(err) != sesame.EUnavailable {
		t.Fatalf("Do with a cancelled context: got %v, want EUnavailable wrapping context.Canceled", err)
	}
}

// A panicking f gives its slot back.
func TestHashLimiterPanicReleases(t *testing.T) {
	h := NewHashLimiter(HashConfig{Concurrency: 1, MaxWait: time.Nanosecond})
	func() {
		defer func() { recover() }()
		h.Do(context.Background(), func() { panic("boom") })
	}()
	if err := h.Do(context.Background(), func() {}); err != nil {
		t.Fatalf("Do after a panic: got %v, want nil", err)
	}
}

func TestHashLimiterDefaults(t *testing.T) {
	h := NewHashLimiter(HashConfig{})
	want := max(1, runtime.GOMAXPROCS(0)/2)
	if cap(h.slots) != want || h.queue != int64(32*want) || h.maxWait != time.Second {
		t.Fatalf("defaults: got %d slots, queue %d, wait %v, want %d, %d, 1s", cap(h.slots), h.queue, h.maxWait, want, 32*want)
	}
}
