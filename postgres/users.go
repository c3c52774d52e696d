package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame"
)

var _ sesame.UserStore = (*DB)(nil)

// Usernames are compared exactly (the "C" collation): "Alice" and "alice"
// are different users. Fold or normalise names before calling, if wanted.
// PostgreSQL text holds no NUL and only valid UTF-8: such a name is refused
// with an *sesame.Error of code [sesame.EInvalid], and never found.

const userColumns = `id, username, password_hash, admin, blocked, created_at, updated_at, sessions_not_before, group_names`

// CreateUser implements [sesame.UserStore]. A duplicate username or ID is an
// *sesame.Error with code [sesame.EConflict].
func (db *DB) CreateUser(ctx context.Context, u *sesame.User) error {
	groups, _, err := sesame.GroupChange{Replace: true, Add: u.Groups}.Apply(nil)
	if err != nil {
		return err
	}
	err = db.evented(ctx, func(q querier) ([]sesame.Event, error) {
		_, err := q.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			u.ID, u.Username, u.PasswordHash, u.Admin, u.Blocked, nanos(u.CreatedAt), nanos(u.UpdatedAt), nanosOrNil(u.SessionsNotBefore),
			groupArray(groups))
		return nil, err
	})
	if pgCode(err) == codeUniqueViolation {
		return sesame.Wrap(sesame.EConflict, err, "username is taken")
	}
	if err != nil {
		return writeErr("create user", err)
	}
	return nil
}

// UserByID implements [sesame.UserStore].
func (db *DB) UserByID(ctx context.Context, id string) (*sesame.User, error) {
	if !storableText(id) {
		return nil, sesame.ErrNotFound
	}
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, readErr("user by id", err)
	}
	return u, nil
}

// UserByName implements [sesame.UserStore]. The match is exact.
func (db *DB) UserByName(ctx context.Context, username string) (*sesame.User, error) {
	if !storableText(username) {
		return nil, sesame.ErrNotFound
	}
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username))
	if err != nil {
		return nil, readErr("user by name", err)
	}
	return u, nil
}

// UpdateUser implements [sesame.UserStore].
func (db *DB) UpdateUser(ctx context.Context, u *sesame.User) error {
	if !storableText(u.ID) {
		return sesame.ErrNotFound
	}
	err := db.evented(ctx, func(q querier) ([]sesame.Event, error) {
		tag, err := q.Exec(ctx, `UPDATE users SET password_hash = $2, admin = $3, blocked = $4, updated_at = $5, sessions_not_before = $6 WHERE id = $1`,
			u.ID, u.PasswordHash, u.Admin, u.Blocked, nanos(u.UpdatedAt), nanosOrNil(u.SessionsNotBefore))
		if err == nil && tag.RowsAffected() == 0 {
			err = sesame.ErrNotFound // and the transaction, with the events' rows, is rolled back
		}
		return nil, err
	})
	if errors.Is(err, sesame.ErrNotFound) {
		return err
	}
	if err != nil {
		return writeErr("update user", err)
	}
	return nil
}

// ListUsers implements [sesame.UserStore]: ordered by username, bytewise.
func (db *DB) ListUsers(ctx context.Context) ([]*sesame.User, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*sesame.User, error) { return scanUser(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	return out, nil
}

// SearchUsers implements [sesame.UserStore]: a range scan of the
// username index (UNIQUE, COLLATE "C": bytewise), from max(prefix,
// after) up to the end of the prefix.
func (db *DB) SearchUsers(ctx context.Context, prefix, after string, limit int) ([]*sesame.User, error) {
	if limit <= 0 || !storableText(prefix) || !storableText(after) {
		return nil, nil
	}
	from, op := prefix, ">="
	if after >= prefix {
		from, op = after, ">"
	}
	q := `SELECT ` + userColumns + ` FROM users WHERE username ` + op + ` $1`
	args := []any{from}
	if end := sesame.PrefixEnd(prefix); end != "" && storableText(end) {
		q += ` AND username < $2`
		args = append(args, end)
	}
	q += fmt.Sprintf(` ORDER BY username LIMIT %d`, limit)
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: search users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*sesame.User, error) { return scanUser(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: search users: %w", err)
	}
	for i, u := range out {
		if !strings.HasPrefix(u.Username, prefix) {
			return out[:i], nil // past the prefix's range (no upper bound was storable)
		}
	}
	return out, nil
}

// ChangeGroups implements [sesame.UserStore]: one transaction that locks
// the user's row (SELECT ... FOR UPDATE) from its read to its commit, so
// concurrent changes are applied one after the other.
func (db *DB) ChangeGroups(ctx context.Context, userID string, c sesame.GroupChange) ([]string, error) {
	if !storableText(userID) {
		return nil, sesame.ErrNotFound
	}
	var groups []string
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var cur []string
		err := tx.QueryRow(ctx, `SELECT group_names FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return sesame.ErrNotFound
		}
		if err != nil {
			return err
		}
		var changed bool
		if groups, changed, err = c.Apply(cur); err != nil || !changed {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE users SET group_names = $2,
			updated_at = CASE WHEN $3 THEN $4 ELSE updated_at END WHERE id = $1`,
			userID, groupArray(groups), !c.At.IsZero(), nanos(c.At))
		return err
	})
	var e *sesame.Error
	if err == nil || errors.Is(err, sesame.ErrNotFound) || errors.As(err, &e) {
		return groups, err
	}
	return nil, fmt.Errorf("postgres: change groups: %w", err)
}

// groupArray is groups for a text[] column: never NULL.
func groupArray(groups []string) []string {
	if groups == nil {
		return []string{}
	}
	return groups
}

func scanUser(row pgx.Row) (*sesame.User, error) {
	var u sesame.User
	var created, updated int64
	var notBefore *int64
	if err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &u.Admin, &u.Blocked, &created, &updated, &notBefore, &u.Groups); err != nil {
		return nil, err
	}
	if len(u.Groups) == 0 {
		u.Groups = nil
	}
	u.CreatedAt, u.UpdatedAt, u.SessionsNotBefore = fromNanos(created), fromNanos(updated), fromNullNanos(notBefore)
	return &u, nil
}
