package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/token"
)

var _ token.Store = (*DB)(nil)

const refreshColumns = `hash, family_id, session_id, user_id, client_id, scope, access_jti, created_at, expires_at, family_expires_at, used_at, audience`

const (
	createRefresh = `INSERT INTO refresh_tokens (` + refreshColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

	// One statement, so one transaction: the UPDATE is the compare-and-swap
	// (concurrent redeemers wait for the row lock, re-check used_at and
	// match nothing), and the successor joins the redeemed token's family
	// only if it won.
	redeemRefresh = `WITH used AS (
			UPDATE refresh_tokens SET used_at = $2 WHERE hash = $1 AND used_at IS NULL
			RETURNING family_id)
		INSERT INTO refresh_tokens (` + refreshColumns + `)
		SELECT $3, family_id, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM used
		RETURNING 1`
)

// CreateRefresh implements [token.Store]. A duplicate hash, or a token for
// a session that does not exist (foreign key), is an *sesame.Error with
// code [sesame.EConflict].
func (db *DB) CreateRefresh(ctx context.Context, r *token.Refresh) error {
	_, err := db.pool.Exec(ctx, createRefresh,
		r.Hash[:], r.FamilyID, r.SessionID, r.UserID, r.ClientID, r.Scope, r.AccessJTI,
		nanos(r.CreatedAt), nanos(r.ExpiresAt), nanos(r.FamilyExpiresAt), nanosOrNil(r.UsedAt), textList(r.Audience))
	switch pgCode(err) {
	case codeUniqueViolation, codeForeignKeyViolation:
		return sesame.Wrap(sesame.EConflict, err, "refresh token exists or its session does not")
	}
	if err != nil {
		return writeErr("create refresh token", err)
	}
	return nil
}

// RefreshByHash implements [token.Store].
func (db *DB) RefreshByHash(ctx context.Context, h [32]byte) (*token.Refresh, error) {
	var r token.Refresh
	var hash []byte
	var created, expires, famExpires int64
	var used *int64
	err := db.pool.QueryRow(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens WHERE hash = $1`, h[:]).Scan(
		&hash, &r.FamilyID, &r.SessionID, &r.UserID, &r.ClientID, &r.Scope, &r.AccessJTI,
		&created, &expires, &famExpires, &used, &r.Audience)
	if err != nil {
		return nil, readErr("read refresh token", err)
	}
	r.Audience = nilIfEmpty(r.Audience)
	copy(r.Hash[:], hash)
	r.CreatedAt, r.ExpiresAt, r.FamilyExpiresAt = fromNanos(created), fromNanos(expires), fromNanos(famExpires)
	r.UsedAt = fromNullNanos(used)
	return &r, nil
}

// RedeemRefresh implements [token.Store] in one statement (see
// redeemRefresh). When it inserts nothing, a second read tells a token
// already used ([sesame.ErrConflict]) from a missing one
// ([sesame.ErrNotFound]). next.FamilyID is ignored: the successor joins the
// family of the token redeemed.
func (db *DB) RedeemRefresh(ctx context.Context, h [32]byte, at time.Time, next *token.Refresh) error {
	rows, err := db.pool.Query(ctx, redeemRefresh, h[:], nanos(at),
		next.Hash[:], next.SessionID, next.UserID, next.ClientID, next.Scope, next.AccessJTI,
		nanos(next.CreatedAt), nanos(next.ExpiresAt), nanos(next.FamilyExpiresAt), nanosOrNil(next.UsedAt),
		textList(next.Audience))
	if err != nil {
		return fmt.Errorf("postgres: redeem refresh token: %w", err)
	}
	won := rows.Next()
	rows.Close()
	switch err := rows.Err(); pgCode(err) {
	case "":
		if err != nil {
			return fmt.Errorf("postgres: redeem refresh token: %w", err)
		}
	case codeUniqueViolation, codeForeignKeyViolation:
		return sesame.Wrap(sesame.EConflict, err, "successor refresh token exists or its session does not")
	default:
		return writeErr("redeem refresh token", err)
	}
	if won {
		return nil
	}
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE hash = $1)`, h[:]).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: redeem refresh token: %w", err)
	}
	if exists {
		return sesame.ErrConflict
	}
	return sesame.ErrNotFound
}

// DeleteFamily implements [token.Store], through the family index.
func (db *DB) DeleteFamily(ctx context.Context, familyID string) error {
	if !storableText(familyID) {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM refresh_tokens WHERE family_id = $1`, familyID); err != nil {
		return fmt.Errorf("postgres: delete refresh family: %w", err)
	}
	return nil
}
