package sesame

import (
	"context"
	"strings"
	"time"
)

// User is an account.
type User struct {
	ID           string    // stable, random, never reused
	Username     string    // unique, case-sensitive as given (see the store's doc for folding)
	PasswordHash string    // PHC string; never sent to a client or logged
	Admin        bool      // may use the admin API
	Blocked      bool      // may not log in; all sessions were revoked when set
	CreatedAt    time.Time // UTC
	UpdatedAt    time.Time // UTC

	// SessionsNotBefore is the earliest creation time of a session or token
	// that may act for the user: one created before it is refused even if
	// the session store still holds it. Blocking a user and an
	// administrator's password reset set it to the current time, so that
	// nothing that existed then comes back, even when the session store
	// could not be told (SEC-13). The zero time refuses nothing.
	SessionsNotBefore time.Time
}

// Admits reports whether a session or token created at issued may act for
// u: u is not blocked and issued is not before u.SessionsNotBefore.
func (u *User) Admits(issued time.Time) bool {
	return !u.Blocked && !issued.Before(u.SessionsNotBefore)
}

// LogValue-free by design: User is not logged whole. Use [User.Public] to
// expose it.

// PublicUser is the part of a User that may be shown to its owner or an
// admin.
type PublicUser struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Admin     bool      `json:"admin"`
	Blocked   bool      `json:"blocked"`
	CreatedAt time.Time `json:"created_at"`
}

// Public returns the showable part of u.
func (u *User) Public() PublicUser {
	return PublicUser{ID: u.ID, Username: u.Username, Admin: u.Admin, Blocked: u.Blocked, CreatedAt: u.CreatedAt}
}

// MaxUsernameBytes bounds usernames.
const MaxUsernameBytes = 64

// NormalizeUsername lowercases name and checks it: 1 to 64 characters of
// ASCII letters, digits and . _ - @ +. Usernames are compared after this
// normalization, so "Alice" and "alice" are one account. Errors are
// *Error with code [EInvalid] and a message fit for the client.
func NormalizeUsername(name string) (string, error) {
	if name == "" {
		return "", Errorf(EInvalid, "username is required")
	}
	if len(name) > MaxUsernameBytes {
		return "", Errorf(EInvalid, "username is too long: at most %d characters", MaxUsernameBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-@+", c) >= 0
		if !ok {
			return "", Errorf(EInvalid, "username may contain only letters, digits and . _ - @ +")
		}
	}
	return strings.ToLower(name), nil
}

// UserStore keeps accounts.
//
// Not found is [ErrNotFound]. Usernames are unique: creating a duplicate
// returns an *Error with code [EConflict]. Any other error means the store
// could not answer (callers answer 503) and nothing was changed.
type UserStore interface {
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id string) (*User, error)
	UserByName(ctx context.Context, username string) (*User, error)
	// UpdateUser replaces the mutable fields (PasswordHash, Admin, Blocked,
	// SessionsNotBefore, UpdatedAt) of the user with u.ID.
	UpdateUser(ctx context.Context, u *User) error
	// ListUsers returns all users ordered by username.
	ListUsers(ctx context.Context) ([]*User, error)
}
