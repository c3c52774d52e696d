package sqlite

// Export and import of passkeys, email addresses and tokens, known devices
// and the mail outbox for `sesame migrate` (see export.go). Passkey
// challenges are not exported: they live for minutes, between the two
// requests of one ceremony.

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/sesame-auth/sesame/email"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/passkey"
)

// ExportPasskeyHandles calls fn with every user's WebAuthn user handle.
func (db *DB) ExportPasskeyHandles(ctx context.Context, fn func(userID string, handle []byte) error) error {
	return db.eachRow(ctx, "passkey handles", `SELECT user_id, handle FROM passkey_users ORDER BY user_id`, func(rows *sql.Rows) error {
		var id string
		var h []byte
		if err := rows.Scan(&id, &h); err != nil {
			return fmt.Errorf("sqlite: export passkey handles: %w", err)
		}
		return fn(id, h)
	})
}

// ExportPasskeys calls fn with every stored passkey.
func (db *DB) ExportPasskeys(ctx context.Context, fn func(*passkey.Credential) error) error {
	return db.eachRow(ctx, "passkeys", `SELECT `+passkeyColumns+` FROM passkeys ORDER BY id`, func(rows *sql.Rows) error {
		var (
			c                         passkey.Credential
			created, used, count      int64
			clone, eligible, backedUp int64
			transports                string
		)
		if err := rows.Scan(&c.ID, &c.UserID, &c.CredentialID, &c.Name, &created, &used, &count, &clone, &eligible, &backedUp,
			&transports, &c.Data); err != nil {
			return fmt.Errorf("sqlite: export passkeys: %w", err)
		}
		c.CreatedAt, c.LastUsedAt, c.SignCount = fromNanos(created), fromNanos(used), uint32(count)
		c.CloneWarning, c.BackupEligible, c.BackupState = clone != 0, eligible != 0, backedUp != 0
		if transports != "" {
			c.Transports = strings.Split(transports, ",")
		}
		return fn(&c)
	})
}

// ExportEmails calls fn with every stored email address.
func (db *DB) ExportEmails(ctx context.Context, fn func(*email.Address) error) error {
	return db.eachRow(ctx, "email addresses", `SELECT user_id, email, verified_at FROM user_emails ORDER BY user_id`, func(rows *sql.Rows) error {
		var a email.Address
		var verified sql.NullInt64
		if err := rows.Scan(&a.UserID, &a.Email, &verified); err != nil {
			return fmt.Errorf("sqlite: export email addresses: %w", err)
		}
		a.VerifiedAt = fromNullNanos(verified)
		return fn(&a)
	})
}

// ExportEmailTokens calls fn with every stored email token (its hash: the
// tokens themselves are nowhere), expired or not.
func (db *DB) ExportEmailTokens(ctx context.Context, fn func(*email.Token) error) error {
	return db.eachRow(ctx, "email tokens", `SELECT hash, user_id, purpose, email, created_at, expires_at FROM email_tokens ORDER BY hash`, func(rows *sql.Rows) error {
		var t email.Token
		var created, expires int64
		if err := rows.Scan(&t.Hash, &t.UserID, &t.Purpose, &t.Email, &created, &expires); err != nil {
			return fmt.Errorf("sqlite: export email tokens: %w", err)
		}
		t.CreatedAt, t.ExpiresAt = fromNanos(created), fromNanos(expires)
		return fn(&t)
	})
}

// ExportDevices calls fn with every user's known device.
func (db *DB) ExportDevices(ctx context.Context, fn func(*email.Device) error) error {
	return db.eachRow(ctx, "devices", `SELECT user_id, hash, first_seen, last_seen, user_agent FROM user_devices ORDER BY user_id, hash`, func(rows *sql.Rows) error {
		d, err := scanDevice(rows)
		if err != nil {
			return fmt.Errorf("sqlite: export devices: %w", err)
		}
		return fn(d)
	})
}

