package sqlite

// Export and import of second factors, recovery codes and the per-user
// requirement for `sesame migrate` (see export.go). TOTP secrets stay
// sealed and recovery codes hashed.

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame/factor"
)

// ExportFactors calls fn with every stored factor, confirmed or not.
func (db *DB) ExportFactors(ctx context.Context, fn func(*factor.Factor) error) error {
	return db.eachRow(ctx, "factors", `SELECT `+factorColumns+` FROM factors ORDER BY id`, func(rows *sql.Rows) error {
		f, err := scanFactor(rows)
		if err != nil {
			return fmt.Errorf("sqlite: export factors: %w", err)
		}
		return fn(f)
	})
}

// ExportRecoveryCodes calls fn with every stored recovery code hash.
func (db *DB) ExportRecoveryCodes(ctx context.Context, fn func(userID string, hash []byte, createdAt, usedAt time.Time) error) error {
	return db.eachRow(ctx, "recovery codes", `SELECT user_id, hash, created_at, used_at FROM recovery_codes ORDER BY user_id, hash`,
		func(rows *sql.Rows) error {
			var (
				user    string
				hash    []byte
				created int64
				used    sql.NullInt64
			)
			if err := rows.Scan(&user, &hash, &created, &used); err != nil {
				return fmt.Errorf("sqlite: export recovery codes: %w", err)
			}
			var usedAt time.Time
			if used.Valid {
				usedAt = fromNanos(used.Int64)
			}
			return fn(user, hash, fromNanos(created), usedAt)
		})
}

// ExportFactorRequirements calls fn with every user for whom a second
// factor is required (a switch set back to off is not exported).
func (db *DB) ExportFactorRequirements(ctx context.Context, fn func(userID string) error) error {
	return db.eachRow(ctx, "factor requirements", `SELECT user_id FROM factor_requirements WHERE required != 0 ORDER BY user_id`,
		func(rows *sql.Rows) error {
			var user string
			if err := rows.Scan(&user); err != nil {
				return fmt.Errorf("sqlite: export factor requirements: %w", err)
			}
			return fn(user)
		})
}

// PutFactor writes the factor exactly as given, keyed by its ID.
func (db *DB) PutFactor(ctx context.Context, f *factor.Factor) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO factors (`+factorColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, kind = excluded.kind, name = excluded.name,
		secret = excluded.secret, created_at = excluded.created_at, confirmed_at = excluded.confirmed_at,
		last_used_at = excluded.last_used_at, last_step = excluded.last_step`,
		f.ID, f.UserID, f.Kind, f.Name, nonNil(f.Secret), nanos(f.CreatedAt), nanosOrNil(f.ConfirmedAt),
		nanosOrNil(f.LastUsedAt), f.LastStep)
	if err != nil {
		return fmt.Errorf("sqlite: put factor: %w", err)
	}
	return nil
}

// RemoveFactor deletes the factor with this ID, whoever's it is.
func (db *DB) RemoveFactor(ctx context.Context, id string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM factors WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: remove factor: %w", err)
	}
	return nil
}

// PutRecoveryCode writes one recovery code hash exactly as given.
func (db *DB) PutRecoveryCode(ctx context.Context, userID string, hash []byte, createdAt, usedAt time.Time) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash, created_at, used_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, hash) DO UPDATE SET created_at = excluded.created_at, used_at = excluded.used_at`,
		userID, nonNil(hash), nanos(createdAt), nanosOrNil(usedAt))
	if err != nil {
		return fmt.Errorf("sqlite: put recovery code: %w", err)
	}
	return nil
}

// RemoveRecoveryCode deletes one recovery code hash of userID.
func (db *DB) RemoveRecoveryCode(ctx context.Context, userID string, hash []byte) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ? AND hash = ?`, userID, nonNil(hash)); err != nil {
		return fmt.Errorf("sqlite: remove recovery code: %w", err)
	}
	return nil
}
