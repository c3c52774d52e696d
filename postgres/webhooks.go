package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/webhook"
)

var _ webhook.Store = (*DB)(nil)

// The webhook outbox (migration 0011). Every method is one statement or
// one batch (one implicit transaction), so several processes may share
// the database.

const webhookColumns = `id, url, type, payload, created_at, due_at, attempts, last_error, dead_at`

func scanWebhook(row pgx.CollectableRow, extra ...any) (*webhook.Message, error) {
	var (
		m            webhook.Message
		created, due int64
		dead         *int64
	)
	dest := append([]any{&m.ID, &m.URL, &m.Type, &m.Payload, &created, &due, &m.Attempts, &m.LastError, &dead}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	m.CreatedAt, m.DueAt, m.DeadAt = fromNanos(created), fromNanos(due), fromNullNanos(dead)
	return &m, nil
}

// AddWebhooks implements [webhook.Store], in one batch (one transaction:
// all or none).
func (db *DB) AddWebhooks(ctx context.Context, ms []*webhook.Message) error {
	if len(ms) == 0 {
		return nil
	}
	for _, m := range ms {
		if !storableText(m.ID) || !storableText(m.URL) || !storableText(m.Type) {
			return sesame.Errorf(sesame.EInvalid, "text is not valid UTF-8 or contains NUL")
		}
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return writeErr("add webhooks", err)
	}
	defer tx.Rollback(ctx)
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
		if pgCode(err) == codeUniqueViolation {
			return sesame.Errorf(sesame.EConflict, "webhook message id exists")
		}
		return writeErr("add webhooks", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return writeErr("add webhooks", err)
	}
	return nil
}

// claimWebhooks takes the due rows no other claimer holds (SKIP LOCKED),
// earliest first, and moves them ahead, in one statement. A claimer that
// reaches a row another one has just moved re-checks due_at against now
// (READ COMMITTED re-evaluates the WHERE on the new row version) and
// leaves it.
const claimWebhooks = `WITH due AS (
		SELECT id, due_at FROM webhook_outbox
		WHERE dead_at IS NULL AND due_at <= $1
		ORDER BY due_at, id LIMIT $3
		FOR UPDATE SKIP LOCKED)
	UPDATE webhook_outbox w SET due_at = $2, attempts = w.attempts + 1
	FROM due WHERE w.id = due.id
	RETURNING w.id, w.url, w.type, w.payload, w.created_at, w.due_at, w.attempts, w.last_error, w.dead_at, due.due_at`

// ClaimWebhooks implements [webhook.Store] in one statement.
func (db *DB) ClaimWebhooks(ctx context.Context, now, until time.Time, limit int) ([]*webhook.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	type claimed struct {
		m   *webhook.Message
		was int64
	}
	rows, err := db.pool.Query(ctx, claimWebhooks, nanos(now), nanos(until), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim webhooks: %w", err)
	}
	got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claimed, error) {
		var c claimed
		var err error
		c.m, err = scanWebhook(row, &c.was)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim webhooks: %w", err)
	}
	// RETURNING has no order: earliest due first, as claimed.
	slices.SortFunc(got, func(a, b claimed) int {
		if a.was != b.was {
			if a.was < b.was {
				return -1
			}
			return 1
		}
		return strings.Compare(a.m.ID, b.m.ID)
	})
	out := make([]*webhook.Message, len(got))
	for i, c := range got {
		out[i] = c.m
	}
	return out, nil
}

// RetryWebhook implements [webhook.Store]. lastError is stored with
// invalid UTF-8 and NUL replaced by U+FFFD.
func (db *DB) RetryWebhook(ctx context.Context, id string, due time.Time, lastError string) error {
	if !storableText(id) {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `UPDATE webhook_outbox SET due_at = $2, last_error = $3 WHERE id = $1 AND dead_at IS NULL`,
		id, nanos(due), safeText(lastError)); err != nil {
		return writeErr("retry webhook", err)
	}
	return nil
}

// DeleteWebhook implements [webhook.Store].
func (db *DB) DeleteWebhook(ctx context.Context, id string) error {
	if !storableText(id) {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM webhook_outbox WHERE id = $1`, id); err != nil {
		return writeErr("delete webhook", err)
	}
	return nil
}

// KillWebhook implements [webhook.Store].
func (db *DB) KillWebhook(ctx context.Context, id string, at time.Time, lastError string) error {
	if !storableText(id) {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `UPDATE webhook_outbox SET dead_at = $2, last_error = $3 WHERE id = $1`,
		id, nanos(at), safeText(lastError)); err != nil {
		return writeErr("dead-letter webhook", err)
	}
	return nil
}

// ListWebhooks implements [webhook.Store], in primary-key order (collation
// "C": bytewise).
func (db *DB) ListWebhooks(ctx context.Context, dead bool, after string, limit int) ([]*webhook.Message, error) {
	if limit <= 0 || !storableText(after) {
		return nil, nil
	}
	cond := `dead_at IS NULL`
	if dead {
		cond = `dead_at IS NOT NULL`
	}
	rows, err := db.pool.Query(ctx, `SELECT `+webhookColumns+` FROM webhook_outbox
		WHERE id > $1 AND `+cond+` ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, readErr("list webhooks", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*webhook.Message, error) { return scanWebhook(row) })
	if err != nil {
		return nil, readErr("list webhooks", err)
	}
	return out, nil
}

// ReviveWebhook implements [webhook.Store].
func (db *DB) ReviveWebhook(ctx context.Context, id string, due time.Time) error {
	if !storableText(id) {
		return sesame.ErrNotFound
	}
	tag, err := db.pool.Exec(ctx, `UPDATE webhook_outbox SET dead_at = NULL, due_at = $2, attempts = 0
		WHERE id = $1 AND dead_at IS NOT NULL`, id, nanos(due))
	if err != nil {
		return writeErr("revive webhook", err)
	}
	if tag.RowsAffected() == 0 {
		return sesame.ErrNotFound
	}
	return nil
}

// ReviveDeadWebhooks implements [webhook.Store].
func (db *DB) ReviveDeadWebhooks(ctx context.Context, due time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE webhook_outbox SET dead_at = NULL, due_at = $1, attempts = 0
		WHERE dead_at IS NOT NULL`, nanos(due))
	if err != nil {
		return 0, writeErr("revive dead webhooks", err)
	}
	return int(tag.RowsAffected()), nil
}
