package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/webhook"
)

var _ webhook.Store = (*DB)(nil)

// The webhook outbox (migration 0010). Every write goes through the one
// writer connection (BEGIN IMMEDIATE for the transactions), which also
// serializes the claims of several processes on one file.

const webhookColumns = `id, url, type, payload, created_at, due_at, attempts, last_error, dead_at`

func scanWebhooks(rows *sql.Rows) ([]*webhook.Message, error) {
	defer rows.Close()
	var out []*webhook.Message
	for rows.Next() {
		var (
			m            webhook.Message
			created, due int64
			dead         sql.NullInt64
		)
		if err := rows.Scan(&m.ID, &m.URL, &m.Type, &m.Payload, &created, &due, &m.Attempts, &m.LastError, &dead); err != nil {
			return nil, err
		}
		m.CreatedAt, m.DueAt, m.DeadAt = fromNanos(created), fromNanos(due), fromNullNanos(dead)
		out = append(out, &m)
	}
	return out, rows.Err()
}

// AddWebhooks implements [webhook.Store], in one transaction.
func (db *DB) AddWebhooks(ctx context.Context, ms []*webhook.Message) error {
	if len(ms) == 0 {
		return nil
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
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
	})
	if constraint(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return sesame.Errorf(sesame.EConflict, "webhook message id exists")
	}
	if err != nil {
		return fmt.Errorf("sqlite: add webhooks: %w", err)
	}
	return nil
}

// ClaimWebhooks implements [webhook.Store]: one write transaction, which
// SQLite runs alone, reads the due messages through the due index and
// moves each one's due_at.
func (db *DB) ClaimWebhooks(ctx context.Context, now, until time.Time, limit int) ([]*webhook.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []*webhook.Message
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhook_outbox
			WHERE dead_at IS NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?`, nanos(now), limit)
		if err != nil {
			return err
		}
		if out, err = scanWebhooks(rows); err != nil {
			return err
		}
		for _, m := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_outbox SET due_at = ?, attempts = attempts + 1 WHERE id = ?`,
				nanos(until), m.ID); err != nil {
				return err
			}
			m.DueAt = fromNanos(nanos(until))
			m.Attempts++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim webhooks: %w", err)
	}
	return out, nil
}

// RetryWebhook implements [webhook.Store].
func (db *DB) RetryWebhook(ctx context.Context, id string, due time.Time, lastError string) error {
	if _, err := db.w.ExecContext(ctx, `UPDATE webhook_outbox SET due_at = ?, last_error = ? WHERE id = ? AND dead_at IS NULL`,
		nanos(due), lastError, id); err != nil {
		return fmt.Errorf("sqlite: retry webhook: %w", err)
	}
	return nil
}

// DeleteWebhook implements [webhook.Store].
func (db *DB) DeleteWebhook(ctx context.Context, id string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM webhook_outbox WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: delete webhook: %w", err)
	}
	return nil
}

// KillWebhook implements [webhook.Store].
func (db *DB) KillWebhook(ctx context.Context, id string, at time.Time, lastError string) error {
	if _, err := db.w.ExecContext(ctx, `UPDATE webhook_outbox SET dead_at = ?, last_error = ? WHERE id = ?`,
		nanos(at), lastError, id); err != nil {
		return fmt.Errorf("sqlite: dead-letter webhook: %w", err)
	}
	return nil
}

// ListWebhooks implements [webhook.Store], in primary-key order.
func (db *DB) ListWebhooks(ctx context.Context, dead bool, after string, limit int) ([]*webhook.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	cond := `dead_at IS NULL`
	if dead {
		cond = `dead_at IS NOT NULL`
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhook_outbox
		WHERE id > ? AND `+cond+` ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list webhooks: %w", err)
	}
	out, err := scanWebhooks(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list webhooks: %w", err)
	}
	return out, nil
}

// ReviveWebhook implements [webhook.Store].
func (db *DB) ReviveWebhook(ctx context.Context, id string, due time.Time) error {
	res, err := db.w.ExecContext(ctx, `UPDATE webhook_outbox SET dead_at = NULL, due_at = ?, attempts = 0
		WHERE id = ? AND dead_at IS NOT NULL`, nanos(due), id)
	if err != nil {
		return fmt.Errorf("sqlite: revive webhook: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: revive webhook: %w", err)
	}
	if n == 0 {
		return sesame.ErrNotFound
	}
	return nil
}

// ReviveDeadWebhooks implements [webhook.Store].
func (db *DB) ReviveDeadWebhooks(ctx context.Context, due time.Time) (int, error) {
	res, err := db.w.ExecContext(ctx, `UPDATE webhook_outbox SET dead_at = NULL, due_at = ?, attempts = 0
		WHERE dead_at IS NOT NULL`, nanos(due))
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil {
			return int(n), nil
		}
	}
	return 0, fmt.Errorf("sqlite: revive dead webhooks: %w", err)
}
