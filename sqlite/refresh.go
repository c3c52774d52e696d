package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/token"
)

var _ token.Store = (*DB)(nil)

const refreshColumns = `hash, family_id, session_id, user_id, client_id, scope, access_jti, created_at, expires_at, family_expires_at, used_at, audience`

// CreateRefresh implements [token.Store]. A token for a session that does
// not exist is refused (foreign key).
func (db *DB) CreateRefresh(ctx context.Context, r *token.Refresh) error {
	if err := insertRefresh(ctx, db.w, r, r.FamilyID); err != nil {
		if sesame.ErrorCode(err) == sesame.EInvalid {
			return err
		}
		if constraint(err) != 0 {
			return sesame.Wrap(sesame.EConflict, err, "refresh token exists or its session does not")
		}
		return fmt.Errorf("sqlite: create refresh token: %w", err)
	}
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func insertRefresh(ctx context.Context, x execer, r *token.Refresh, family string) error {
	aud, err := encodeList(r.Audience)
	if err != nil {
		return err
	}
	_, err = x.ExecContext(ctx, `INSERT INTO refresh_tokens (`+refreshColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Hash[:], family, r.SessionID, r.UserID, r.ClientID, r.Scope, r.AccessJTI,
		nanos(r.CreatedAt), nanos(r.ExpiresAt), nanos(r.FamilyExpiresAt), nanosOrNil(r.UsedAt), aud)
	return err
}

// RefreshByHash implements [token.Store].
func (db *DB) RefreshByHash(ctx context.Context, h [32]byte) (*token.Refresh, error) {
	var r token.Refresh
	var hash []byte
	var created, expires, famExpires int64
	var used sql.NullInt64
	var aud string
	err := db.r.QueryRowContext(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens WHERE hash = ?`, h[:]).Scan(
		&hash, &r.FamilyID, &r.SessionID, &r.UserID, &r.ClientID, &r.Scope, &r.AccessJTI,
		&created, &expires, &famExpires, &used, &aud)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sesame.ErrNotFound
	}
	if err == nil {
		r.Audience, err = decodeList(aud)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read refresh token: %w", err)
	}
	copy(r.Hash[:], hash)
	r.CreatedAt, r.ExpiresAt, r.FamilyExpiresAt = fromNanos(created), fromNanos(expires), fromNanos(famExpires)
	if used.Valid {
		r.UsedAt = fromNanos(used.Int64)
	}
	return &r, nil
}

// RedeemRefresh implements [token.Store]: one immediate transaction whose
// UPDATE ... WHERE used_at IS NULL is the compare-and-swap.
func (db *DB) RedeemRefresh(ctx context.Context, h [32]byte, at time.Time, next *token.Refresh) error {
	err := db.redeem(ctx, h, at, next)
	if err == nil || errors.Is(err, sesame.ErrConflict) || errors.Is(err, sesame.ErrNotFound) || sesame.ErrorCode(err) == sesame.EInvalid {
		return err
	}
	return fmt.Errorf("sqlite: redeem refresh token: %w", err)
}

func (db *DB) redeem(ctx context.Context, h [32]byte, at time.Time, next *token.Refresh) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var family string
	err = tx.QueryRowContext(ctx, `UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL RETURNING family_id`,
		nanos(at), h[:]).Scan(&family)
	if errors.Is(err, sql.ErrNoRows) {
		var one int
		switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM refresh_tokens WHERE hash = ?`, h[:]).Scan(&one); {
		case errors.Is(err, sql.ErrNoRows):
			return sesame.ErrNotFound
		case err != nil:
			return err
		}
		return sesame.ErrConflict
	}
	if err != nil {
		return err
	}
	if err := insertRefresh(ctx, tx, next, family); err != nil {
		if sesame.ErrorCode(err) == sesame.EInvalid {
			return err
		}
		if constraint(err) != 0 {
			return sesame.Wrap(sesame.EConflict, err, "successor refresh token exists or its session does not")
		}
		return err
	}
	return tx.Commit()
}

// DeleteFamily implements [token.Store].
func (db *DB) DeleteFamily(ctx context.Context, familyID string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE family_id = ?`, familyID); err != nil {
		return fmt.Errorf("sqlite: delete refresh family: %w", err)
	}
	return nil
}
