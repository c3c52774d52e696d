package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

// Endpoint is one receiver of webhooks.
type Endpoint struct {
	// URL is where the webhooks are POSTed (http or https; https
	// outside a loopback address, checked by the configuration).
	URL string
	// Events is the filter: exact event types, or "*".
	Events Filter
	// Keys are the signing keys ([ParseSecret]): one, or two during a
	// rotation (every request then carries two signatures). A [Sink]
	// needs none; a [Dispatcher] needs at least one.
	Keys [][]byte
}

// String describes the endpoint without its keys.
func (e Endpoint) String() string {
	return fmt.Sprintf("webhook endpoint %s events=%s keys=%d (redacted)", e.URL, strings.Join(e.Events, ","), len(e.Keys))
}

// GoString is String: %#v does not print the keys either.
func (e Endpoint) GoString() string { return e.String() }

// LogValue is String, for slog.
func (e Endpoint) LogValue() slog.Value { return slog.StringValue(e.String()) }

// Sink is an [sesame.EventSink] that passes every event to Next (the
// audit log) and queues a webhook for each endpoint whose filter takes
// it: one insert into the outbox (Store), never a network call, so that
// the caller (a login) waits for one local write and never for a
// receiver. A failed insert is logged (the event's type, never its data)
// and the event is not delivered: see docs/webhooks.md for what is and is
// not atomic with the event's cause.
type Sink struct {
	Next      sesame.EventSink // may be nil
	Store     Store
	Endpoints []Endpoint
	Clock     sesame.Clock // for events without a time; default the system clock
	Logger    *slog.Logger // default slog.Default()
	// Notify, when set, is called after messages are queued: the local
	// dispatcher's [Dispatcher.Kick], so that they go out at once.
	Notify func()
	// Timeout bounds the insert (default 5 s). The insert does not end
	// with the caller's context: a client that goes away after its login
	// does not cancel the login's event.
	Timeout time.Duration
}

// Emit implements [sesame.EventSink]. An event whose webhooks the store
// already queued in the transaction of its cause ([sesame.TxEvents]) goes
// to Next only.
func (s *Sink) Emit(ctx context.Context, e sesame.Event) {
	if s.Next != nil {
		s.Next.Emit(ctx, e)
	}
	if sesame.TxEventsFrom(ctx).Covers(e) {
		if s.Notify != nil {
			s.Notify()
		}
		return
	}
	var urls []string
	for i := range s.Endpoints {
		if s.Endpoints[i].Events.Match(e.Type) {
			urls = append(urls, s.Endpoints[i].URL)
		}
	}
	if len(urls) == 0 {
		return
	}
	if err := s.queue(ctx, e, urls); err != nil {
		log := s.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("webhook: cannot queue an event's webhooks; they are lost", "event", string(e.Type), "endpoints", len(urls), "err", err)
		return
	}
	if s.Notify != nil {
		s.Notify()
	}
}

// Messages returns the outbox messages of events, one per event and
// endpoint whose filter takes it, without storing them: what a SQL store
// inserts in the transaction of the events' cause ([sesame.TxEvents];
// the store is given this method by package app).
func (s *Sink) Messages(events []sesame.Event) ([]*Message, error) {
	now := sesame.ClockOrSystem(s.Clock).Now().UTC()
	var out []*Message
	for _, e := range events {
		var urls []string
		for i := range s.Endpoints {
			if s.Endpoints[i].Events.Match(e.Type) {
				urls = append(urls, s.Endpoints[i].URL)
			}
		}
		ms, err := messages(e, urls, now)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

func messages(e sesame.Event, urls []string, now time.Time) ([]*Message, error) {
	if len(urls) == 0 {
		return nil, nil
	}
	if e.Time.IsZero() {
		e.Time = now
	}
	body, err := NewPayload(e)
	if err != nil {
		return nil, err
	}
	ms := make([]*Message, len(urls))
	for i, u := range urls {
		ms[i] = &Message{ID: NewMessageID(), URL: u, Type: string(e.Type), Payload: body, CreatedAt: now, DueAt: now}
	}
	return ms, nil
}

func (s *Sink) queue(ctx context.Context, e sesame.Event, urls []string) error {
	ms, err := messages(e, urls, sesame.ClockOrSystem(s.Clock).Now().UTC())
	if err != nil {
		return err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	return s.Store.AddWebhooks(ictx, ms)
}
