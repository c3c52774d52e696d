package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/audit"
)

var _ audit.Provider = (*DB)(nil)

// AuditLog is the durable audit log (migration 0016).
func (db *DB) AuditLog() audit.Log { return auditLog{db} }

type auditLog struct{ db *DB }

// Append implements [audit.Log], in one transaction. Text that PostgreSQL
// cannot store (invalid UTF-8, NUL) is stored with U+FFFD in its place.
func (l auditLog) Append(ctx context.Context, events []sesame.Event) error {
	if len(events) == 0 {
		return nil
	}
	tx, err := l.db.pool.Begin(ctx)
	if err != nil {
		return writeErr("append audit events", err)
	}
	defer tx.Rollback(ctx)
	b := &pgx.Batch{}
	for _, e := range events {
		r := audit.FromEvent(e)
		b.Queue(`INSERT INTO audit_events (at, type, user_id, username, session_id, ip, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			nanos(r.At), safeText(string(r.Type)), safeText(r.UserID), safeText(r.Username), safeText(r.SessionID), safeText(r.IP), safeText(r.Reason))
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return writeErr("append audit events", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return writeErr("append audit events", err)
	}
	return nil
}

// Recent implements [audit.Log].
func (l auditLog) Recent(ctx context.Context, f audit.Filter) ([]audit.Record, error) {
	if !storableText(string(f.Type)) || !storableText(f.Username) {
		return nil, nil // nothing stored has such text
	}
	q := `SELECT seq, at, type, user_id, username, session_id, ip, reason FROM audit_events WHERE true`
	var args []any
	if f.Type != "" {
		args = append(args, string(f.Type))
		q += fmt.Sprintf(` AND type = $%d`, len(args))
	}
	if f.Username != "" {
		args = append(args, f.Username)
		q += fmt.Sprintf(` AND username = $%d`, len(args))
	}
	if f.Before > 0 {
		args = append(args, f.Before)
		q += fmt.Sprintf(` AND seq < $%d`, len(args))
	}
	args = append(args, f.EffectiveLimit())
	q += fmt.Sprintf(` ORDER BY seq DESC LIMIT $%d`, len(args))
	rows, err := l.db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, readErr("audit events", err)
	}
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		var (
			r  audit.Record
			at int64
			ty string
		)
		if err := rows.Scan(&r.Seq, &at, &ty, &r.UserID, &r.Username, &r.SessionID, &r.IP, &r.Reason); err != nil {
			return nil, readErr("audit events", err)
		}
		r.At, r.Type = fromNanos(at), sesame.EventType(ty)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, readErr("audit events", err)
	}
	return out, nil
}

// Prune implements [audit.Log].
func (l auditLog) Prune(ctx context.Context, olderThan time.Time) (int, error) {
	tag, err := l.db.pool.Exec(ctx, `DELETE FROM audit_events WHERE at < $1`, nanos(olderThan))
	if err != nil {
		return 0, writeErr("prune audit events", err)
	}
	return int(tag.RowsAffected()), nil
}
