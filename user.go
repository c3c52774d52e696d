package sesame

import (
	"context"
	"slices"
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

	// Groups are the groups the user belongs to: valid names
	// ([ValidGroupName]), sorted, without duplicates, at most
	// [MaxGroupsPerUser]; nil for none. Access rules, forward-auth identity
	// headers and (opt-in) access tokens use them. A store sets them at
	// CreateUser and changes them only through [UserStore.ChangeGroups],
	// never through UpdateUser, so that a concurrent password change or
	// block cannot undo a group change. Readers must not modify the slice.
	Groups []string
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
	Groups    []string  `json:"groups,omitempty"`
}

// Public returns the showable part of u.
func (u *User) Public() PublicUser {
	return PublicUser{ID: u.ID, Username: u.Username, Admin: u.Admin, Blocked: u.Blocked, CreatedAt: u.CreatedAt,
		Groups: slices.Clone(u.Groups)}
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

// MaxGroupNameBytes bounds group names.
const MaxGroupNameBytes = 64

// MaxGroupsPerUser bounds the groups of one user.
const MaxGroupsPerUser = 64

// ValidGroupName reports whether name is a valid, normalised group name: 1
// to [MaxGroupNameBytes] bytes of lowercase ASCII letters, digits and
// . _ -, beginning with a letter or a digit. Such a name needs no escaping
// in a header, a JWT claim, a configuration file or a command line, and
// holds no separator (space, comma, colon).
func ValidGroupName(name string) bool {
	if name == "" || len(name) > MaxGroupNameBytes {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || strings.IndexByte("._-", c) < 0) {
			return false
		}
	}
	return true
}

// NormalizeGroupName lowercases name and checks it with [ValidGroupName].
// Errors are *Error with code [EInvalid] and a message fit for the client.
func NormalizeGroupName(name string) (string, error) {
	if name == "" {
		return "", Errorf(EInvalid, "group name is required")
	}
	if len(name) > MaxGroupNameBytes {
		return "", Errorf(EInvalid, "group name is too long: at most %d characters", MaxGroupNameBytes)
	}
	lower := asciiLower(name) // not strings.ToLower: the Kelvin sign is not a "k"
	if !ValidGroupName(lower) {
		return "", Errorf(EInvalid, "group name %q is invalid: use letters, digits and . _ - (starting with a letter or digit)", name)
	}
	return lower, nil
}

// asciiLower lowercases the ASCII letters of s and leaves every other
// byte as it is.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// NormalizeGroups normalises every name with [NormalizeGroupName] and
// returns them sorted without duplicates (nil for none). More than
// [MaxGroupsPerUser] distinct names is an error. Errors are *Error with code
// [EInvalid].
func NormalizeGroups(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		g, err := NormalizeGroupName(n)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxGroupsPerUser {
		return nil, Errorf(EInvalid, "too many groups: at most %d per user", MaxGroupsPerUser)
	}
	return out, nil
}

// GroupChange is one change to a user's groups, applied atomically by
// [UserStore.ChangeGroups]: start from the user's current groups (or from
// none when Replace is set), add Add, then remove Remove. Names must be
// valid ([ValidGroupName]); normalise them with [NormalizeGroups] first.
type GroupChange struct {
	Replace bool      // start from no groups: the change sets the groups to Add
	Add     []string  // groups to add; already a member is no change
	Remove  []string  // groups to remove; not a member is no change
	At      time.Time // the user's new UpdatedAt, when the groups change (zero: unchanged)
}

// Apply returns the groups that c makes of cur, sorted without duplicates
// (nil for none), and whether they differ from cur. A name that is not
// valid, or a result of more than [MaxGroupsPerUser] groups, is an *Error
// with code [EInvalid]. Stores use it to compute the change inside their
// transaction.
func (c GroupChange) Apply(cur []string) (groups []string, changed bool, err error) {
	for _, g := range slices.Concat(c.Add, c.Remove) {
		if !ValidGroupName(g) {
			return nil, false, Errorf(EInvalid, "group name %q is invalid", g)
		}
	}
	if !c.Replace {
		groups = slices.Clone(cur)
	}
	groups = append(groups, c.Add...)
	groups = slices.DeleteFunc(groups, func(g string) bool { return slices.Contains(c.Remove, g) })
	slices.Sort(groups)
	groups = slices.Compact(groups)
	if len(groups) == 0 {
		groups = nil
	}
	if len(groups) > MaxGroupsPerUser {
		return nil, false, Errorf(EInvalid, "too many groups: at most %d per user", MaxGroupsPerUser)
	}
	old := slices.Clone(cur)
	slices.Sort(old)
	return groups, !slices.Equal(groups, slices.Compact(old)), nil
}

// UserStore keeps accounts.
//
// Not found is [ErrNotFound]. Usernames are unique: creating a duplicate
// returns an *Error with code [EConflict]. CreateUser stores u.Groups,
// which must be valid as [User.Groups] says (else an *Error with code
// [EInvalid]). Any other error means the store
// could not answer (callers answer 503) and nothing was changed.
type UserStore interface {
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id string) (*User, error)
	UserByName(ctx context.Context, username string) (*User, error)
	// UpdateUser replaces the mutable fields (PasswordHash, Admin, Blocked,
	// SessionsNotBefore, UpdatedAt) of the user with u.ID. It leaves Groups
	// as they are.
	UpdateUser(ctx context.Context, u *User) error
	// ChangeGroups applies c to the groups of the user with userID
	// atomically, so that two concurrent changes both take effect, and
	// returns the user's groups afterwards (sorted, nil for none). The
	// user's UpdatedAt becomes c.At when the groups change and c.At is not
	// zero. An invalid name
	// or too many groups ([GroupChange.Apply]) is an *Error with code
	// [EInvalid] and changes nothing.
	ChangeGroups(ctx context.Context, userID string, c GroupChange) ([]string, error)
	// ListUsers returns all users ordered by username.
	ListUsers(ctx context.Context) ([]*User, error)
	// SearchUsers returns one page of users ordered by username
	// (bytewise): at most limit users whose username starts with prefix
	// (every user when prefix is empty) and sorts after after (from the
	// first when after is empty). The next page starts after the last
	// username returned. It reads the username index, not every user, so
	// a page costs the same at 100,000 users as at 10.
	SearchUsers(ctx context.Context, prefix, after string, limit int) ([]*User, error)
}

// PrefixEnd returns the smallest string greater than every string that
// starts with prefix (bytewise), for a range scan username >= prefix AND
// username < PrefixEnd(prefix); "" when there is none (prefix is empty or
// all 0xff bytes: no upper bound).
func PrefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}
