package sesame

import (
	"context"
	"sync"
)

// TxEvents are the lifecycle events of one store write, carried in the
// write's context, so that a store that keeps the webhook outbox (SQLite,
// PostgreSQL) writes their outbox rows in the same transaction as the
// write itself: the write and its events are committed together or not at
// all (issue 14: webhooks at least once, from a durable outbox written in
// the same transaction as the event's cause).
//
// The caller builds the events before the write, passes the context of
// [WithTxEvents] to that one store call only, and then emits the same
// events as always; the webhook sink skips the ones the store reports
// queued ([TxEvents.Covers]) and queues the others itself, after the write
// (a store that keeps no outbox, such as Redis for sessions: at most once
// there, see docs/webhooks.md). The events still go to the audit log.
//
// The first write that takes the events ([TxEvents.Take]) is the one they
// belong to: a later write with the same context queues nothing.
type TxEvents struct {
	mu     sync.Mutex
	events []Event
	// Revoked, when set, is the event of each session a write ends
	// (session.Store's DeleteByUser), built by the store for every ID it
	// deletes.
	Revoked func(sessionID string) Event
	// Removed, when set, is the event of a write that removes n records
	// (factor.Store's DeleteUserFactors: factor.reset, whose reason
	// counts them), built by the store with the count it removed.
	Removed func(n int) Event
	// Added, when set, is the event of a write that adds the record id
	// named name (passkey.Store's AddPasskey: passkey.registered, whose
	// ID the write's caller makes), built by the store.
	Added  func(id, name string) Event
	taken  bool
	queued []Event
}

type txEventsKey struct{}

// WithTxEvents returns ctx carrying events for the next store write.
func WithTxEvents(ctx context.Context, events ...Event) (context.Context, *TxEvents) {
	te := &TxEvents{events: events}
	return context.WithValue(ctx, txEventsKey{}, te), te
}

// TxEventsFrom returns the events ctx carries for a store write, or nil.
func TxEventsFrom(ctx context.Context) *TxEvents {
	te, _ := ctx.Value(txEventsKey{}).(*TxEvents)
	return te
}

// Take hands the events to a store write, once: it returns them and true
// the first time, nothing and false after.
func (t *TxEvents) Take() ([]Event, bool) {
	if t == nil {
		return nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.taken {
		return nil, false
	}
	t.taken = true
	return append([]Event(nil), t.events...), true
}

// RemovedEvents is the event Removed builds for a write that removed n
// records, or none when t or Removed is nil.
func (t *TxEvents) RemovedEvents(n int) []Event {
	if t == nil || t.Removed == nil {
		return nil
	}
	return []Event{t.Removed(n)}
}

// AddedEvents is the event Added builds for a write that added the
// record id named name, or none when t or Added is nil.
func (t *TxEvents) AddedEvents(id, name string) []Event {
	if t == nil || t.Added == nil {
		return nil
	}
	return []Event{t.Added(id, name)}
}

// MarkQueued records that the store committed the outbox rows of events
// (those it took, and those it built with Revoked) with its write.
func (t *TxEvents) MarkQueued(events []Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.queued = append(t.queued, events...)
}

// Covers reports whether e's webhooks were queued with the write: an
// event of the same type, user, session and reason (its time aside) was
// marked queued.
func (t *TxEvents) Covers(e Event) bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, q := range t.queued {
		if q.Type == e.Type && q.UserID == e.UserID && q.SessionID == e.SessionID && q.Reason == e.Reason && q.Username == e.Username {
			return true
		}
	}
	return false
}
