package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/retry"
)

// Tuning are the dispatcher's intervals and limits. A zero field takes
// its [DefaultTuning] value.
type Tuning struct {
	Poll           time.Duration // claim due messages at least this often
	Lease          time.Duration // a claim's lease; more than RequestTimeout
	MinBackoff     time.Duration // delay after the first failed attempt
	MaxBackoff     time.Duration // retry delay cap
	GiveUp         time.Duration // retry schedule span after which a message is dead-lettered
	Workers        int           // deliveries at once
	RequestTimeout time.Duration // one attempt's HTTP exchange, from connect to the end of the answer
}

// DefaultTuning: 8 workers, 10 s per attempt, a claim lease of 30 s,
// retries after 5 s doubling up to 1 h (with jitter), dead-lettered once
// the schedule has run for about 24 hours (about 36 attempts: TestDeadLetterAfterGiveUpThenRetry saw 37).
var DefaultTuning = Tuning{
	Poll:           2 * time.Second,
	Lease:          30 * time.Second,
	MinBackoff:     5 * time.Second,
	MaxBackoff:     time.Hour,
	GiveUp:         24 * time.Hour,
	Workers:        8,
	RequestTimeout: 10 * time.Second,
}

func (tu Tuning) withDefaults() Tuning {
	d := DefaultTuning
	set := func(dst *time.Duration, v time.Duration) {
		if v > 0 {
			*dst = v
		}
	}
	set(&d.Poll, tu.Poll)
	set(&d.Lease, tu.Lease)
	set(&d.MinBackoff, tu.MinBackoff)
	set(&d.MaxBackoff, tu.MaxBackoff)
	set(&d.GiveUp, tu.GiveUp)
	set(&d.RequestTimeout, tu.RequestTimeout)
	if tu.Workers > 0 {
		d.Workers = tu.Workers
	}
	if d.Lease <= d.RequestTimeout {
		d.Lease = d.RequestTimeout + 5*time.Second // a claim outlives its attempt
	}
	return d
}

// Config configures a [Dispatcher].
type Config struct {
	Store      Store
	Endpoints  []Endpoint   // each with at least one key
	HTTPClient *http.Client // default: a client that follows no redirect
	Clock      sesame.Clock // default the system clock
	Logger     *slog.Logger // default slog.Default()
	Tuning     Tuning
}

// Dispatcher delivers the outbox's messages: it claims due messages
// ([Store.ClaimWebhooks], with a lease, so that two nodes never deliver
// one message at once and a node that dies gives its claims back when
// the lease ends), POSTs each signed to its endpoint, Workers at a time
// and each attempt bounded by RequestTimeout (a receiver that hangs holds
// one worker for that long, and nothing else), deletes it on a 2xx
// answer, and otherwise schedules the next attempt with exponential
// backoff and jitter from crypto/rand; once the schedule has run for
// GiveUp (about 24 h) the message is dead-lettered, kept for `sesame
// webhooks list --dead` and `sesame webhooks retry`. Delivery is at
// least once: a node that dies after the receiver answered and before
// the message was deleted sends it again, with the same webhook-id.
// Every node of a cluster may run one.
type Dispatcher struct {
	cfg   Config
	tu    Tuning
	byURL map[string]*Endpoint
	kick  chan struct{}
	done  chan struct{}

	mu      sync.Mutex
	nextDue time.Time
}

