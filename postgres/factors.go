package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/factor"
)

var _ factor.Store = (*DB)(nil)

// Second factors, recovery codes and the per-user requirement (migration
// 0012). The two writes that spend something (UseFactorStep,
// UseRecoveryCode) are each one conditional UPDATE, so of two concurrent
// callers only one changes the row.

const factorColumns = `id, user_id, kind, name, secret, created_at, confirmed_at, last_used_at, last_step`

// AddFactor implements [factor.Store].
func (db *DB) AddFactor(ctx context.Context, f *factor.Factor) error {
	if !storableText(f.ID) || !storableText(f.UserID) || !storableText(f.Kind) || !storableText(f.Name) {
		return errBadText
	}
	secret := f.Secret
	if secret == nil {
		secret = []byte{}
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO factors (`+factorColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		f.ID, f.UserID, f.Kind, f.Name, secret, nanos(f.CreatedAt), nanosOrNil(f.ConfirmedAt), nanosOrNil(f.LastUsedAt), f.LastStep)
	if pgCode(err) == codeUniqueViolation {
		return sesame.Errorf(sesame.EConflict, "factor exists")
	}
	if err != nil {
		return writeErr("add factor", err)
	}
	return nil
}

func scanFactor(row pgx.Row) (*factor.Factor, error) {
	var (
		f               factor.Factor
		created         int64
		confirmed, used *int64
	)
	if err := row.Scan(&f.ID, &f.UserID, &f.Kind, &f.Name, &f.Secret, &created, &confirmed, &used, &f.LastStep); err != nil {
		return nil, err
	}
	f.CreatedAt, f.ConfirmedAt, f.LastUsedAt = fromNanos(created), fromNullNanos(confirmed), fromNullNanos(used)
	return &f, nil
}

// Factor implements [factor.Store].
func (db *DB) Factor(ctx context.Context, userID, id string) (*factor.Factor, error) {
	if !storableText(userID) || !storableText(id) {
		return nil, sesame.ErrNotFound
	}
	f, err := scanFactor(db.pool.QueryRow(ctx, `SELECT `+factorColumns+` FROM factors WHERE user_id = $1 AND id = $2`, userID, id))
	if err != nil {
		return nil, readErr("factor", err)
	}
	return f, nil
}

// Factors implements [factor.Store].
func (db *DB) Factors(ctx context.Context, userID string) ([]*factor.Factor, error) {
	if !storableText(userID) {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+factorColumns+` FROM factors WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, readErr("factors", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*factor.Factor, error) { return scanFactor(row) })
	if err != nil {
		return nil, readErr("factors", err)
	}
	return out, nil
}

// UseFactorStep implements [factor.Store] in one statement: the UPDATE ...
// WHERE last_step < step, and whether the factor exists at all (to tell a
// replay from ErrNotFound).
func (db *DB) UseFactorStep(ctx context.Context, userID, id string, step int64, at time.Time, confirm bool) (bool, error) {
	if !storableText(userID) || !storableText(id) {
		return false, sesame.ErrNotFound
	}
	var updated, exists bool
	err := db.evented(ctx, func(q querier) ([]sesame.Event, error) {
		err := q.QueryRow(ctx, `WITH upd AS (
			UPDATE factors SET last_step = $3, last_used_at = $4,
				confirmed_at = CASE WHEN $5 AND confirmed_at IS NULL THEN $4 ELSE confirmed_at END
			WHERE user_id = $1 AND id = $2 AND last_step < $3 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM upd), EXISTS (SELECT 1 FROM factors WHERE user_id = $1 AND id = $2)`,
			userID, id, step, nanos(at), confirm).Scan(&updated, &exists)
		if err == nil && !updated {
			err = errNothing // a replay or no factor: no event, nothing committed
		}
		return nil, err
	})
	if errors.Is(err, errNothing) {
		err = nil
	}
	if err != nil {
		return false, writeErr("use factor", err)
	}
	if !updated && !exists {
		return false, sesame.ErrNotFound
	}
	return updated, nil
}

// DeleteFactor implements [factor.Store].
func (db *DB) DeleteFactor(ctx context.Context, userID, id string) error {
	if !storableText(userID) || !storableText(id) {
		return sesame.ErrNotFound
	}
	err := db.evented(ctx, func(q querier) ([]sesame.Event, error) {
		tag, err := q.Exec(ctx, `DELETE FROM factors WHERE user_id = $1 AND id = $2`, userID, id)
		if err == nil && tag.RowsAffected() == 0 {
			err = sesame.ErrNotFound // and the transaction, with the events' rows, is rolled back
		}
		return nil, err
	})
	if errors.Is(err, sesame.ErrNotFound) {
		return err
	}
	if err != nil {
		return writeErr("delete factor", err)
	}
	return nil
}

// DeleteUnconfirmedFactors implements [factor.Store].
func (db *DB) DeleteUnconfirmedFactors(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM factors WHERE confirmed_at IS NULL AND created_at < $1`, nanos(cutoff))
	if err != nil {
		return 0, writeErr("delete unconfirmed factors", err)
	}
	return int(tag.RowsAffected()), nil
}

// ReplaceRecoveryCodes implements [factor.Store], in one transaction.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time) error {
	if !storableText(userID) {
		return errBadText
	}
	err := db.eventedTx(ctx, func(tx querier) ([]sesame.Event, error) {
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return nil, err
		}
		for _, h := range hashes {
			if h == nil {
				h = []byte{}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, hash, created_at) VALUES ($1, $2, $3)
				ON CONFLICT (user_id, hash) DO NOTHING`, userID, h, nanos(at)); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	if err != nil {
		return writeErr("replace recovery codes", err)
	}
	return nil
}

