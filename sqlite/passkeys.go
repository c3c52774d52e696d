package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/passkey"
)

var _ passkey.Store = (*DB)(nil)

// Passkeys (migration 0012). Writes go through the one writer connection.

const passkeyColumns = `id, user_id, credential_id, name, created_at, last_used_at, sign_count, clone_warning,
	backup_eligible, backup_state, transports, data`

// PasskeyHandle implements [passkey.Store]: an insert that does nothing
// when the user has a handle, then a read, on the writer connection.
func (db *DB) PasskeyHandle(ctx context.Context, userID string, fresh []byte) ([]byte, error) {
	if _, err := db.w.ExecContext(ctx, `INSERT INTO passkey_users (user_id, handle) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING`,
		userID, fresh); err != nil {
		return nil, fmt.Errorf("sqlite: passkey handle: %w", err)
	}
	var h []byte
	if err := db.w.QueryRowContext(ctx, `SELECT handle FROM passkey_users WHERE user_id = ?`, userID).Scan(&h); err != nil {
		return nil, fmt.Errorf("sqlite: passkey handle: %w", err)
	}
	return h, nil
}

// PasskeyUserByHandle implements [passkey.Store].
func (db *DB) PasskeyUserByHandle(ctx context.Context, h []byte) (string, error) {
	var id string
	err := db.r.QueryRowContext(ctx, `SELECT user_id FROM passkey_users WHERE handle = ?`, h).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", sesame.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: passkey user: %w", err)
	}
	return id, nil
}

// AddPasskey implements [passkey.Store].
func (db *DB) AddPasskey(ctx context.Context, c *passkey.Credential) error {
	err := db.evented(ctx, func(tx *sql.Tx) ([]sesame.Event, error) {
		_, err := db.on(tx).ExecContext(ctx, `INSERT INTO passkeys (`+passkeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.UserID, c.CredentialID, c.Name, nanos(c.CreatedAt), nanos(c.LastUsedAt), int64(c.SignCount),
			boolInt(c.CloneWarning), boolInt(c.BackupEligible), boolInt(c.BackupState), strings.Join(c.Transports, ","), nonNil(c.Data))
		if err != nil {
			return nil, err
		}
		return sesame.TxEventsFrom(ctx).AddedEvents(c.ID, c.Name), nil
	})
	switch constraint(err) {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return sesame.Errorf(sesame.EConflict, "passkey exists")
	}
	if err != nil {
		return fmt.Errorf("sqlite: add passkey: %w", err)
	}
	return nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Passkeys implements [passkey.Store].
func (db *DB) Passkeys(ctx context.Context, userID string) ([]*passkey.Credential, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: passkeys: %w", err)
	}
	defer rows.Close()
	var out []*passkey.Credential
	for rows.Next() {
		var (
			c                         passkey.Credential
			created, used, count      int64
			clone, eligible, backedUp int64
			transports                string
		)
		if err := rows.Scan(&c.ID, &c.UserID, &c.CredentialID, &c.Name, &created, &used, &count, &clone, &eligible, &backedUp,
			&transports, &c.Data); err != nil {
			return nil, fmt.Errorf("sqlite: passkeys: %w", err)
		}
		c.CreatedAt, c.LastUsedAt, c.SignCount = fromNanos(created), fromNanos(used), uint32(count)
		c.CloneWarning, c.BackupEligible, c.BackupState = clone != 0, eligible != 0, backedUp != 0
		if transports != "" {
			c.Transports = strings.Split(transports, ",")
		}
		out = append(out, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: passkeys: %w", err)
	}
	return out, nil
}

// changeOne runs a statement that changes the user's passkey or factor
// id: ErrNotFound when no row matched. It is evented: ctx's events are
// queued with the change, and not when nothing matched.
func (db *DB) changeOne(ctx context.Context, what, query string, args ...any) error {
	err := db.evented(ctx, func(tx *sql.Tx) ([]sesame.Event, error) {
		res, err := db.on(tx).ExecContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = sesame.ErrNotFound // and the transaction, with the events' rows, is rolled back
		}
		return nil, err
	})
	if errors.Is(err, sesame.ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return nil
}

// UsePasskey implements [passkey.Store].
func (db *DB) UsePasskey(ctx context.Context, userID, id string, u passkey.Use) error {
	return db.changeOne(ctx, "use passkey", `UPDATE passkeys SET last_used_at = ?, sign_count = max(sign_count, ?),
		clone_warning = clone_warning | ?, backup_state = ? WHERE id = ? AND user_id = ?`,
		nanos(u.At), int64(u.SignCount), boolInt(u.CloneWarning), boolInt(u.BackupState), id, userID)
}

// RenamePasskey implements [passkey.Store].
func (db *DB) RenamePasskey(ctx context.Context, userID, id, name string) error {
	return db.changeOne(ctx, "rename passkey", `UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
}

// DeletePasskey implements [passkey.Store].
func (db *DB) DeletePasskey(ctx context.Context, userID, id string) error {
	return db.changeOne(ctx, "delete passkey", `DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id, userID)
}

// PutPasskeyChallenge implements [passkey.Store]; it drops the challenges
// that expired a ceremony's lifetime ago or more (none can be answered).
func (db *DB) PutPasskeyChallenge(ctx context.Context, c *passkey.Challenge) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM passkey_challenges WHERE expires_at < ?`, nanos(c.ExpiresAt.Add(-time.Hour))); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO passkey_challenges (key, kind, user_id, session_id, data, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, c.Key, c.Kind, c.UserID, c.SessionID, nonNil(c.Data), nanos(c.ExpiresAt))
		return err
	})
	if constraint(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return sesame.Errorf(sesame.EConflict, "challenge exists")
	}
	if err != nil {
		return fmt.Errorf("sqlite: put passkey challenge: %w", err)
	}
	return nil
}

// TakePasskeyChallenge implements [passkey.Store]: one DELETE ... RETURNING,
// so of two callers only one gets the row.
func (db *DB) TakePasskeyChallenge(ctx context.Context, key string, now time.Time) (*passkey.Challenge, error) {
	var (
		c   passkey.Challenge
		exp int64
	)
	err := db.w.QueryRowContext(ctx, `DELETE FROM passkey_challenges WHERE key = ?
		RETURNING key, kind, user_id, session_id, data, expires_at`, key).
		Scan(&c.Key, &c.Kind, &c.UserID, &c.SessionID, &c.Data, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sesame.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: take passkey challenge: %w", err)
	}
	c.ExpiresAt = fromNanos(exp)
	if c.ExpiresAt.Before(now) {
		return nil, sesame.ErrNotFound
	}
	return &c, nil
}
