package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/sesame-auth/sesame/postgres"
	"github.com/sesame-auth/sesame/sqlite"
	"github.com/sesame-auth/sesame/webhook"
)

// The webhook wiring (key webhooks; package webhook, docs/webhooks.md):
// every event goes through a webhook.Sink that queues a message per
// matching endpoint in the durable store's outbox, and a server's Start
// runs a webhook.Dispatcher that delivers them. A command queues too (an
// admin's `sesame user block` is a user.blocked webhook, delivered by the
// servers) but delivers nothing and reads no secret file.

// WithWebhookTuning sets the webhook dispatcher's intervals and limits
// (tests: short retries). Default [webhook.DefaultTuning].
func WithWebhookTuning(t webhook.Tuning) Option {
	return func(o *options) { o.webhookTuning = t }
}

// WebhookStore is the durable store's webhook outbox. It is never Redis.
// An error when the durable store keeps none.
func (a *App) WebhookStore() (webhook.Store, error) {
	ws, ok := a.durable.(webhook.Store)
	if !ok {
		return nil, errors.New("the durable store keeps no webhook outbox")
	}
	return ws, nil
}

// setupWebhooks wraps the event sink with the webhook Sink, after the
// durable store is open and before any component takes the sink. A
// server also builds its dispatcher (it reads the secrets now, so that a
// bad secret file stops New, not the first delivery).
func (a *App) setupWebhooks() error {
	if len(a.cfg.Webhooks) == 0 {
		return nil
	}
	ws, err := a.WebhookStore()
	if err != nil {
		return fmt.Errorf("webhooks: %v", err)
	}
	eps := make([]webhook.Endpoint, len(a.cfg.Webhooks))
	for i := range a.cfg.Webhooks {
		w := &a.cfg.Webhooks[i]
		eps[i] = webhook.Endpoint{URL: w.URL, Events: webhook.Filter(w.Events)}
		if a.opts.command {
			continue
		}
		if eps[i].Keys, err = w.ReadKeys(); err != nil {
			return fmt.Errorf("webhooks[%d]: %v", i, err)
		}
	}
	sink := &webhook.Sink{Next: a.opts.events, Store: ws, Endpoints: eps, Clock: a.opts.clock, Logger: a.logger}
	// The SQL stores queue the webhooks of sign-ups, password changes,
	// blocks and sessions created or ended in the transaction of the
	// write (sesame.TxEvents): the sink then skips those events. Session
	// state in Redis queues through the sink, after the write.
	for _, st := range []any{a.durable, a.state} {
		if q, ok := st.(interface{ QueueEventsWith(sqlite.EventEncoder) }); ok {
			q.QueueEventsWith(sink.Messages)
		}
		if q, ok := st.(interface{ QueueEventsWith(postgres.EventEncoder) }); ok {
			q.QueueEventsWith(sink.Messages)
		}
	}
	if !a.opts.command {
		d, err := webhook.NewDispatcher(webhook.Config{Store: ws, Endpoints: eps, Clock: a.opts.clock,
			Logger: a.logger, Tuning: a.opts.webhookTuning})
		if err != nil {
			return err
		}
		sink.Notify = d.Kick
		a.webhooks = d
	}
	a.opts.events = sink
	return nil
}

// startWebhooks runs the dispatcher until ctx ends (Close waits for it:
// an attempt in flight gives its claim back).
func (a *App) startWebhooks(ctx context.Context) {
	if a.webhooks == nil {
		return
	}
	a.spawn(func() { a.webhooks.Run(ctx) })
}
