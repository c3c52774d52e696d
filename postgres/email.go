package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/email"
	"github.com/sesame-auth/sesame/mail"
)

var (
	_ email.Store = (*DB)(nil)
	_ mail.Store  = (*DB)(nil)
)

// Email addresses, email tokens, devices and the mail outbox (migration
// 0014). Every method is one statement or one transaction, so several
// processes may share the database.

var errBadText = sesame.Errorf(sesame.EInvalid, "text is not valid UTF-8 or contains NUL")

// SetEmail implements [email.Store], in one transaction.
func (db *DB) SetEmail(ctx context.Context, a *email.Address) error {
	if !storableText(a.UserID) || !storableText(a.Email) {
		return errBadText
	}
	err := db.eventedTx(ctx, func(tx querier) ([]sesame.Event, error) {
		if _, err := tx.Exec(ctx, `DELETE FROM user_emails WHERE user_id = $1`, a.UserID); err != nil {
			return nil, err
		}
		if a.Email == "" {
			return nil, nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO user_emails (user_id, email, email_key, verified_at) VALUES ($1, $2, $3, $4)`,
			a.UserID, a.Email, email.Key(a.Email), nanosOrNil(a.VerifiedAt))
		return nil, err
	})
	if pgCode(err) == codeUniqueViolation {
		return sesame.Errorf(sesame.EConflict, "email address is taken")
	}
	if err != nil {
		return writeErr("set email", err)
	}
	return nil
}

// EmailOf implements [email.Store].
func (db *DB) EmailOf(ctx context.Context, userID string) (*email.Address, error) {
	if !storableText(userID) {
		return nil, sesame.ErrNotFound
	}
	a := email.Address{UserID: userID}
	var verified *int64
	if err := db.pool.QueryRow(ctx, `SELECT email, verified_at FROM user_emails WHERE user_id = $1`, userID).Scan(&a.Email, &verified); err != nil {
		return nil, readErr("email of user", err)
	}
	a.VerifiedAt = fromNullNanos(verified)
	return &a, nil
}

// UserIDByEmail implements [email.Store].
func (db *DB) UserIDByEmail(ctx context.Context, key string) (string, error) {
	if !storableText(key) {
		return "", sesame.ErrNotFound
	}
	var id string
	if err := db.pool.QueryRow(ctx, `SELECT user_id FROM user_emails WHERE email_key = $1`, key).Scan(&id); err != nil {
		return "", readErr("user by email", err)
	}
	return id, nil
}

// PutEmailToken implements [email.Store], in one transaction.
func (db *DB) PutEmailToken(ctx context.Context, t *email.Token) error {
	if !storableText(t.UserID) || !storableText(t.Purpose) || !storableText(t.Email) {
		return errBadText
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return writeErr("put email token", err)
	}
	defer tx.Rollback(ctx)
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2`, t.UserID, t.Purpose)
	b.Queue(`INSERT INTO email_tokens (hash, user_id, purpose, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (hash) DO UPDATE SET user_id = excluded.user_id, purpose = excluded.purpose, email = excluded.email,
		created_at = excluded.created_at, expires_at = excluded.expires_at`,
		t.Hash, t.UserID, t.Purpose, t.Email, nanos(t.CreatedAt), nanos(t.ExpiresAt))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return writeErr("put email token", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return writeErr("put email token", err)
	}
	return nil
}

// TakeEmailToken implements [email.Store]: one DELETE ... RETURNING.
func (db *DB) TakeEmailToken(ctx context.Context, hash []byte, purpose string, now time.Time) (*email.Token, error) {
	if !storableText(purpose) {
		return nil, sesame.ErrNotFound
	}
	t := email.Token{Hash: hash, Purpose: purpose}
	var created, expires int64
	err := db.pool.QueryRow(ctx, `DELETE FROM email_tokens WHERE hash = $1 AND purpose = $2 RETURNING user_id, email, created_at, expires_at`,
		hash, purpose).Scan(&t.UserID, &t.Email, &created, &expires)
	if err != nil {
		return nil, readErr("take email token", err)
	}
	t.CreatedAt, t.ExpiresAt = fromNanos(created), fromNanos(expires)
	if !now.Before(t.ExpiresAt) {
		return nil, sesame.ErrNotFound
	}
	return &t, nil
}

// DeleteEmailTokens implements [email.Store].
func (db *DB) DeleteEmailTokens(ctx context.Context, userID, purpose string) error {
	if !storableText(userID) || !storableText(purpose) {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2`, userID, purpose); err != nil {
		return writeErr("delete email tokens", err)
	}
	return nil
}

// SeeDevice implements [email.Store] in one statement: the count is read
// from the snapshot before the upsert.
func (db *DB) SeeDevice(ctx context.Context, userID string, hash []byte, at time.Time, userAgent string) (bool, int, error) {
	if !storableText(userID) {
		return false, 0, errBadText
	}
	var inserted bool
	var known int
	err := db.pool.QueryRow(ctx, `WITH up AS (
			INSERT INTO user_devices AS d (user_id, hash, first_seen, last_seen, user_agent) VALUES ($1, $2, $3, $3, $4)
			ON CONFLICT (user_id, hash) DO UPDATE SET last_seen = greatest(d.last_seen, excluded.last_seen), user_agent = excluded.user_agent
			RETURNING (xmax = 0) AS inserted)
		SELECT (SELECT inserted FROM up), (SELECT count(*) FROM user_devices WHERE user_id = $1)`,
		userID, hash, nanos(at), safeText(userAgent)).Scan(&inserted, &known)
	if err != nil {
		return false, 0, writeErr("see device", err)
	}
	return inserted, known, nil
}

const deviceColumns = `user_id, hash, first_seen, last_seen, user_agent`

func scanDevice(row pgx.CollectableRow) (*email.Device, error) {
	var d email.Device
	var first, last int64
	if err := row.Scan(&d.UserID, &d.Hash, &first, &last, &d.UserAgent); err != nil {
		return nil, err
	}
	d.FirstSeen, d.LastSeen = fromNanos(first), fromNanos(last)
	return &d, nil
}

// Devices implements [email.Store].
func (db *DB) Devices(ctx context.Context, userID string) ([]*email.Device, error) {
	if !storableText(userID) {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+deviceColumns+` FROM user_devices WHERE user_id = $1 ORDER BY last_seen DESC, hash`, userID)
	if err != nil {
		return nil, readErr("devices", err)
	}
	out, err := pgx.CollectRows(rows, scanDevice)
	if err != nil {
		return nil, readErr("devices", err)
	}
	return out, nil
}

// DeleteStale implements [email.Store], in one transaction (one round
// trip).
func (db *DB) DeleteStale(ctx context.Context, now time.Time, r email.Retention) (int, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return 0, writeErr("delete stale email records", err)
	}
	defer tx.Rollback(ctx)
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM email_tokens WHERE expires_at <= $1`, nanos(now))
	b.Queue(`DELETE FROM user_devices WHERE last_seen < $1`, nanos(now.Add(-r.Devices)))
	b.Queue(`DELETE FROM mail_outbox WHERE created_at < $1`, nanos(now.Add(-r.Mail)))
	br := tx.SendBatch(ctx, b)
	n := 0
	for range 3 {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return 0, writeErr("delete stale email records", err)
		}
		n += int(tag.RowsAffected())
	}
	if err := br.Close(); err != nil {
		return 0, writeErr("delete stale email records", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, writeErr("delete stale email records", err)
	}
	return n, nil
}

// AddMail implements [mail.Store].
func (db *DB) AddMail(ctx context.Context, m *mail.Message) error {
	if !storableText(m.ID) {
		return errBadText
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO mail_outbox (id, body, created_at, due_at, attempts, last_error) VALUES ($1, $2, $3, $4, $5, $6)`,
		m.ID, m.Body, nanos(m.CreatedAt), nanos(m.DueAt), m.Attempts, safeText(m.LastError))
	if pgCode(err) == codeUniqueViolation {
		return sesame.Errorf(sesame.EConflict, "mail message id exists")
	}
	if err != nil {
		return writeErr("add mail", err)
	}
	return nil
}

// ClaimMail implements [mail.Store] in one statement: the due rows no
// other claimer holds (SKIP LOCKED), earliest first, moved ahead.
func (db *DB) ClaimMail(ctx context.Context, now, until time.Time, limit int) ([]*mail.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `WITH due AS (
			SELECT id FROM mail_outbox WHERE due_at <= $1 ORDER BY due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		UPDATE mail_outbox m SET due_at = $2, attempts = m.attempts + 1 FROM due WHERE m.id = due.id
		RETURNING m.id, m.body, m.created_at, m.due_at, m.attempts, m.last_error`, nanos(now), nanos(until), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim mail: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*mail.Message, error) {
		var m mail.Message
		var created, due int64
		if err := row.Scan(&m.ID, &m.Body, &created, &due, &m.Attempts, &m.LastError); err != nil {
			return nil, err
		}
		m.CreatedAt, m.DueAt = fromNanos(created), fromNanos(due)
		return &m, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim mail: %w", err)
	}
	return out, nil
}

// RetryMail implements [mail.Store].
func (db *DB) RetryMail(ctx context.Context, id string, due time.Time, lastError string) error {
	if !storableText(id) {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `UPDATE mail_outbox SET due_at = $2, last_error = $3 WHERE id = $1`, id, nanos(due), safeText(lastError)); err != nil {
		return writeErr("retry mail", err)
	}
	return nil
}

// DeleteMail implements [mail.Store].
func (db *DB) DeleteMail(ctx context.Context, id string) error {
	if !storableText(id) {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM mail_outbox WHERE id = $1`, id); err != nil {
		return writeErr("delete mail", err)
	}
	return nil
}
