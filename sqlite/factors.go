package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/factor"
)

var _ factor.Store = (*DB)(nil)

// Second factors, recovery codes and the per-user requirement (migration
// 0011). Writes go through the one writer connection; the two that spend
// something (UseFactorStep, UseRecoveryCode) are each one conditional
// UPDATE, so of two concurrent callers only one changes the row.

const factorColumns = `id, user_id, kind, name, secret, created_at, confirmed_at, last_used_at, last_step`

// AddFactor implements [factor.Store].
func (db *DB) AddFactor(ctx context.Context, f *factor.Factor) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO factors (`+factorColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.UserID, f.Kind, f.Name, nonNil(f.Secret), nanos(f.CreatedAt), nanosOrNil(f.ConfirmedAt),
		nanosOrNil(f.LastUsedAt), f.LastStep)
	if constraint(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return sesame.Errorf(sesame.EConflict, "factor exists")
	}
	if err != nil {
		return fmt.Errorf("sqlite: add factor: %w", err)
	}
	return nil
}

type rowScanner interface{ Scan(dest ...any) error }

func scanFactor(r rowScanner) (*factor.Factor, error) {
	var (
		f               factor.Factor
		created         int64
		confirmed, used sql.NullInt64
	)
	if err := r.Scan(&f.ID, &f.UserID, &f.Kind, &f.Name, &f.Secret, &created, &confirmed, &used, &f.LastStep); err != nil {
		return nil, err
	}
	f.CreatedAt = fromNanos(created)
	if confirmed.Valid {
		f.ConfirmedAt = fromNanos(confirmed.Int64)
	}
	if used.Valid {
		f.LastUsedAt = fromNanos(used.Int64)
	}
	return &f, nil
}

// Factor implements [factor.Store].
func (db *DB) Factor(ctx context.Context, userID, id string) (*factor.Factor, error) {
	f, err := scanFactor(db.r.QueryRowContext(ctx, `SELECT `+factorColumns+` FROM factors WHERE id = ? AND user_id = ?`, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sesame.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: factor: %w", err)
	}
	return f, nil
}

// Factors implements [factor.Store].
func (db *DB) Factors(ctx context.Context, userID string) ([]*factor.Factor, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+factorColumns+` FROM factors WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: factors: %w", err)
	}
	defer rows.Close()
	var out []*factor.Factor
	for rows.Next() {
		f, err := scanFactor(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: factors: %w", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: factors: %w", err)
	}
	return out, nil
}

// UseFactorStep implements [factor.Store] in one UPDATE ... WHERE
// last_step < step; when it changes nothing, a read tells a replay from a
// factor that does not exist.
func (db *DB) UseFactorStep(ctx context.Context, userID, id string, step int64, at time.Time, confirm bool) (bool, error) {
	var missing bool
	err := db.evented(ctx, func(tx *sql.Tx) ([]sesame.Event, error) {
		q := db.on(tx)
		res, err := q.ExecContext(ctx, `UPDATE factors SET last_step = ?, last_used_at = ?,
		confirmed_at = CASE WHEN ? AND confirmed_at IS NULL THEN ? ELSE confirmed_at END
		WHERE id = ? AND user_id = ? AND last_step < ?`, step, nanos(at), boolInt(confirm), nanos(at), id, userID, step)
		if err != nil {
			return nil, err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 1 {
			return nil, err
		}
		var one int
		err = q.QueryRowContext(ctx, `SELECT 1 FROM factors WHERE id = ? AND user_id = ?`, id, userID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			missing = true
		} else if err != nil {
			return nil, err
		}
		return nil, errNothing // a replay: no event, nothing committed
	})
	switch {
	case err == nil:
		return true, nil
	case missing:
		return false, sesame.ErrNotFound
	case errors.Is(err, errNothing):
		return false, nil
	}
	return false, fmt.Errorf("sqlite: use factor: %w", err)
}

// DeleteFactor implements [factor.Store].
func (db *DB) DeleteFactor(ctx context.Context, userID, id string) error {
	return db.changeOne(ctx, "delete factor", `DELETE FROM factors WHERE id = ? AND user_id = ?`, id, userID) // evented
}

// DeleteUnconfirmedFactors implements [factor.Store].
func (db *DB) DeleteUnconfirmedFactors(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM factors WHERE confirmed_at IS NULL AND created_at < ?`, nanos(cutoff))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete unconfirmed factors: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete unconfirmed factors: %w", err)
	}
	return int(n), nil
}

// ReplaceRecoveryCodes implements [factor.Store], in one transaction.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time) error {
	err := db.eventedTx(ctx, func(tx *sql.Tx) ([]sesame.Event, error) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return nil, err
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash, created_at) VALUES (?, ?, ?)
				ON CONFLICT (user_id, hash) DO NOTHING`, userID, nonNil(h), nanos(at)); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: replace recovery codes: %w", err)
	}
	return nil
}

