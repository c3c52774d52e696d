package audit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-auth/sesame"
)

// DefaultBuffer is the size of a Sink's buffer when Buffer is 0.
const DefaultBuffer = 4096

// dropLogEvery is how often a Sink logs the events it dropped.
const dropLogEvery = time.Minute

// Sink is a sesame.EventSink that passes each event to Next and queues it
// for the audit log. Emit never waits for the store: a bounded buffer
// holds the events and one goroutine appends them in batches. When the
// buffer is full the event is dropped (not logged to the audit log; it
// still reaches Next) and counted; the drops are logged at most once a
// minute. Start runs the writer; Close stops accepting events and flushes
// what is queued.
type Sink struct {
	Next   sesame.EventSink // may be nil
	Log    Log
	Logger *slog.Logger
	Buffer int // default DefaultBuffer

	once    sync.Once
	mu      sync.RWMutex // guards closed against the close of ch
	closed  bool
	ch      chan sesame.Event
	flush   chan chan struct{}
	done    chan struct{}
	started atomic.Bool
	dropped atomic.Int64 // drops not yet logged
	total   atomic.Int64 // every drop
}

func (s *Sink) init() {
	s.once.Do(func() {
		n := s.Buffer
		if n <= 0 {
			n = DefaultBuffer
		}
		s.ch = make(chan sesame.Event, n)
		s.done = make(chan struct{})
		s.flush = make(chan chan struct{})
		if s.Logger == nil {
			s.Logger = slog.Default()
		}
	})
}

// Emit implements sesame.EventSink.
func (s *Sink) Emit(ctx context.Context, e sesame.Event) {
	if s.Next != nil {
		s.Next.Emit(ctx, e)
	}
	s.init()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return
	}
	select {
	case s.ch <- e:
	default:
		s.dropped.Add(1)
		s.total.Add(1)
	}
}

// Dropped is how many events the Sink dropped because its buffer was full.
func (s *Sink) Dropped() int64 { return s.total.Load() }

// Start runs the writer until Close. Call it once.
func (s *Sink) Start() {
	s.init()
	if !s.started.CompareAndSwap(false, true) {
		return
	}
	go s.run()
}

// Close stops accepting events and waits until the queued ones are
// written (at most until ctx ends). It is safe to call more than once.
func (s *Sink) Close(ctx context.Context) {
	s.init()
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
	s.mu.Unlock()
	if !s.started.Load() {
		s.Start() // flush what was queued before Start
	}
	select {
	case <-s.done:
	case <-ctx.Done():
	}
}

// Flush waits until the events emitted before it are written (or ctx
// ends). Tests use it; a running server never needs to.
func (s *Sink) Flush(ctx context.Context) {
	s.init()
	if !s.started.Load() {
		return
	}
	ack := make(chan struct{})
	select {
	case s.flush <- ack:
	case <-s.done:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-ack:
	case <-ctx.Done():
	}
}

func (s *Sink) run() {
	defer close(s.done)
	tick := time.NewTicker(dropLogEvery)
	defer tick.Stop()
	batch := make([]sesame.Event, 0, 100)
	for {
		select {
		case e, ok := <-s.ch:
			if !ok {
				s.logDrops()
				return
			}
			batch = append(batch[:0], e)
		more:
			for len(batch) < cap(batch) {
				select {
				case e, ok := <-s.ch:
					if !ok {
						break more
					}
					batch = append(batch, e)
				default:
					break more
				}
			}
			s.write(batch)
		case ack := <-s.flush:
			batch = batch[:0]
		drain:
			for {
				select {
				case e, ok := <-s.ch:
					if !ok {
						break drain
					}
					batch = append(batch, e)
				default:
					break drain
				}
			}
			if len(batch) > 0 {
				s.write(batch)
			}
			close(ack)
		case <-tick.C:
			s.logDrops()
		}
	}
}

func (s *Sink) write(batch []sesame.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Log.Append(ctx, batch); err != nil {
		s.Logger.Warn("audit log: append failed", "events", len(batch), "err", err)
	}
}

func (s *Sink) logDrops() {
	if n := s.dropped.Swap(0); n > 0 {
		s.Logger.Warn("audit log: buffer full, events dropped", "dropped", n)
	}
}