// NewDispatcher returns a dispatcher; Run starts it.
func NewDispatcher(cfg Config) (*Dispatcher, error) {
	if cfg.Store == nil {
		return nil, errors.New("webhook: a dispatcher needs a store")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Clock = sesame.ClockOrSystem(cfg.Clock)
	d := &Dispatcher{cfg: cfg, tu: cfg.Tuning.withDefaults(), byURL: map[string]*Endpoint{},
		kick: make(chan struct{}, 1), done: make(chan struct{}, 1)}
	for i := range cfg.Endpoints {
		ep := &cfg.Endpoints[i]
		if len(ep.Keys) == 0 {
			return nil, fmt.Errorf("webhook: endpoint %d has no signing key", i)
		}
		d.byURL[ep.URL] = ep
	}
	return d, nil
}

// Kick makes the dispatcher claim due messages now (a [Sink] queued
// some). It never blocks.
func (d *Dispatcher) Kick() { signal(d.kick) }

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, and returns once the attempts in flight
// have stopped (each gives its claim back, due at once).
func (d *Dispatcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	busy := make(chan struct{}, d.tu.Workers)
	failing := false
	for {
		free := d.tu.Workers - len(busy) // only this loop adds to busy
		if free > 0 {
			now := d.cfg.Clock.Now().UTC()
			ms, err := d.cfg.Store.ClaimWebhooks(ctx, now, now.Add(d.tu.Lease), free)
			if ctx.Err() != nil {
				return
			}
			switch {
			case err != nil && !failing:
				d.cfg.Logger.Warn("webhook: cannot claim due messages; retrying", "err", err)
				failing = true
			case err == nil && failing:
				d.cfg.Logger.Info("webhook: claiming messages again")
				failing = false
			}
			for _, m := range ms {
				busy <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					d.deliver(ctx, m)
					<-busy
					signal(d.done)
				}()
			}
			if len(ms) == free {
				continue // there may be more due
			}
		}
		var done chan struct{}
		if free == 0 {
			done = d.done
		}
		wait := d.tu.Poll
		d.mu.Lock()
		if !d.nextDue.IsZero() {
			wait = min(wait, max(d.nextDue.Sub(d.cfg.Clock.Now()), 0))
			d.nextDue = time.Time{}
		}
		d.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-d.kick:
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
}

// deliver makes one attempt and records its outcome.
func (d *Dispatcher) deliver(ctx context.Context, m *Message) {
	log := d.cfg.Logger.With("webhook_id", m.ID, "event", m.Type)
	var err error
	ep := d.byURL[m.URL]
	if ep == nil {
		// Removed from this node's configuration (or not yet added to
		// it, during a rolling change): a failed attempt, so that it is
		// dead-lettered if the endpoint stays away.
		err = errors.New("the endpoint is not in this node's configuration")
	} else {
		err = d.post(ctx, ep, m)
	}
	if err == nil {
		// Delivered: remove it even when shutting down meanwhile, so that
		// it is not sent again.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := d.cfg.Store.DeleteWebhook(dctx, m.ID); err != nil {
			log.Warn("webhook: delivered, but cannot remove it from the outbox: it will be sent again", "err", err)
			return
		}
		log.Debug("webhook: delivered", "attempts", m.Attempts)
		return
	}
	if ctx.Err() != nil {
		// Shutting down mid-attempt: give the claim back, due now, so that
		// the next run or another node need not wait for the lease.
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = d.cfg.Store.RetryWebhook(bg, m.ID, d.cfg.Clock.Now().UTC(), "interrupted by a shutdown")
		cancel()
		return
	}
	reason := err.Error()
	if d.tu.scheduleSpan(m.Attempts) >= d.tu.GiveUp {
		if err := d.cfg.Store.KillWebhook(ctx, m.ID, d.cfg.Clock.Now().UTC(), reason); err != nil {
			log.Warn("webhook: cannot dead-letter a message; it will be tried again", "err", err)
			return
		}
		log.Warn("webhook: message dead-lettered after about 24 hours of failed attempts: see sesame webhooks list --dead, and sesame webhooks retry",
			"attempts", m.Attempts, "last_error", reason)
		return
	}
	due := d.cfg.Clock.Now().Add(d.tu.backoff(m.Attempts)).UTC()
	if err := d.cfg.Store.RetryWebhook(ctx, m.ID, due, reason); err != nil {
		log.Warn("webhook: cannot schedule the next attempt; the claim lapses at its lease", "err", err)
		return
	}
	log.Debug("webhook: attempt failed; will retry", "attempts", m.Attempts, "err", reason, "retry_at", due)
	d.mu.Lock()
	if d.nextDue.IsZero() || due.Before(d.nextDue) {
		d.nextDue = due
	}
	d.mu.Unlock()
}

// post sends one attempt: the payload, signed with the endpoint's keys at
// the attempt's time. A 2xx answer is success; anything else (3xx
// included: redirects are not followed) is a failure. The error holds
// neither the URL (it may hold a credential) nor the payload.
func (d *Dispatcher) post(ctx context.Context, ep *Endpoint, m *Message) error {
	ctx, cancel := context.WithTimeout(ctx, d.tu.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(m.Payload))
	if err != nil {
		return errors.New("the endpoint URL is not valid")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Sesame-Webhooks/1")
	SetHeaders(req.Header, ep.Keys, m.ID, d.cfg.Clock.Now(), m.Payload)
	resp, err := d.cfg.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %s", d.tu.RequestTimeout)
		}
		return fmt.Errorf("request failed: %v", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return errors.New("answered HTTP " + strconv.Itoa(resp.StatusCode))
}

// schedule is the tuning's retry schedule (package retry, shared with
// the other outbox).
func (tu *Tuning) schedule() retry.Schedule {
	return retry.Schedule{Min: tu.MinBackoff, Max: tu.MaxBackoff, GiveUp: tu.GiveUp}
}

// nominalBackoff is the delay after the attempts-th failed attempt,
// without jitter: MinBackoff doubling up to MaxBackoff.
func (tu *Tuning) nominalBackoff(attempts int) time.Duration {
	return tu.schedule().Nominal(attempts)
}

// backoff is nominalBackoff with jitter from crypto/rand, in [3/4, 1] of it.
func (tu *Tuning) backoff(attempts int) time.Duration { return tu.schedule().Backoff(attempts) }

// scheduleSpan is about how long the retry schedule has run after the
// attempts-th attempt, plus the delay before the next. A revived
// message starts over.
func (tu *Tuning) scheduleSpan(attempts int) time.Duration { return tu.schedule().Span(attempts) }
