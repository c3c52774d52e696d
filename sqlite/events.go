package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"

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

// evented runs write with the outbox rows of ctx's events in one
// transaction, or, when there are none to queue, alone with tx nil (the
// write's own statement, on the writer connection). more are events the
// write made itself (sessions it deleted); they are queued too.
func (db *DB) evented(ctx context.Context, write func(tx *sql.Tx) (more []sesame.Event, err error)) error {
	return db.eventedIn(ctx, false, write)
}

// eventedTx is evented for a write of several statements: it always runs
// in a transaction, with the outbox rows of ctx's events when there are
// some to queue.
func (db *DB) eventedTx(ctx context.Context, write func(tx *sql.Tx) (more []sesame.Event, err error)) error {
	return db.eventedIn(ctx, true, write)
}

func (db *DB) eventedIn(ctx context.Context, alwaysTx bool, write func(tx *sql.Tx) (more []sesame.Event, err error)) error {
	te := sesame.TxEventsFrom(ctx)
	encp := db.events.enc.Load()
	var events []sesame.Event
	ok := false
	if te != nil && encp != nil {
		events, ok = te.Take()
	}
	if !ok && !alwaysTx {
		_, err := write(nil)
		return err
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	more, err := write(tx)
	if err != nil {
		return err
	}
	if !ok {
		return tx.Commit()
	}
	events = append(events, more...)
	ms, err := (*encp)(events)
	if err != nil {
		return fmt.Errorf("sqlite: webhooks of the write: %w", err)
	}
	if err := insertWebhooks(ctx, tx, ms); err != nil {
		return fmt.Errorf("sqlite: webhooks of the write: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	te.MarkQueued(events)
	return nil
}

// stmt is st on the writer connection, or in tx when there is one.
func stmt(ctx context.Context, tx *sql.Tx, st *sql.Stmt) *sql.Stmt {
	if tx == nil {
		return st
	}
	return tx.StmtContext(ctx, st)
}

// writer is the writer connection, or a transaction.
type writer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// on is tx, or the writer connection when tx is nil.
func (db *DB) on(tx *sql.Tx) writer {
	if tx == nil {
		return db.w
	}
	return tx
}

// insertWebhooks inserts outbox messages in tx.
func insertWebhooks(ctx context.Context, tx *sql.Tx, ms []*webhook.Message) error {
	for _, m := range ms {
		payload := m.Payload
		if payload == nil {
			payload = []byte{}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_outbox (`+webhookColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.ID, m.URL, m.Type, payload, nanos(m.CreatedAt), nanos(m.DueAt), m.Attempts, m.LastError, nanosOrNil(m.DeadAt)); err != nil {
			return err
		}
	}
	return nil
}
