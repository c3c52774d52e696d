package audit_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/memstore"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func ev(i int) sesame.Event {
	return sesame.Event{Type: sesame.EventLogout, Time: time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC), Username: "u"}
}

// TestSinkBuffersDropsAndFlushes: events queue up to the buffer's size,
// the rest are dropped and counted (each still reaches Next), Close writes
// what is queued, and an event after Close is not written.
func TestSinkBuffersDropsAndFlushes(t *testing.T) {
	log := memstore.New().AuditLog()
	var next atomic.Int64
	s := &audit.Sink{Log: log, Buffer: 2, Logger: quiet,
		Next: sesame.EventFunc(func(context.Context, sesame.Event) { next.Add(1) })}
	for i := range 3 { // no writer yet: the third finds the buffer full
		s.Emit(context.Background(), ev(i))
	}
	if s.Dropped() != 1 {
		t.Errorf("dropped %d, want 1", s.Dropped())
	}
	s.Close(context.Background())
	recs, err := log.Recent(context.Background(), audit.Filter{})
	if err != nil || len(recs) != 2 || recs[1].At.Minute() != 0 || recs[0].At.Minute() != 1 {
		t.Fatalf("after Close: %+v, %v; want the first two events", recs, err)
	}
	s.Emit(context.Background(), ev(9))
	s.Close(context.Background())
	if recs, _ := log.Recent(context.Background(), audit.Filter{}); len(recs) != 2 {
		t.Errorf("an event after Close was written: %d records", len(recs))
	}
	if next.Load() != 4 {
		t.Errorf("Next got %d events, want all 4", next.Load())
	}
}

// blockedLog is a Log whose Append waits until release is closed.
type blockedLog struct {
	audit.Log
	release chan struct{}
}

func (b blockedLog) Append(ctx context.Context, es []sesame.Event) error {
	<-b.release
	return b.Log.Append(ctx, es)
}

// TestSinkNeverWaitsForTheStore: with the store stuck, Emit still returns
// at once (the test would hang otherwise) and drops what does not fit;
// Flush then writes what was queued.
func TestSinkNeverWaitsForTheStore(t *testing.T) {
	log := blockedLog{memstore.New().AuditLog(), make(chan struct{})}
	s := &audit.Sink{Log: log, Buffer: 4, Logger: quiet}
	s.Start()
	for i := range 1000 {
		s.Emit(context.Background(), ev(i%60))
	}
	// The writer holds at most one batch (100) and the buffer 4.
	if d := s.Dropped(); d < 1000-100-4 {
		t.Errorf("dropped %d of 1000 with a buffer of 4 and a stuck store", d)
	}
	close(log.release)
	s.Flush(context.Background())
	recs, err := log.Recent(context.Background(), audit.Filter{})
	if err != nil || int64(len(recs)) != 1000-s.Dropped() {
		t.Errorf("written %d (%v), dropped %d: want 1000 in all", len(recs), err, s.Dropped())
	}
	s.Close(context.Background())
}
