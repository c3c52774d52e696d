// Package account holds the account operations shared by the HTTP server
// and the command line: sign-up, password authentication, blocking and
// password changes. It keeps users in a [sesame.UserStore] and ends
// sessions through a [session.Manager].
package account

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/session"
)

// Hasher is what the service needs of a password hasher; *password.Hasher
// is the one to use.
type Hasher interface {
	Hash(pw string) (string, error)
	Verify(pw, encoded string) (ok, needsRehash bool, err error)
	// Dummy does the work of one Verify, for unknown users (SEC-45).
	Dummy(pw string)
}

// Service performs account operations. It is safe for concurrent use.
type Service struct {
	Users    sesame.UserStore
	Sessions *session.Manager
	Hasher   Hasher
	Policy   password.Policy
	Clock    sesame.Clock     // default the system clock
	Events   sesame.EventSink // default none
}

// ErrBadCredentials is the one answer to a failed password login, whether
// the user does not exist or the password is wrong (SEC-45).
var ErrBadCredentials = sesame.Errorf(sesame.EUnauthenticated, "invalid username or password")

// ErrBlocked is returned to a user who proved their password but whose
// account is blocked.
var ErrBlocked = sesame.Errorf(sesame.EForbidden, "this account is blocked")

// MaxUsernameBytes bounds usernames.
const MaxUsernameBytes = 64

