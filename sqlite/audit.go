package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/audit"
)

var _ audit.Provider = (*DB)(nil)

// AuditLog is the durable audit log (migration 0015).
func (db *DB) AuditLog() audit.Log { return auditLog{db} }

type auditLog struct{ db *DB }

// Append implements [audit.Log], in one transaction on the writer.
func (l auditLog) Append(ctx context.Context, events []sesame.Event) error {
	if len(events) == 0 {
		return nil
	}
	err := l.db.inTx(ctx, func(tx *sql.Tx) error {
		for _, e := range events {
			r := audit.FromEvent(e)
			if _, err := tx.ExecContext(ctx, `INSERT INTO audit_events (at, type, user_id, username, session_id, ip, reason)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, nanos(r.At), string(r.Type), r.UserID, r.Username, r.SessionID, r.IP, r.Reason); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: append audit events: %w", err)
	}
	return nil
}

// Recent implements [audit.Log].
func (l auditLog) Recent(ctx context.Context, f audit.Filter) ([]audit.Record, error) {
	q := `SELECT seq, at, type, user_id, username, session_id, ip, reason FROM audit_events WHERE 1=1`
	var args []any
	if f.Type != "" {
		q += ` AND type = ?`
		args = append(args, string(f.Type))
	}
	if f.Username != "" {
		q += ` AND username = ?`
		args = append(args, f.Username)
	}
	if f.Before > 0 {
		q += ` AND seq < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, f.EffectiveLimit())
	rows, err := l.db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit events: %w", err)
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
			return nil, fmt.Errorf("sqlite: audit events: %w", err)
		}
		r.At, r.Type = fromNanos(at), sesame.EventType(ty)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: audit events: %w", err)
	}
	return out, nil
}

// Prune implements [audit.Log].
func (l auditLog) Prune(ctx context.Context, olderThan time.Time) (int, error) {
	res, err := l.db.w.ExecContext(ctx, `DELETE FROM audit_events WHERE at < ?`, nanos(olderThan))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune audit events: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
