package sesame

import (
	"context"
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
	// UpdatedAt) of the user with u.ID.
	UpdateUser(ctx context.Context, u *User) error
	// ListUsers returns all users ordered by username.
	ListUsers(ctx context.Context) ([]*User, error)
}