// NormalizeUsername lowercases name and checks it: 1 to 64 characters of
// ASCII letters, digits and . _ - @ +. Usernames are compared after this
// normalization, so "Alice" and "alice" are one account.
func NormalizeUsername(name string) (string, error) {
	if name == "" {
		return "", sesame.Errorf(sesame.EInvalid, "username is required")
	}
	if len(name) > MaxUsernameBytes {
		return "", sesame.Errorf(sesame.EInvalid, "username is too long: at most %d characters", MaxUsernameBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-@+", c) >= 0
		if !ok {
			return "", sesame.Errorf(sesame.EInvalid, "username may contain only letters, digits and . _ - @ +")
		}
	}
	return strings.ToLower(name), nil
}

// passwordError turns a password package error into a client-safe *Error.
func passwordError(err error) error {
	switch {
	case errors.Is(err, password.ErrTooShort):
		return sesame.Wrap(sesame.EInvalid, err, "password is too short: use at least 8 characters")
	case errors.Is(err, password.ErrTooLong):
		return sesame.Wrap(sesame.EInvalid, err, "password is too long")
	case errors.Is(err, password.ErrCommon):
		return sesame.Wrap(sesame.EInvalid, err, "password is too common: choose another")
	case errors.Is(err, password.ErrSameAsUserInput):
		return sesame.Wrap(sesame.EInvalid, err, "password must not be your username")
	}
	return sesame.Wrap(sesame.EInternal, err, "could not process the password")
}

// Signup creates an account. The password must pass the policy (SEC-43).
// A taken username is an *Error with code EConflict.
func (s *Service) Signup(ctx context.Context, username, pw string, admin bool) (*sesame.User, error) {
	name, err := NormalizeUsername(username)
	if err != nil {
		return nil, err
	}
	if err := s.Policy.Check(pw, name); err != nil {
		return nil, passwordError(err)
	}
	if _, err := s.Users.UserByName(ctx, name); err == nil {
		s.Hasher.Dummy(pw) // the same work either way
		return nil, sesame.Errorf(sesame.EConflict, "username is taken")
	} else if !errors.Is(err, sesame.ErrNotFound) {
		return nil, storeError(err)
	}
	hash, err := s.Hasher.Hash(pw)
	if err != nil {
		return nil, passwordError(err)
	}
	now := sesame.ClockOrSystem(s.Clock).Now().UTC()
	u := &sesame.User{ID: newUserID(), Username: name, PasswordHash: hash, Admin: admin, CreatedAt: now, UpdatedAt: now}
	if err := s.Users.CreateUser(ctx, u); err != nil {
		if sesame.ErrorCode(err) == sesame.EConflict {
			return nil, sesame.Errorf(sesame.EConflict, "username is taken")
		}
		return nil, storeError(err)
	}
	s.emit(ctx, sesame.Event{Type: sesame.EventSignup, UserID: u.ID, Username: u.Username})
	return u, nil
}

// Authenticate checks a username and password. Unknown users and wrong
// passwords get the same error after the same work (SEC-45); a password
// over the maximum length is refused before any hashing (SEC-44). A
// correct password whose stored hash has stale parameters is re-hashed.
func (s *Service) Authenticate(ctx context.Context, username, pw string) (*sesame.User, error) {
	if len(pw) > s.maxPasswordBytes() {
		return nil, passwordError(password.ErrTooLong)
	}
	name, nameErr := NormalizeUsername(username)
	var u *sesame.User
	if nameErr == nil {
		var err error
		u, err = s.Users.UserByName(ctx, name)
		if err != nil && !errors.Is(err, sesame.ErrNotFound) {
			return nil, storeError(err)
		}
	}
	if u == nil {
		s.Hasher.Dummy(pw)
		return nil, ErrBadCredentials
	}
	ok, rehash, err := s.Hasher.Verify(pw, u.PasswordHash)
	if err != nil || !ok {
		return nil, ErrBadCredentials
	}
	if u.Blocked {
		return nil, ErrBlocked
	}
	if rehash {
		if h, err := s.Hasher.Hash(pw); err == nil {
			u.PasswordHash = h
			u.UpdatedAt = sesame.ClockOrSystem(s.Clock).Now().UTC()
			_ = s.Users.UpdateUser(ctx, u) // best effort: the login itself succeeded
		}
	}
	return u, nil
}

// SetBlocked blocks or unblocks a user. Blocking ends every session of the
// user at once (SEC-13).
func (s *Service) SetBlocked(ctx context.Context, username string, blocked bool) (*sesame.User, error) {
	u, err := s.lookup(ctx, username)
	if err != nil {
		return nil, err
	}
	u.Blocked = blocked
	u.UpdatedAt = sesame.ClockOrSystem(s.Clock).Now().UTC()
	if err := s.Users.UpdateUser(ctx, u); err != nil {
		return nil, storeError(err)
	}
	t := sesame.EventUserUnblocked
	if blocked {
		t = sesame.EventUserBlocked
		if _, err := s.Sessions.RevokeUser(ctx, u.ID, "", "user blocked"); err != nil {
			return nil, err
		}
	}
	s.emit(ctx, sesame.Event{Type: t, UserID: u.ID, Username: u.Username})
	return u, nil
}

// SetPassword sets a user's password (policy-checked) and ends all of the
// user's sessions except keepSession ("" ends all).
func (s *Service) SetPassword(ctx context.Context, username, pw, keepSession string) error {
	u, err := s.lookup(ctx, username)
	if err != nil {
		return err
	}
	if err := s.Policy.Check(pw, u.Username); err != nil {
		return passwordError(err)
	}
	hash, err := s.Hasher.Hash(pw)
	if err != nil {
		return passwordError(err)
	}
	u.PasswordHash = hash
	u.UpdatedAt = sesame.ClockOrSystem(s.Clock).Now().UTC()
	if err := s.Users.UpdateUser(ctx, u); err != nil {
		return storeError(err)
	}
	if _, err := s.Sessions.RevokeUser(ctx, u.ID, keepSession, "password changed"); err != nil {
		return err
	}
	s.emit(ctx, sesame.Event{Type: sesame.EventPasswordChange, UserID: u.ID, Username: u.Username})
	return nil
}

// ChangePassword changes the password of the user with userID after
// checking the current one (SEC-43): a wrong current password is
// ErrBadCredentials. When endOthers is true every other session of the user
// ends (SEC-13); keepSession is the caller's own.
func (s *Service) ChangePassword(ctx context.Context, userID, current, next, keepSession string, endOthers bool) error {
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return storeError(err)
	}
	if len(current) > s.maxPasswordBytes() {
		return ErrBadCredentials
	}
	if ok, _, err := s.Hasher.Verify(current, u.PasswordHash); err != nil || !ok {
		return ErrBadCredentials
	}
	if err := s.Policy.Check(next, u.Username); err != nil {
		return passwordError(err)
	}
	hash, err := s.Hasher.Hash(next)
	if err != nil {
		return passwordError(err)
	}
	u.PasswordHash = hash
	u.UpdatedAt = sesame.ClockOrSystem(s.Clock).Now().UTC()
	if err := s.Users.UpdateUser(ctx, u); err != nil {
		return storeError(err)
	}
	if endOthers {
		if _, err := s.Sessions.RevokeUser(ctx, u.ID, keepSession, "password changed"); err != nil {
			return err
		}
	}
	s.emit(ctx, sesame.Event{Type: sesame.EventPasswordChange, UserID: u.ID, Username: u.Username})
	return nil
}

// Lookup returns the user with the given username.
func (s *Service) Lookup(ctx context.Context, username string) (*sesame.User, error) {
	return s.lookup(ctx, username)
}

func (s *Service) lookup(ctx context.Context, username string) (*sesame.User, error) {
	name, err := NormalizeUsername(username)
	if err != nil {
		return nil, err
	}
	u, err := s.Users.UserByName(ctx, name)
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, sesame.Errorf(sesame.ENotFound, "no such user")
	}
	if err != nil {
		return nil, storeError(err)
	}
	return u, nil
}

// maxPasswordBytes is the hasher's input limit (its default when unset).
func (s *Service) maxPasswordBytes() int {
	if h, ok := s.Hasher.(*password.Hasher); ok && h.MaxBytes > 0 {
		return h.MaxBytes
	}
	return password.DefaultMaxBytes
}

func (s *Service) emit(ctx context.Context, e sesame.Event) {
	if s.Events == nil {
		return
	}
	e.Time = sesame.ClockOrSystem(s.Clock).Now().UTC()
	s.Events.Emit(ctx, e)
}

func storeError(err error) error {
	var se *sesame.Error
	if errors.As(err, &se) {
		return err
	}
	return sesame.Wrap(sesame.EUnavailable, err, "user store unavailable")
}

func newUserID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
