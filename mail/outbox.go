package mail

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/retry"
)

// Sender sends one rendered message. *SMTP is the one to use.
type Sender interface {
	Send(ctx context.Context, m Rendered) error
}

// Tuning are the outbox's intervals and limits. A zero field takes its
// [DefaultTuning] value.
type Tuning struct {
	Poll       time.Duration // claim due messages at least this often
	Lease      time.Duration // a claim's lease: longer than Timeout
	Timeout    time.Duration // one attempt, from connect to the server's answer
	MinBackoff time.Duration // delay after the first failed attempt
	MaxBackoff time.Duration // retry delay cap
	GiveUp     time.Duration // the retry schedule's span after which a message is dropped
	Batch      int           // messages claimed at once
}

// DefaultTuning: poll every 2 s, 30 s attempts under a 2 min lease,
// retries after 10 s doubling to 30 min, dropped (with a warning) after
// about 24 hours: a reset link is dead after 30 minutes anyway.
var DefaultTuning = Tuning{Poll: 2 * time.Second, Lease: 2 * time.Minute, Timeout: 30 * time.Second,
	MinBackoff: 10 * time.Second, MaxBackoff: 30 * time.Minute, GiveUp: 24 * time.Hour, Batch: 16}

func (tu Tuning) withDefaults() Tuning {
	d := DefaultTuning
	for _, p := range []struct {
		dst *time.Duration
		v   time.Duration
	}{
		{&d.Poll, tu.Poll}, {&d.Lease, tu.Lease}, {&d.Timeout, tu.Timeout},
		{&d.MinBackoff, tu.MinBackoff}, {&d.MaxBackoff, tu.MaxBackoff}, {&d.GiveUp, tu.GiveUp},
	} {
		if p.v > 0 {
			*p.dst = p.v
		}
	}
	if tu.Batch > 0 {
		d.Batch = tu.Batch
	}
	return d
}

// Config configures an [Outbox]. Store and Key are required; Sender is
// required to Run.
type Config struct {
	Store  Store
	Sender Sender
	// Key seals stored messages: 32 bytes, the same on every node
	// (`sesame serve` derives it from the master key).
	Key    []byte
	Clock  sesame.Clock // default the system clock
	Logger *slog.Logger // default slog.Default()
	Tuning Tuning
}

// Outbox queues and sends mail. It is safe for concurrent use; Run is
// called at most once.
type Outbox struct {
	c    Config
	tu   Tuning
	seal *sealer
	kick chan struct{}
	mu   sync.Mutex
	sent int // messages handed to the server, for tests and stats
}

// NewOutbox returns an outbox for c.
func NewOutbox(c Config) (*Outbox, error) {
	if c.Store == nil {
		return nil, errors.New("mail: Store is required")
	}
	s, err := newSealer(c.Key)
	if err != nil {
		return nil, err
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return &Outbox{c: c, tu: c.Tuning.withDefaults(), seal: s, kick: make(chan struct{}, 1)}, nil
}

// Queue stores m, sealed, due now, and wakes the local sender. It makes no
// network call. A message with no recipient is stored all the same and
// dropped unsent by the sender: callers that must do the same work whether
// or not an account exists (the forgot-password request, SEC-62) queue one.
func (o *Outbox) Queue(ctx context.Context, m Rendered) error {
	id := newID()
	body, err := o.seal.seal(id, m)
	if err != nil {
		return err
	}
	now := o.now()
	if err := o.c.Store.AddMail(ctx, &Message{ID: id, Body: body, CreatedAt: now, DueAt: now}); err != nil {
		return sesame.Wrap(sesame.EUnavailable, fmt.Errorf("mail: queue: %w", err), "mail is temporarily unavailable")
	}
	o.Kick()
	return nil
}

// Kick wakes the sender at once.
func (o *Outbox) Kick() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// Sent reports how many messages this outbox has handed to the server.
func (o *Outbox) Sent() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sent
}

// Run sends due messages until ctx ends.
func (o *Outbox) Run(ctx context.Context) {
	if o.c.Sender == nil {
		o.c.Logger.Warn("mail: no sender configured: queued mail is kept, not sent")
		return
	}
	t := time.NewTicker(o.tu.Poll)
	defer t.Stop()
	for {
		for o.RunOnce(ctx) == o.tu.Batch && ctx.Err() == nil {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.kick:
		}
	}
}

// RunOnce claims one batch of due messages and attempts each; it returns
// how many it claimed.
func (o *Outbox) RunOnce(ctx context.Context) int {
	now := o.now()
	ms, err := o.c.Store.ClaimMail(ctx, now, now.Add(o.tu.Lease), o.tu.Batch)
	if err != nil {
		if ctx.Err() == nil {
			o.c.Logger.Warn("mail: cannot claim outbox messages", "err", err)
		}
		return 0
	}
	for _, m := range ms {
		o.attempt(ctx, m)
	}
	return len(ms)
}

func (o *Outbox) attempt(ctx context.Context, m *Message) {
	r, err := o.seal.open(m.ID, m.Body)
	if err != nil {
		o.c.Logger.Error("mail: dropping a message that cannot be opened", "id", m.ID, "err", err)
		o.drop(ctx, m.ID)
		return
	}
	if r.To == "" { // an equal-work placeholder: nothing to send
		o.drop(ctx, m.ID)
		return
	}
	sctx, cancel := context.WithTimeout(ctx, o.tu.Timeout)
	err = o.c.Sender.Send(sctx, r)
	cancel()
	if err == nil {
		o.mu.Lock()
		o.sent++
		o.mu.Unlock()
		o.drop(ctx, m.ID)
		return
	}
	if ctx.Err() != nil {
		return // shutting down: the lease gives the claim back
	}
	sched := retry.Schedule{Min: o.tu.MinBackoff, Max: o.tu.MaxBackoff, GiveUp: o.tu.GiveUp}
	if sched.Span(m.Attempts) >= o.tu.GiveUp {
		o.c.Logger.Warn("mail: giving up a message after repeated failures", "id", m.ID, "attempts", m.Attempts, "err", err)
		o.drop(ctx, m.ID)
		return
	}
	msg := truncate(err.Error(), 300)
	o.c.Logger.Info("mail: send failed; will retry", "id", m.ID, "attempts", m.Attempts, "err", msg)
	if rerr := o.c.Store.RetryMail(ctx, m.ID, o.now().Add(sched.Backoff(m.Attempts)), msg); rerr != nil {
		o.c.Logger.Warn("mail: cannot reschedule a message; its lease will", "id", m.ID, "err", rerr)
	}
}

func (o *Outbox) drop(ctx context.Context, id string) {
	if err := o.c.Store.DeleteMail(ctx, id); err != nil {
		o.c.Logger.Warn("mail: cannot delete a message from the outbox; it may be sent again", "id", id, "err", err)
	}
}

func (o *Outbox) now() time.Time { return sesame.ClockOrSystem(o.c.Clock).Now().UTC() }

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