// ExportMail calls fn with every message of the mail outbox (still
// sealed).
func (db *DB) ExportMail(ctx context.Context, fn func(*mail.Message) error) error {
	rows, err := db.r.QueryContext(ctx, `SELECT id, body, created_at, due_at, attempts, last_error FROM mail_outbox ORDER BY id`)
	if err != nil {
		return fmt.Errorf("sqlite: export mail: %w", err)
	}
	ms, err := scanMail(rows)
	if err != nil {
		return fmt.Errorf("sqlite: export mail: %w", err)
	}
	for _, m := range ms {
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// PutPasskeyHandle writes the user's WebAuthn user handle as given.
func (db *DB) PutPasskeyHandle(ctx context.Context, userID string, handle []byte) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO passkey_users (user_id, handle) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET handle = excluded.handle`, userID, handle)
	if err != nil {
		return fmt.Errorf("sqlite: put passkey handle: %w", err)
	}
	return nil
}

// PutPasskey writes the passkey as given, replacing the one with its ID.
func (db *DB) PutPasskey(ctx context.Context, c *passkey.Credential) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO passkeys (`+passkeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, credential_id = excluded.credential_id, name = excluded.name,
		created_at = excluded.created_at, last_used_at = excluded.last_used_at, sign_count = excluded.sign_count,
		clone_warning = excluded.clone_warning, backup_eligible = excluded.backup_eligible, backup_state = excluded.backup_state,
		transports = excluded.transports, data = excluded.data`,
		c.ID, c.UserID, c.CredentialID, c.Name, nanos(c.CreatedAt), nanos(c.LastUsedAt), int64(c.SignCount),
		boolInt(c.CloneWarning), boolInt(c.BackupEligible), boolInt(c.BackupState), strings.Join(c.Transports, ","), nonNil(c.Data))
	if err != nil {
		return fmt.Errorf("sqlite: put passkey: %w", err)
	}
	return nil
}

// RemovePasskey deletes the passkey with this ID, whoever's it is.
func (db *DB) RemovePasskey(ctx context.Context, id string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM passkeys WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: remove passkey: %w", err)
	}
	return nil
}

// PutEmailAddress writes the address as given, replacing the user's (""
// removes it). Another user holding the address in the target loses it:
// the source gave it to this user since (the other user's own address
// comes with that user's record).
func (db *DB) PutEmailAddress(ctx context.Context, a *email.Address) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_emails WHERE user_id = ? OR email_key = ?`, a.UserID, email.Key(a.Email)); err != nil {
			return err
		}
		if a.Email == "" {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO user_emails (user_id, email, email_key, verified_at) VALUES (?, ?, ?, ?)`,
			a.UserID, a.Email, email.Key(a.Email), nanosOrNil(a.VerifiedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: put email address: %w", err)
	}
	return nil
}

// ImportEmailToken writes the token as given, keyed by its hash (unlike
// PutEmailToken, it leaves the user's other tokens).
func (db *DB) ImportEmailToken(ctx context.Context, t *email.Token) error {
	_, err := db.w.ExecContext(ctx, `INSERT OR REPLACE INTO email_tokens (hash, user_id, purpose, email, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.Hash, t.UserID, t.Purpose, t.Email, nanos(t.CreatedAt), nanos(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlite: import email token: %w", err)
	}
	return nil
}

// RemoveEmailToken deletes the token with this hash.
func (db *DB) RemoveEmailToken(ctx context.Context, hash []byte) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM email_tokens WHERE hash = ?`, hash); err != nil {
		return fmt.Errorf("sqlite: remove email token: %w", err)
	}
	return nil
}

// PutDevice writes the known device as given.
func (db *DB) PutDevice(ctx context.Context, d *email.Device) error {
	_, err := db.w.ExecContext(ctx, `INSERT OR REPLACE INTO user_devices (user_id, hash, first_seen, last_seen, user_agent) VALUES (?, ?, ?, ?, ?)`,
		d.UserID, d.Hash, nanos(d.FirstSeen), nanos(d.LastSeen), d.UserAgent)
	if err != nil {
		return fmt.Errorf("sqlite: put device: %w", err)
	}
	return nil
}

// RemoveDevice deletes the user's known device.
func (db *DB) RemoveDevice(ctx context.Context, userID string, hash []byte) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM user_devices WHERE user_id = ? AND hash = ?`, userID, hash); err != nil {
		return fmt.Errorf("sqlite: remove device: %w", err)
	}
	return nil
}

// PutMail writes the outbox message as given (its attempts included),
// replacing the one with its ID.
func (db *DB) PutMail(ctx context.Context, m *mail.Message) error {
	_, err := db.w.ExecContext(ctx, `INSERT OR REPLACE INTO mail_outbox (id, body, created_at, due_at, attempts, last_error) VALUES (?, ?, ?, ?, ?, ?)`,
		m.ID, nonNil(m.Body), nanos(m.CreatedAt), nanos(m.DueAt), m.Attempts, m.LastError)
	if err != nil {
		return fmt.Errorf("sqlite: put mail: %w", err)
	}
	return nil
}
