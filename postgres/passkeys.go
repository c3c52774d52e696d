package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/passkey"
)

var _ passkey.Store = (*DB)(nil)

// Passkeys (migration 0013). Every method is one statement, or one
// implicit transaction.

const passkeyColumns = `id, user_id, credential_id, name, created_at, last_used_at, sign_count, clone_warning,
	backup_eligible, backup_state, transports, data`

// PasskeyHandle implements [passkey.Store] in one statement: the insert
// when the user has no handle, else the stored one.
func (db *DB) PasskeyHandle(ctx context.Context, userID string, fresh []byte) ([]byte, error) {
	if !storableText(userID) {
		return nil, sesame.Errorf(sesame.EInvalid, "text is not valid UTF-8 or contains NUL")
	}
	var h []byte
	err := db.pool.QueryRow(ctx, `WITH ins AS (
			INSERT INTO passkey_users (user_id, handle) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING RETURNING handle)
		SELECT handle FROM ins UNION ALL SELECT handle FROM passkey_users WHERE user_id = $1 LIMIT 1`, userID, fresh).Scan(&h)
	if err != nil {
		return nil, writeErr("passkey handle", err)
	}
	return h, nil
}

// PasskeyUserByHandle implements [passkey.Store].
func (db *DB) PasskeyUserByHandle(ctx context.Context, h []byte) (string, error) {
	var id string
	if err := db.pool.QueryRow(ctx, `SELECT user_id FROM passkey_users WHERE handle = $1`, h).Scan(&id); err != nil {
		return "", readErr("passkey user", err)
	}
	return id, nil
}

// AddPasskey implements [passkey.Store].
func (db *DB) AddPasskey(ctx context.Context, c *passkey.Credential) error {
	data := c.Data
	if data == nil {
		data = []byte{}
	}
	err := db.evented(ctx, func(q querier) ([]sesame.Event, error) {
		_, err := q.Exec(ctx, `INSERT INTO passkeys (`+passkeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			c.ID, c.UserID, c.CredentialID, c.Name, nanos(c.CreatedAt), nanos(c.LastUsedAt), int64(c.SignCount),
			c.CloneWarning, c.BackupEligible, c.BackupState, strings.Join(c.Transports, ","), data)
		if err != nil {
			return nil, err
		}
		return sesame.TxEventsFrom(ctx).AddedEvents(c.ID, c.Name), nil
	})
	if pgCode(err) == codeUniqueViolation {
		return sesame.Errorf(sesame.EConflict, "passkey exists")
	}
	if err != nil {
		return writeErr("add passkey", err)
	}
	return nil
}

// Passkeys implements [passkey.Store].
func (db *DB) Passkeys(ctx context.Context, userID string) ([]*passkey.Credential, error) {
	if !storableText(userID) {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, readErr("passkeys", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*passkey.Credential, error) {
		var (
			c                    passkey.Credential
			created, used, count int64
			transports           string
		)
		if err := row.Scan(&c.ID, &c.UserID, &c.CredentialID, &c.Name, &created, &used, &count, &c.CloneWarning,
			&c.BackupEligible, &c.BackupState, &transports, &c.Data); err != nil {
			return nil, err
		}
		c.CreatedAt, c.LastUsedAt, c.SignCount = fromNanos(created), fromNanos(used), uint32(count)
		if transports != "" {
			c.Transports = strings.Split(transports, ",")
		}
		return &c, nil
	})
	if err != nil {
		return nil, readErr("passkeys", err)
	}
	return out, nil
}

// changePasskey runs a statement that changes the user's passkey id ($1
// user, $2 id): ErrNotFound when no row matched.
func (db *DB) changePasskey(ctx context.Context, what, query string, args ...any) error {
	if !storableText(args[0].(string)) || !storableText(args[1].(string)) {
		return sesame.ErrNotFound
	}
	err := db.evented(ctx, func(q querier) ([]sesame.Event, error) {
		tag, err := q.Exec(ctx, query, args...)
		if err == nil && tag.RowsAffected() == 0 {
			err = sesame.ErrNotFound // and the transaction, with the events' rows, is rolled back
		}
		return nil, err
	})
	if errors.Is(err, sesame.ErrNotFound) {
		return err
	}
	if err != nil {
		return writeErr(what, err)
	}
	return nil
}

// UsePasskey implements [passkey.Store].
func (db *DB) UsePasskey(ctx context.Context, userID, id string, u passkey.Use) error {
	return db.changePasskey(ctx, "use passkey", `UPDATE passkeys SET last_used_at = $3, sign_count = greatest(sign_count, $4),
		clone_warning = clone_warning OR $5, backup_state = $6 WHERE user_id = $1 AND id = $2`,
		userID, id, nanos(u.At), int64(u.SignCount), u.CloneWarning, u.BackupState)
}

// RenamePasskey implements [passkey.Store].
func (db *DB) RenamePasskey(ctx context.Context, userID, id, name string) error {
	return db.changePasskey(ctx, "rename passkey", `UPDATE passkeys SET name = $3 WHERE user_id = $1 AND id = $2`, userID, id, name)
}

// DeletePasskey implements [passkey.Store].
func (db *DB) DeletePasskey(ctx context.Context, userID, id string) error {
	return db.changePasskey(ctx, "delete passkey", `DELETE FROM passkeys WHERE user_id = $1 AND id = $2`, userID, id)
}

// PutPasskeyChallenge implements [passkey.Store]; it drops the challenges
// that expired an hour before this one will (none can be answered).
func (db *DB) PutPasskeyChallenge(ctx context.Context, c *passkey.Challenge) error {
	data := c.Data
	if data == nil {
		data = []byte{}
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM passkey_challenges WHERE expires_at < $1`, nanos(c.ExpiresAt.Add(-time.Hour))); err != nil {
		return writeErr("put passkey challenge", err)
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO passkey_challenges (key, kind, user_id, session_id, data, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.Key, c.Kind, c.UserID, c.SessionID, data, nanos(c.ExpiresAt))
	if pgCode(err) == codeUniqueViolation {
		return sesame.Errorf(sesame.EConflict, "challenge exists")
	}
	if err != nil {
		return writeErr("put passkey challenge", err)
	}
	return nil
}

// TakePasskeyChallenge implements [passkey.Store]: one DELETE ... RETURNING,
// so of two callers only one gets the row.
func (db *DB) TakePasskeyChallenge(ctx context.Context, key string, now time.Time) (*passkey.Challenge, error) {
	if !storableText(key) {
		return nil, sesame.ErrNotFound
	}
	var (
		c   passkey.Challenge
		exp int64
	)
	err := db.pool.QueryRow(ctx, `DELETE FROM passkey_challenges WHERE key = $1
		RETURNING key, kind, user_id, session_id, data, expires_at`, key).
		Scan(&c.Key, &c.Kind, &c.UserID, &c.SessionID, &c.Data, &exp)
	if err != nil {
		return nil, readErr("take passkey challenge", err)
	}
	c.ExpiresAt = fromNanos(exp)
	if c.ExpiresAt.Before(now) {
		return nil, sesame.ErrNotFound
	}
	return &c, nil
}
