package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/email"
	"github.com/sesame-auth/sesame/mail"
)

var (
	_ email.Store = (*DB)(nil)
	_ mail.Store  = (*DB)(nil)
)

// Email addresses, email tokens, devices and the mail outbox (migration
// 0013). Every write goes through the one writer connection.

// SetEmail implements [email.Store].
func (db *DB) SetEmail(ctx context.Context, a *email.Address) error {
	err := db.eventedTx(ctx, func(tx *sql.Tx) ([]sesame.Event, error) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_emails WHERE user_id = ?`, a.UserID); err != nil {
			return nil, err
		}
		if a.Email == "" {
			return nil, nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO user_emails (user_id, email, email_key, verified_at) VALUES (?, ?, ?, ?)`,
			a.UserID, a.Email, email.Key(a.Email), nanosOrNil(a.VerifiedAt))
		return nil, err
	})
	if constraint(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return sesame.Errorf(sesame.EConflict, "email address is taken")
	}
	if err != nil {
		return fmt.Errorf("sqlite: set email: %w", err)
	}
	return nil
}

// EmailOf implements [email.Store].
func (db *DB) EmailOf(ctx context.Context, userID string) (*email.Address, error) {
	a := email.Address{UserID: userID}
	var verified sql.NullInt64
	err := db.r.QueryRowContext(ctx, `SELECT email, verified_at FROM user_emails WHERE user_id = ?`, userID).Scan(&a.Email, &verified)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sesame.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: email of user: %w", err)
	}
	a.VerifiedAt = fromNullNanos(verified)
	return &a, nil
}

// UserIDByEmail implements [email.Store].
func (db *DB) UserIDByEmail(ctx context.Context, key string) (string, error) {
	var id string
	err := db.r.QueryRowContext(ctx, `SELECT user_id FROM user_emails WHERE email_key = ?`, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", sesame.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: user by email: %w", err)
	}
	return id, nil
}

// PutEmailToken implements [email.Store], in one transaction.
func (db *DB) PutEmailToken(ctx context.Context, t *email.Token) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM email_tokens WHERE user_id = ? AND purpose = ?`, t.UserID, t.Purpose); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO email_tokens (hash, user_id, purpose, email, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			t.Hash, t.UserID, t.Purpose, t.Email, nanos(t.CreatedAt), nanos(t.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: put email token: %w", err)
	}
	return nil
}

// TakeEmailToken implements [email.Store]: DELETE ... RETURNING, so that
// of two takes one gets the row.
func (db *DB) TakeEmailToken(ctx context.Context, hash []byte, purpose string, now time.Time) (*email.Token, error) {
	t := email.Token{Hash: hash, Purpose: purpose}
	var created, expires int64
	err := db.w.QueryRowContext(ctx, `DELETE FROM email_tokens WHERE hash = ? AND purpose = ? RETURNING user_id, email, created_at, expires_at`,
		hash, purpose).Scan(&t.UserID, &t.Email, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sesame.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: take email token: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = fromNanos(created), fromNanos(expires)
	if !now.Before(t.ExpiresAt) {
		return nil, sesame.ErrNotFound
	}
	return &t, nil
}

// DeleteEmailTokens implements [email.Store].
func (db *DB) DeleteEmailTokens(ctx context.Context, userID, purpose string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM email_tokens WHERE user_id = ? AND purpose = ?`, userID, purpose); err != nil {
		return fmt.Errorf("sqlite: delete email tokens: %w", err)
	}
	return nil
}

// SeeDevice implements [email.Store], in one transaction.
func (db *DB) SeeDevice(ctx context.Context, userID string, hash []byte, at time.Time, userAgent string) (isNew bool, known int, err error) {
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM user_devices WHERE user_id = ?`, userID).Scan(&known); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE user_devices SET last_seen = max(last_seen, ?), user_agent = ? WHERE user_id = ? AND hash = ?`,
			nanos(at), userAgent, userID, hash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		isNew = true
		_, err = tx.ExecContext(ctx, `INSERT INTO user_devices (user_id, hash, first_seen, last_seen, user_agent) VALUES (?, ?, ?, ?, ?)`,
			userID, hash, nanos(at), nanos(at), userAgent)
		return err
	})
	if err != nil {
		return false, 0, fmt.Errorf("sqlite: see device: %w", err)
	}
	return isNew, known, nil
}

