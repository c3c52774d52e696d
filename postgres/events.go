package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/webhook"
)

// The webhook outbox rows of a write's events, in the write's own
// transaction ([sesame.TxEvents]): users created and updated (sign-up,
// password, block), sessions created and deleted, second factors,
// recovery codes, the second-factor requirement, passkeys added and
// removed, and email addresses set. Without events in the
// context, or without QueueEventsWith, a write is its one statement as
// before.

// EventEncoder turns events into their webhook outbox messages
// ([webhook.Sink.Messages]).
type EventEncoder func([]sesame.Event) ([]*webhook.Message, error)

type eventState struct{ enc atomic.Pointer[EventEncoder] }

// QueueEventsWith makes every write whose context carries
// [sesame.TxEvents] insert the outbox messages enc makes of them in the
// write's transaction, and mark them queued once it committed. Package
// app calls it when webhooks are configured.
func (db *DB) QueueEventsWith(enc EventEncoder) { db.events.enc.Store(&enc) }

// querier is the pool, or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// errNothing ends an evented write that changed nothing, so that its
// events are not queued.
var errNothing = errors.New("postgres: nothing to change")

// evented runs write with the outbox rows of ctx's events in one
// transaction, or, when there are none to queue, alone on the pool. more
// are events the write made itself (sessions it deleted); they are queued
// too.
func (db *DB) evented(ctx context.Context, write func(q querier) (more []sesame.Event, err error)) error {
	return db.eventedIn(ctx, false, write)
}

// eventedTx is evented for a write of several statements: it always runs
// in a transaction, with the outbox rows of ctx's events when there are
// some to queue.
func (db *DB) eventedTx(ctx context.Context, write func(q querier) (more []sesame.Event, err error)) error {
	return db.eventedIn(ctx, true, write)
}

func (db *DB) eventedIn(ctx context.Context, alwaysTx bool, write func(q querier) (more []sesame.Event, err error)) error {
	te := sesame.TxEventsFrom(ctx)
	encp := db.events.enc.Load()
	var events []sesame.Event
	ok := false
	if te != nil && encp != nil {
		events, ok = te.Take()
	}
	if !ok && !alwaysTx {
		_, err := write(db.pool)
		return err
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	more, err := write(tx)
	if err != nil {
		return err
	}
	if !ok {
		return tx.Commit(ctx)
	}
	events = append(events, more...)
	ms, err := (*encp)(events)
	if err != nil {
		return fmt.Errorf("postgres: webhooks of the write: %w", err)
	}
	if len(ms) > 0 {
		b := &pgx.Batch{}
		for _, m := range ms {
			payload := m.Payload
			if payload == nil {
				payload = []byte{}
			}
			b.Queue(`INSERT INTO webhook_outbox (`+webhookColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				m.ID, m.URL, m.Type, payload, nanos(m.CreatedAt), nanos(m.DueAt), m.Attempts, safeText(m.LastError), nanosOrNil(m.DeadAt))
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("postgres: webhooks of the write: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	te.MarkQueued(events)
	return nil
}
