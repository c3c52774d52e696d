package postgres

// Export and import of passkeys, email addresses and tokens, known devices
// and the mail outbox for `sesame migrate` (see export.go). Passkey
// challenges are not exported: they live for minutes, between the two
// requests of one ceremony.

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/email"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/passkey"
)

// ExportPasskeyHandles calls fn with every user's WebAuthn user handle.
func (db *DB) ExportPasskeyHandles(ctx context.Context, fn func(userID string, handle []byte) error) error {
	return db.eachRow(ctx, "passkey handles", `SELECT user_id, handle FROM passkey_users ORDER BY user_id`, func(rows pgx.Rows) error {
		var id string
		var h []byte
		if err := rows.Scan(&id, &h); err != nil {
			return fmt.Errorf("postgres: export passkey handles: %w", err)
		}
		return fn(id, h)
	})
}

// ExportPasskeys calls fn with every stored passkey.
func (db *DB) ExportPasskeys(ctx context.Context, fn func(*passkey.Credential) error) error {
	return db.eachRow(ctx, "passkeys", `SELECT `+passkeyColumns+` FROM passkeys ORDER BY id`, func(rows pgx.Rows) error {
		var (
			c                    passkey.Credential
			created, used, count int64
			transports           string
		)
		if err := rows.Scan(&c.ID, &c.UserID, &c.CredentialID, &c.Name, &created, &used, &count, &c.CloneWarning,
			&c.BackupEligible, &c.BackupState, &transports, &c.Data); err != nil {
			return fmt.Errorf("postgres: export passkeys: %w", err)
		}
		c.CreatedAt, c.LastUsedAt, c.SignCount = fromNanos(created), fromNanos(used), uint32(count)
		if transports != "" {
			c.Transports = strings.Split(transports, ",")
		}
		return fn(&c)
	})
}

// ExportEmails calls fn with every stored email address.
func (db *DB) ExportEmails(ctx context.Context, fn func(*email.Address) error) error {
	return db.eachRow(ctx, "email addresses", `SELECT user_id, email, verified_at FROM user_emails ORDER BY user_id`, func(rows pgx.Rows) error {
		var a email.Address
		var verified *int64
		if err := rows.Scan(&a.UserID, &a.Email, &verified); err != nil {
			return fmt.Errorf("postgres: export email addresses: %w", err)
		}
		a.VerifiedAt = fromNullNanos(verified)
		return fn(&a)
	})
}

// ExportEmailTokens calls fn with every stored email token (its hash: the
// tokens themselves are nowhere), expired or not.
func (db *DB) ExportEmailTokens(ctx context.Context, fn func(*email.Token) error) error {
	return db.eachRow(ctx, "email tokens", `SELECT hash, user_id, purpose, email, created_at, expires_at FROM email_tokens ORDER BY hash`, func(rows pgx.Rows) error {
		var t email.Token
		var created, expires int64
		if err := rows.Scan(&t.Hash, &t.UserID, &t.Purpose, &t.Email, &created, &expires); err != nil {
			return fmt.Errorf("postgres: export email tokens: %w", err)
		}
		t.CreatedAt, t.ExpiresAt = fromNanos(created), fromNanos(expires)
		return fn(&t)
	})
}

// ExportDevices calls fn with every user's known device.
func (db *DB) ExportDevices(ctx context.Context, fn func(*email.Device) error) error {
	return db.eachRow(ctx, "devices", `SELECT `+deviceColumns+` FROM user_devices ORDER BY user_id, hash`, func(rows pgx.Rows) error {
		d, err := scanDevice(rows)
		if err != nil {
			return fmt.Errorf("postgres: export devices: %w", err)
		}
		return fn(d)
	})
}

// ExportMail calls fn with every message of the mail outbox (still
// sealed).
func (db *DB) ExportMail(ctx context.Context, fn func(*mail.Message) error) error {
	return db.eachRow(ctx, "mail", `SELECT id, body, created_at, due_at, attempts, last_error FROM mail_outbox ORDER BY id`, func(rows pgx.Rows) error {
		var m mail.Message
		var created, due int64
		if err := rows.Scan(&m.ID, &m.Body, &created, &due, &m.Attempts, &m.LastError); err != nil {
			return fmt.Errorf("postgres: export mail: %w", err)
		}
		m.CreatedAt, m.DueAt = fromNanos(created), fromNanos(due)
		return fn(&m)
	})
}

