package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/keyring"
)

var _ keyring.Store = (*DB)(nil)

// Signing keys are read at start, every refresh interval (30 s by default)
// and by the CLI, and written only on rotation: their statements are not
// worth preparing on every connection at Open.

// InsertKey implements [keyring.Store]. A duplicate kid is an
// *sesame.Error with code [sesame.EConflict].
func (db *DB) InsertKey(ctx context.Context, r *keyring.Record) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO signing_keys (kid, alg, sealed, created_at, activate_at, retired_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		r.KID, string(r.Alg), r.Sealed, nanos(r.CreatedAt), nanos(r.ActivateAt), nanosOrNil(r.RetiredAt))
	if constraint(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return sesame.Wrap(sesame.EConflict, err, "signing key id exists")
	}
	if err != nil {
		return fmt.Errorf("sqlite: insert signing key: %w", err)
	}
	return nil
}

// ListKeys implements [keyring.Store]: ordered by CreatedAt, then KID.
func (db *DB) ListKeys(ctx context.Context) ([]*keyring.Record, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT kid, alg, sealed, created_at, activate_at, retired_at
		FROM signing_keys ORDER BY created_at, kid`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list signing keys: %w", err)
	}
	defer rows.Close()
	var out []*keyring.Record
	for rows.Next() {
		var (
			r                 keyring.Record
			alg               string
			created, activate int64
			retired           sql.NullInt64
		)
		if err := rows.Scan(&r.KID, &alg, &r.Sealed, &created, &activate, &retired); err != nil {
			return nil, fmt.Errorf("sqlite: list signing keys: %w", err)
		}
		r.Alg = jose.Algorithm(alg)
		r.CreatedAt, r.ActivateAt = fromNanos(created), fromNanos(activate)
		if retired.Valid {
			r.RetiredAt = fromNanos(retired.Int64)
		}
		out = append(out, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list signing keys: %w", err)
	}
	return out, nil
}

// RetireKey implements [keyring.Store]: retirement only ever moves earlier.
func (db *DB) RetireKey(ctx context.Context, kid string, at time.Time) error {
	if at.IsZero() {
		return sesame.Errorf(sesame.EInvalid, "retire at the zero time")
	}
	// SQLite counts every row the WHERE matched as changed, even when the
	// CASE keeps the old value, so 0 rows means the kid is missing.
	res, err := db.w.ExecContext(ctx, `UPDATE signing_keys
		SET retired_at = CASE WHEN retired_at IS NULL OR retired_at > ?2 THEN ?2 ELSE retired_at END
		WHERE kid = ?1`, kid, nanos(at))
	if err != nil {
		return fmt.Errorf("sqlite: retire signing key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: retire signing key: %w", err)
	}
	if n == 0 {
		return sesame.ErrNotFound
	}
	return nil
}

// DeleteKey implements [keyring.Store]. Deleting a missing kid is not an
// error.
func (db *DB) DeleteKey(ctx context.Context, kid string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM signing_keys WHERE kid = ?`, kid); err != nil {
		return fmt.Errorf("sqlite: delete signing key: %w", err)
	}
	return nil
}

// nanosOrNil encodes t, or NULL for the zero time.
func nanosOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return nanos(t)
}