// Devices implements [email.Store].
func (db *DB) Devices(ctx context.Context, userID string) ([]*email.Device, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT user_id, hash, first_seen, last_seen, user_agent FROM user_devices
		WHERE user_id = ? ORDER BY last_seen DESC, hash`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: devices: %w", err)
	}
	defer rows.Close()
	var out []*email.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: devices: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: devices: %w", err)
	}
	return out, nil
}

func scanDevice(rows *sql.Rows) (*email.Device, error) {
	var d email.Device
	var first, last int64
	if err := rows.Scan(&d.UserID, &d.Hash, &first, &last, &d.UserAgent); err != nil {
		return nil, err
	}
	d.FirstSeen, d.LastSeen = fromNanos(first), fromNanos(last)
	return &d, nil
}

// DeleteStale implements [email.Store], in one transaction.
func (db *DB) DeleteStale(ctx context.Context, now time.Time, r email.Retention) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			query string
			at    time.Time
		}{
			{`DELETE FROM email_tokens WHERE expires_at <= ?`, now},
			{`DELETE FROM user_devices WHERE last_seen < ?`, now.Add(-r.Devices)},
			{`DELETE FROM mail_outbox WHERE created_at < ?`, now.Add(-r.Mail)},
		} {
			res, err := tx.ExecContext(ctx, q.query, nanos(q.at))
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete stale email records: %w", err)
	}
	return int(n), nil
}

// AddMail implements [mail.Store].
func (db *DB) AddMail(ctx context.Context, m *mail.Message) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO mail_outbox (id, body, created_at, due_at, attempts, last_error) VALUES (?, ?, ?, ?, ?, ?)`,
		m.ID, m.Body, nanos(m.CreatedAt), nanos(m.DueAt), m.Attempts, m.LastError)
	if constraint(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return sesame.Errorf(sesame.EConflict, "mail message id exists")
	}
	if err != nil {
		return fmt.Errorf("sqlite: add mail: %w", err)
	}
	return nil
}

// ClaimMail implements [mail.Store], in one write transaction.
func (db *DB) ClaimMail(ctx context.Context, now, until time.Time, limit int) ([]*mail.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []*mail.Message
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, body, created_at, due_at, attempts, last_error FROM mail_outbox
			WHERE due_at <= ? ORDER BY due_at, id LIMIT ?`, nanos(now), limit)
		if err != nil {
			return err
		}
		if out, err = scanMail(rows); err != nil {
			return err
		}
		for _, m := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET due_at = ?, attempts = attempts + 1 WHERE id = ?`, nanos(until), m.ID); err != nil {
				return err
			}
			m.DueAt = fromNanos(nanos(until))
			m.Attempts++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim mail: %w", err)
	}
	return out, nil
}

func scanMail(rows *sql.Rows) ([]*mail.Message, error) {
	defer rows.Close()
	var out []*mail.Message
	for rows.Next() {
		var m mail.Message
		var created, due int64
		if err := rows.Scan(&m.ID, &m.Body, &created, &due, &m.Attempts, &m.LastError); err != nil {
			return nil, err
		}
		m.CreatedAt, m.DueAt = fromNanos(created), fromNanos(due)
		out = append(out, &m)
	}
	return out, rows.Err()
}

// RetryMail implements [mail.Store].
func (db *DB) RetryMail(ctx context.Context, id string, due time.Time, lastError string) error {
	if _, err := db.w.ExecContext(ctx, `UPDATE mail_outbox SET due_at = ?, last_error = ? WHERE id = ?`, nanos(due), lastError, id); err != nil {
		return fmt.Errorf("sqlite: retry mail: %w", err)
	}
	return nil
}

// DeleteMail implements [mail.Store].
func (db *DB) DeleteMail(ctx context.Context, id string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM mail_outbox WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: delete mail: %w", err)
	}
	return nil
}
