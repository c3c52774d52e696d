package guard

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Stats (for metrics) shows the slots, who holds one, who waits, and
// counts each ErrBusy refusal.
func TestHashLimiterStats(t *testing.T) {
	h := NewHashLimiter(HashConfig{Concurrency: 1, Queue: 1, MaxWait: time.Hour})
	if st := h.Stats(); st != (HashStats{Slots: 1}) {
		t.Fatalf("idle: %+v", st)
	}
	release := make(chan struct{})
	held := make(chan struct{})
	go h.Do(context.Background(), func() { close(held); <-release })
	<-held
	waiterDone := make(chan error)
	go func() { waiterDone <- h.Do(context.Background(), func() {}) }()
	waitFor(func() bool { return h.Stats().Queued == 1 })
	if st := h.Stats(); st.InUse != 1 || st.Queued != 1 || st.Rejected != 0 {
		t.Fatalf("one hashing, one waiting: %+v", st)
	}
	if err := h.Do(context.Background(), func() { t.Error("ran past a full queue") }); !errors.Is(err, ErrBusy) {
		t.Fatalf("queue full: %v, want ErrBusy", err)
	}
	if st := h.Stats(); st.Rejected != 1 {
		t.Fatalf("after a refusal: %+v", st)
	}
	close(release)
	if err := <-waiterDone; err != nil {
		t.Fatal(err)
	}
	waitFor(func() bool { return h.Stats().InUse == 0 })
	if st := h.Stats(); st != (HashStats{Slots: 1, Rejected: 1}) {
		t.Fatalf("idle again: %+v", st)
	}
}