// UseRecoveryCode implements [factor.Store] in one UPDATE ... WHERE
// used_at IS NULL.
func (db *DB) UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time) (bool, error) {
	err := db.evented(ctx, func(tx *sql.Tx) ([]sesame.Event, error) {
		res, err := db.on(tx).ExecContext(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL`,
			nanos(at), userID, nonNil(hash))
		if err != nil {
			return nil, err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = errNothing // no such unused code: no event, nothing committed
		}
		return nil, err
	})
	if errors.Is(err, errNothing) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: use recovery code: %w", err)
	}
	return true, nil
}

// RecoveryCodes implements [factor.Store].
func (db *DB) RecoveryCodes(ctx context.Context, userID string) (factor.RecoveryState, error) {
	var (
		st            factor.RecoveryState
		created, used sql.NullInt64
	)
	err := db.r.QueryRowContext(ctx, `SELECT count(*), count(*) - count(used_at), min(created_at), max(used_at)
		FROM recovery_codes WHERE user_id = ?`, userID).Scan(&st.Total, &st.Unused, &created, &used)
	if err != nil {
		return factor.RecoveryState{}, fmt.Errorf("sqlite: recovery codes: %w", err)
	}
	if created.Valid {
		st.CreatedAt = fromNanos(created.Int64)
	}
	if used.Valid {
		st.LastUsedAt = fromNanos(used.Int64)
	}
	return st, nil
}

// DeleteUserFactors implements [factor.Store], in one transaction.
func (db *DB) DeleteUserFactors(ctx context.Context, userID string) (int, error) {
	var n int64
	err := db.eventedTx(ctx, func(tx *sql.Tx) ([]sesame.Event, error) {
		res, err := tx.ExecContext(ctx, `DELETE FROM factors WHERE user_id = ?`, userID)
		if err != nil {
			return nil, err
		}
		if n, err = res.RowsAffected(); err != nil {
			return nil, err
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return nil, err
		}
		return sesame.TxEventsFrom(ctx).RemovedEvents(int(n)), nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete user factors: %w", err)
	}
	return int(n), nil
}

// FactorRequired implements [factor.Store].
func (db *DB) FactorRequired(ctx context.Context, userID string) (bool, error) {
	var on int64
	err := db.r.QueryRowContext(ctx, `SELECT required FROM factor_requirements WHERE user_id = ?`, userID).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: factor required: %w", err)
	}
	return on != 0, nil
}

// SetFactorRequired implements [factor.Store].
func (db *DB) SetFactorRequired(ctx context.Context, userID string, required bool) error {
	err := db.evented(ctx, func(tx *sql.Tx) ([]sesame.Event, error) {
		_, err := db.on(tx).ExecContext(ctx, `INSERT INTO factor_requirements (user_id, required) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET required = excluded.required`, userID, boolInt(required))
		return nil, err
	})
	if err != nil {
		return fmt.Errorf("sqlite: set factor required: %w", err)
	}
	return nil
}