// PutPasskeyHandle writes the user's WebAuthn user handle as given.
func (db *DB) PutPasskeyHandle(ctx context.Context, userID string, handle []byte) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO passkey_users (user_id, handle) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET handle = excluded.handle`, userID, handle)
	if err != nil {
		return writeErr("put passkey handle", err)
	}
	return nil
}

// PutPasskey writes the passkey as given, replacing the one with its ID.
func (db *DB) PutPasskey(ctx context.Context, c *passkey.Credential) error {
	data := c.Data
	if data == nil {
		data = []byte{}
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO passkeys (`+passkeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, credential_id = excluded.credential_id, name = excluded.name,
		created_at = excluded.created_at, last_used_at = excluded.last_used_at, sign_count = excluded.sign_count,
		clone_warning = excluded.clone_warning, backup_eligible = excluded.backup_eligible, backup_state = excluded.backup_state,
		transports = excluded.transports, data = excluded.data`,
		c.ID, c.UserID, c.CredentialID, c.Name, nanos(c.CreatedAt), nanos(c.LastUsedAt), int64(c.SignCount),
		c.CloneWarning, c.BackupEligible, c.BackupState, strings.Join(c.Transports, ","), data)
	if err != nil {
		return writeErr("put passkey", err)
	}
	return nil
}

// RemovePasskey deletes the passkey with this ID, whoever's it is.
func (db *DB) RemovePasskey(ctx context.Context, id string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM passkeys WHERE id = $1`, id); err != nil {
		return writeErr("remove passkey", err)
	}
	return nil
}

// PutEmailAddress writes the address as given, replacing the user's (""
// removes it). Another user holding the address in the target loses it:
// the source gave it to this user since (the other user's own address
// comes with that user's record).
func (db *DB) PutEmailAddress(ctx context.Context, a *email.Address) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return writeErr("put email address", err)
	}
	defer tx.Rollback(ctx)
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM user_emails WHERE user_id = $1 OR email_key = $2`, a.UserID, email.Key(a.Email))
	if a.Email != "" {
		b.Queue(`INSERT INTO user_emails (user_id, email, email_key, verified_at) VALUES ($1, $2, $3, $4)`,
			a.UserID, a.Email, email.Key(a.Email), nanosOrNil(a.VerifiedAt))
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return writeErr("put email address", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return writeErr("put email address", err)
	}
	return nil
}

// ImportEmailToken writes the token as given, keyed by its hash (unlike
// PutEmailToken, it leaves the user's other tokens).
func (db *DB) ImportEmailToken(ctx context.Context, t *email.Token) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO email_tokens (hash, user_id, purpose, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (hash) DO UPDATE SET user_id = excluded.user_id, purpose = excluded.purpose, email = excluded.email,
		created_at = excluded.created_at, expires_at = excluded.expires_at`,
		t.Hash, t.UserID, t.Purpose, t.Email, nanos(t.CreatedAt), nanos(t.ExpiresAt))
	if err != nil {
		return writeErr("import email token", err)
	}
	return nil
}

// RemoveEmailToken deletes the token with this hash.
func (db *DB) RemoveEmailToken(ctx context.Context, hash []byte) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM email_tokens WHERE hash = $1`, hash); err != nil {
		return writeErr("remove email token", err)
	}
	return nil
}

// PutDevice writes the known device as given.
func (db *DB) PutDevice(ctx context.Context, d *email.Device) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO user_devices (`+deviceColumns+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id, hash) DO UPDATE SET first_seen = excluded.first_seen, last_seen = excluded.last_seen,
		user_agent = excluded.user_agent`, d.UserID, d.Hash, nanos(d.FirstSeen), nanos(d.LastSeen), safeText(d.UserAgent))
	if err != nil {
		return writeErr("put device", err)
	}
	return nil
}

// RemoveDevice deletes the user's known device.
func (db *DB) RemoveDevice(ctx context.Context, userID string, hash []byte) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM user_devices WHERE user_id = $1 AND hash = $2`, userID, hash); err != nil {
		return writeErr("remove device", err)
	}
	return nil
}

// PutMail writes the outbox message as given (its attempts included),
// replacing the one with its ID.
func (db *DB) PutMail(ctx context.Context, m *mail.Message) error {
	body := m.Body
	if body == nil {
		body = []byte{}
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO mail_outbox (id, body, created_at, due_at, attempts, last_error) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body, created_at = excluded.created_at, due_at = excluded.due_at,
		attempts = excluded.attempts, last_error = excluded.last_error`,
		m.ID, body, nanos(m.CreatedAt), nanos(m.DueAt), m.Attempts, safeText(m.LastError))
	if err != nil {
		return writeErr("put mail", err)
	}
	return nil
}
