package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sesame-auth/sesame"
)

// Usernames are compared exactly (the BINARY collation): "Alice" and
// "alice" are different users. Fold or normalise names before calling, if
// wanted.

// CreateUser implements [sesame.UserStore]. A duplicate username or ID is an
// *sesame.Error with code [sesame.EConflict].
func (db *DB) CreateUser(ctx context.Context, u *sesame.User) error {
	groups, _, err := sesame.GroupChange{Replace: true, Add: u.Groups}.Apply(nil)
	if err != nil {
		return err
	}
	err = db.evented(ctx, func(tx *sql.Tx) ([]sesame.Event, error) {
		_, err := stmt(ctx, tx, db.st.createUser).ExecContext(ctx, u.ID, u.Username, u.PasswordHash,
			boolInt(u.Admin), boolInt(u.Blocked), nanos(u.CreatedAt), nanos(u.UpdatedAt), nanosOrNull(u.SessionsNotBefore),
			joinGroups(groups))
		return nil, err
	})
	switch constraint(err) {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return sesame.Wrap(sesame.EConflict, err, "username is taken")
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return sesame.Wrap(sesame.EConflict, err, "user id exists")
	}
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	return nil
}

// UserByID implements [sesame.UserStore].
func (db *DB) UserByID(ctx context.Context, id string) (*sesame.User, error) {
	u, err := scanUser(db.st.userByID.QueryRowContext(ctx, id))
	if err != nil {
		return nil, readErr("user by id", err)
	}
	return u, nil
}

// UserByName implements [sesame.UserStore]. The match is exact.
func (db *DB) UserByName(ctx context.Context, username string) (*sesame.User, error) {
	u, err := scanUser(db.st.userByName.QueryRowContext(ctx, username))
	if err != nil {
		return nil, readErr("user by name", err)
	}
	return u, nil
}

// UpdateUser implements [sesame.UserStore].
func (db *DB) UpdateUser(ctx context.Context, u *sesame.User) error {
	err := db.evented(ctx, func(tx *sql.Tx) ([]sesame.Event, error) {
		res, err := stmt(ctx, tx, db.st.updateUser).ExecContext(ctx, u.ID, u.PasswordHash, boolInt(u.Admin), boolInt(u.Blocked),
			nanos(u.UpdatedAt), nanosOrNull(u.SessionsNotBefore))
		if err != nil {
			return nil, err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = sesame.ErrNotFound // and the transaction, with the events' rows, is rolled back
		}
		return nil, err
	})
	if errors.Is(err, sesame.ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("sqlite: update user: %w", err)
	}
	return nil
}

// ListUsers implements [sesame.UserStore]: ordered by username, bytewise.
func (db *DB) ListUsers(ctx context.Context) ([]*sesame.User, error) {
	rows, err := db.st.users.QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	var out []*sesame.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	return out, nil
}

// SearchUsers implements [sesame.UserStore]: a range scan of the
// username index (its UNIQUE constraint), from max(prefix, after) up to
// the end of the prefix.
func (db *DB) SearchUsers(ctx context.Context, prefix, after string, limit int) ([]*sesame.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	q, args := searchUsersQuery(prefix, after, limit)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search users: %w", err)
	}
	defer rows.Close()
	var out []*sesame.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: search users: %w", err)
		}
		if !strings.HasPrefix(u.Username, prefix) {
			break // past the prefix's range: the rest sort after it too
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: search users: %w", err)
	}
	return out, nil
}

// searchUsersQuery is SearchUsers' query: a range of the username index.
func searchUsersQuery(prefix, after string, limit int) (string, []any) {
	from, op := prefix, ">="
	if after >= prefix {
		from, op = after, ">"
	}
	q := `SELECT ` + userColumns + ` FROM users WHERE username ` + op + ` ?`
	args := []any{from}
	if end := sesame.PrefixEnd(prefix); end != "" {
		q += ` AND username < ?`
		args = append(args, end)
	}
	return q + ` ORDER BY username LIMIT ?`, append(args, limit)
}

// ChangeGroups implements [sesame.UserStore]: one immediate transaction
// (it holds the write lock from its read to its commit), so concurrent
// changes are applied one after the other.
func (db *DB) ChangeGroups(ctx context.Context, userID string, c sesame.GroupChange) ([]string, error) {
	groups, err := db.changeGroups(ctx, userID, c)
	if err == nil || errors.Is(err, sesame.ErrNotFound) || sesame.ErrorCode(err) == sesame.EInvalid {
		return groups, err
	}
	return nil, fmt.Errorf("sqlite: change groups: %w", err)
}

func (db *DB) changeGroups(ctx context.Context, userID string, c sesame.GroupChange) ([]string, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var cur string
	err = tx.QueryRowContext(ctx, `SELECT group_names FROM users WHERE id = ?`, userID).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sesame.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	groups, changed, err := c.Apply(splitGroups(cur))
	if err != nil || !changed {
		return groups, err
	}
	const update = `UPDATE users SET group_names = ?2,
		updated_at = CASE WHEN ?3 THEN ?4 ELSE updated_at END WHERE id = ?1`
	if _, err := tx.ExecContext(ctx, update, userID, joinGroups(groups), boolInt(!c.At.IsZero()), nanos(c.At)); err != nil {
		return nil, err
	}
	return groups, tx.Commit()
}

// joinGroups encodes valid group names for the group_names column: joined
// by a space, which no valid name holds.
func joinGroups(groups []string) string { return strings.Join(groups, " ") }

// splitGroups decodes the group_names column; the empty string is nil.
func splitGroups(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

func scanUser(row interface{ Scan(...any) error }) (*sesame.User, error) {
	var u sesame.User
	var created, updated int64
	var notBefore sql.NullInt64
	var groups string
	if err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &u.Admin, &u.Blocked, &created, &updated, &notBefore, &groups); err != nil {
		return nil, err
	}
	u.Groups = splitGroups(groups)
	u.CreatedAt, u.UpdatedAt = fromNanos(created), fromNanos(updated)
	if notBefore.Valid {
		u.SessionsNotBefore = fromNanos(notBefore.Int64)
	}
	return &u, nil
}

// nanosOrNull encodes t for a nullable time column: NULL for the zero time.
func nanosOrNull(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: nanos(t), Valid: true}
}
