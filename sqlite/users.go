package sqlite

import (
	"context"
	"database/sql"
	"fmt"
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
	_, err := db.st.createUser.ExecContext(ctx, u.ID, u.Username, u.PasswordHash,
		boolInt(u.Admin), boolInt(u.Blocked), nanos(u.CreatedAt), nanos(u.UpdatedAt), nanosOrNull(u.SessionsNotBefore))
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
	res, err := db.st.updateUser.ExecContext(ctx, u.ID, u.PasswordHash, boolInt(u.Admin), boolInt(u.Blocked), nanos(u.UpdatedAt),
		nanosOrNull(u.SessionsNotBefore))
	if err != nil {
		return fmt.Errorf("sqlite: update user: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: update user: %w", err)
	}
	if n == 0 {
		return sesame.ErrNotFound
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

func scanUser(row interface{ Scan(...any) error }) (*sesame.User, error) {
	var u sesame.User
	var created, updated int64
	var notBefore sql.NullInt64
	if err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &u.Admin, &u.Blocked, &created, &updated, &notBefore); err != nil {
		return nil, err
	}
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
