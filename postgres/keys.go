package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/keyring"
)

var _ keyring.Store = (*DB)(nil)

// InsertKey implements [keyring.Store]. A duplicate kid is an
// *sesame.Error with code [sesame.EConflict].
func (db *DB) InsertKey(ctx context.Context, r *keyring.Record) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO signing_keys (kid, alg, sealed, created_at, activate_at, retired_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		r.KID, string(r.Alg), r.Sealed, nanos(r.CreatedAt), nanos(r.ActivateAt), nanosOrNil(r.RetiredAt))
	if pgCode(err) == codeUniqueViolation {
		return sesame.Wrap(sesame.EConflict, err, "signing key id exists")
	}
	if err != nil {
		return writeErr("insert signing key", err)
	}
	return nil
}

// ListKeys implements [keyring.Store]: ordered by CreatedAt, then KID.
func (db *DB) ListKeys(ctx context.Context) ([]*keyring.Record, error) {
	rows, err := db.pool.Query(ctx, `SELECT kid, alg, sealed, created_at, activate_at, retired_at
		FROM signing_keys ORDER BY created_at, kid COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list signing keys: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*keyring.Record, error) {
		var (
			r                 keyring.Record
			alg               string
			created, activate int64
			retired           *int64
		)
		if err := row.Scan(&r.KID, &alg, &r.Sealed, &created, &activate, &retired); err != nil {
			return nil, err
		}
		r.Alg = jose.Algorithm(alg)
		r.CreatedAt, r.ActivateAt, r.RetiredAt = fromNanos(created), fromNanos(activate), fromNullNanos(retired)
		return &r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list signing keys: %w", err)
	}
	return out, nil
}

// RetireKey implements [keyring.Store]: retirement only ever moves earlier.
func (db *DB) RetireKey(ctx context.Context, kid string, at time.Time) error {
	if at.IsZero() {
		return sesame.Errorf(sesame.EInvalid, "retire at the zero time")
	}
	if !storableText(kid) {
		return sesame.ErrNotFound
	}
	// PostgreSQL counts every row the WHERE matched, even when the CASE
	// keeps the old value, so 0 rows means the kid is missing.
	tag, err := db.pool.Exec(ctx, `UPDATE signing_keys
		SET retired_at = CASE WHEN retired_at IS NULL OR retired_at > $2 THEN $2 ELSE retired_at END
		WHERE kid = $1`, kid, nanos(at))
	if err != nil {
		return fmt.Errorf("postgres: retire signing key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return sesame.ErrNotFound
	}
	return nil
}

// DeleteKey implements [keyring.Store]. Deleting a missing kid is not an
// error.
func (db *DB) DeleteKey(ctx context.Context, kid string) error {
	if !storableText(kid) {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM signing_keys WHERE kid = $1`, kid); err != nil {
		return fmt.Errorf("postgres: delete signing key: %w", err)
	}
	return nil
}