// UseRecoveryCode implements [factor.Store] in one UPDATE ... WHERE
// used_at IS NULL.
func (db *DB) UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time) (bool, error) {
	if !storableText(userID) || hash == nil {
		return false, nil
	}
	err := db.evented(ctx, func(q querier) ([]sesame.Event, error) {
		tag, err := q.Exec(ctx, `UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND hash = $2 AND used_at IS NULL`,
			userID, hash, nanos(at))
		if err == nil && tag.RowsAffected() == 0 {
			err = errNothing // no such unused code: no event, nothing committed
		}
		return nil, err
	})
	if errors.Is(err, errNothing) {
		return false, nil
	}
	if err != nil {
		return false, writeErr("use recovery code", err)
	}
	return true, nil
}

// RecoveryCodes implements [factor.Store].
func (db *DB) RecoveryCodes(ctx context.Context, userID string) (factor.RecoveryState, error) {
	if !storableText(userID) {
		return factor.RecoveryState{}, nil
	}
	var (
		st            factor.RecoveryState
		created, used *int64
	)
	err := db.pool.QueryRow(ctx, `SELECT count(*), count(*) - count(used_at), min(created_at), max(used_at)
		FROM recovery_codes WHERE user_id = $1`, userID).Scan(&st.Total, &st.Unused, &created, &used)
	if err != nil {
		return factor.RecoveryState{}, readErr("recovery codes", err)
	}
	st.CreatedAt, st.LastUsedAt = fromNullNanos(created), fromNullNanos(used)
	return st, nil
}

// DeleteUserFactors implements [factor.Store], in one transaction.
func (db *DB) DeleteUserFactors(ctx context.Context, userID string) (int, error) {
	if !storableText(userID) {
		return 0, nil
	}
	var n int64
	err := db.eventedTx(ctx, func(tx querier) ([]sesame.Event, error) {
		tag, err := tx.Exec(ctx, `DELETE FROM factors WHERE user_id = $1`, userID)
		if err != nil {
			return nil, err
		}
		n = tag.RowsAffected()
		if _, err = tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return nil, err
		}
		return sesame.TxEventsFrom(ctx).RemovedEvents(int(n)), nil
	})
	if err != nil {
		return 0, writeErr("delete user factors", err)
	}
	return int(n), nil
}

// FactorRequired implements [factor.Store].
func (db *DB) FactorRequired(ctx context.Context, userID string) (bool, error) {
	if !storableText(userID) {
		return false, nil
	}
	var on bool
	err := db.pool.QueryRow(ctx, `SELECT required FROM factor_requirements WHERE user_id = $1`, userID).Scan(&on)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, readErr("factor required", err)
	}
	return on, nil
}

// SetFactorRequired implements [factor.Store].
func (db *DB) SetFactorRequired(ctx context.Context, userID string, required bool) error {
	if !storableText(userID) {
		return errBadText
	}
	err := db.evented(ctx, func(q querier) ([]sesame.Event, error) {
		_, err := q.Exec(ctx, `INSERT INTO factor_requirements (user_id, required) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET required = excluded.required`, userID, required)
		return nil, err
	})
	if err != nil {
		return writeErr("set factor required", err)
	}
	return nil
}
