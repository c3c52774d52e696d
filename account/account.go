// Package account holds the account operations shared by the HTTP server
// and the command line: sign-up, the login policy, re-authentication of a
// signed-in caller, blocking and password changes. It keeps users in a
// [sesame.UserStore] and ends sessions through a [session.Manager].
//
// [Service.Login], [Service.Register] and [Service.Reauthenticate] are the
// operations that face a client: they throttle per client IP and per
// account, bound the number of password hashes in flight, do the same work
// for unknown users and audit every failure. An HTTP layer only translates
// their errors: the code of the *sesame.Error gives the status, and
// [RetryAfter] the Retry-After header.
//
//	u, err := accounts.Login(ctx, account.LoginRequest{Username: name, Password: pw, IP: resolver.ClientIP(r)})
//	if err != nil {
//		if wait, ok := account.RetryAfter(err); ok {
//			w.Header().Set("Retry-After", guard.RetryAfter(wait))
//		}
//		writeError(w, err) // 401, 403, 429 or 503
//		return
//	}
//	// start the session for u.ID
//
// [Service.Signup], [Service.Authenticate] and [Service.SetPassword] are the
// unthrottled building blocks for trusted callers such as the command line.
package account

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/guard"
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

// Service performs account operations. Users, Sessions and Hasher are
// required; every other field has the default its comment gives. A Service
// holds no state of its own: it is safe for concurrent use, and may be
// copied before its first use.
type Service struct {
	Users    sesame.UserStore
	Sessions *session.Manager
	Hasher   Hasher
	Policy   password.Policy

	// Throttle limits password attempts per client IP and per account
	// (SEC-46): logins, re-authentications (SEC-56) and sign-ups of taken
	// names. It also keeps, in its shared store, the count of wrong
	// passwords each session has given when re-authenticating. Default
	// nil: no throttling, and those counts are kept in this process only
	// (`sesame serve` always sets one; server.New passes its
	// Config.Throttle when this is nil).
	Throttle *guard.Limiter
	// Hashing bounds how many password hashes run at once (SEC-44).
	// Default: one guard.HashLimiter with its defaults, shared by every
	// Service of the process that leaves this nil.
	Hashing *guard.HashLimiter
	// ReauthLimit is how many wrong passwords one session may give when
	// re-authenticating before the session is ended (SEC-56). Default
	// [DefaultReauthLimit].
	ReauthLimit int
	// ReauthWindow is how long a session's wrong passwords are remembered
	// after the latest one. Default: the session manager's
	// RememberLifetime (30 days unless configured), the longest a session
	// lives, so that the limit holds for the whole life of the session.
	ReauthWindow time.Duration

	// Factors checks and keeps the user's TOTP factors and recovery codes
	// (a *factor.Service). Default nil: no second factor but passkeys.
	Factors Factors
	// HasPasskey reports whether a user has a passkey, which is a second
	// factor after a password. Default nil: none counts.
	HasPasskey func(ctx context.Context, userID string) (bool, error)
	// RemovePasskeys removes every passkey of a user and returns how many
	// ([Service.ResetFactors]). Default nil: passkeys are not touched.
	RemovePasskeys func(ctx context.Context, userID string) (int, error)
	// FactorPolicy says who must have a second factor: FactorsOptional
	// (the default, ""), FactorsAdmins or FactorsEveryone. A user required
	// to have one and without any is sent to enrolment after the password
	// ([Service.NextStep]).
	FactorPolicy string
	// SecondFactorLimit is how many wrong second-factor codes one session
	// may give before it is ended. Default [DefaultSecondFactorLimit].
	SecondFactorLimit int

	Clock  sesame.Clock     // default the system clock
	Events sesame.EventSink // default none
	Logger *slog.Logger     // operational messages; default slog.Default()
}

// DefaultReauthLimit is the default of [Service.ReauthLimit].
const DefaultReauthLimit = 10

// ErrBadCredentials is the one answer to a failed password login, whether
// the user does not exist or the password is wrong (SEC-45).
var ErrBadCredentials = sesame.Errorf(sesame.EUnauthenticated, "invalid username or password")

// ErrBlocked is returned to a user who proved their password but whose
// account is blocked.
var ErrBlocked = sesame.Errorf(sesame.EForbidden, "this account is blocked")

// ErrWrongPassword is the answer to a signed-in caller whose password, asked
// again before a sensitive step, is wrong.
var ErrWrongPassword = sesame.Errorf(sesame.EUnauthenticated, "the password is wrong")

// ErrSessionEnded is the answer to the wrong password that reached
// [Service.ReauthLimit]: the session that gave it has been ended.
var ErrSessionEnded = sesame.Errorf(sesame.EUnauthenticated, "too many wrong passwords: you have been signed out")

// ErrNoCaller is the answer when the signed-in caller no longer exists, is
// blocked, or names no session.
var ErrNoCaller = sesame.Errorf(sesame.EUnauthenticated, "authentication required")

// MaxUsernameBytes bounds usernames; it is [sesame.MaxUsernameBytes].
const MaxUsernameBytes = sesame.MaxUsernameBytes

// NormalizeUsername is [sesame.NormalizeUsername]: it lowercases name and
// checks it (1 to 64 characters of ASCII letters, digits and . _ - @ +).
func NormalizeUsername(name string) (string, error) { return sesame.NormalizeUsername(name) }

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
// A taken username is an *Error with code EConflict. Signup is not
// throttled: it is for trusted callers (the command line); a sign-up from
// a client goes through [Service.Register].
func (s *Service) Signup(ctx context.Context, username, pw string, admin bool) (*sesame.User, error) {
	name, err := sesame.NormalizeUsername(username)
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
	now := s.now()
	u := &sesame.User{ID: newUserID(), Username: name, PasswordHash: hash, Admin: admin, CreatedAt: now, UpdatedAt: now}
	ev := sesame.Event{Type: sesame.EventSignup, UserID: u.ID, Username: u.Username}
	wctx := s.withEvent(ctx, ev)
	if err := s.Users.CreateUser(wctx, u); err != nil {
		if sesame.ErrorCode(err) == sesame.EConflict {
			return nil, sesame.Errorf(sesame.EConflict, "username is taken")
		}
		return nil, storeError(err)
	}
	s.emit(wctx, ev)
	return u, nil
}

// Authenticate checks a username and password, and nothing else: no
// throttle, no hashing gate, no audit. A client's login goes through
// [Service.Login], which applies the whole policy around this check.
//
// Unknown users and wrong passwords get the same error after the same work
// (SEC-45); a password over the maximum length is refused before any
// hashing (SEC-44). A correct password whose stored hash has stale
// parameters is re-hashed.
func (s *Service) Authenticate(ctx context.Context, username, pw string) (*sesame.User, error) {
	u, _, err := s.authenticate(ctx, username, pw)
	return u, err
}

// authenticate is Authenticate that also returns the account the name
// designates, when there is one, for the audit record of a failure.
func (s *Service) authenticate(ctx context.Context, username, pw string) (u, known *sesame.User, err error) {
	if len(pw) > s.maxPasswordBytes() {
		return nil, nil, passwordError(password.ErrTooLong)
	}
	if name, nameErr := sesame.NormalizeUsername(username); nameErr == nil {
		known, err = s.Users.UserByName(ctx, name)
		if err != nil && !errors.Is(err, sesame.ErrNotFound) {
			return nil, nil, storeError(err)
		}
		if err != nil {
			known = nil
		}
	}
	if known == nil {
		s.Hasher.Dummy(pw)
		return nil, nil, ErrBadCredentials
	}
	ok, rehash, err := s.Hasher.Verify(pw, known.PasswordHash)
	if err != nil || !ok {
		return nil, known, ErrBadCredentials
	}
	if known.Blocked {
		return nil, known, ErrBlocked
	}
	if rehash {
		if h, err := s.Hasher.Hash(pw); err == nil {
			known.PasswordHash = h
			known.UpdatedAt = s.now()
			_ = s.Users.UpdateUser(ctx, known) // best effort: the login itself succeeded
		}
	}
	return known, known, nil
}

// SetBlocked blocks or unblocks a user. Blocking ends every session of the
// user at once (SEC-13), and sets the user's SessionsNotBefore, so that no
// session or refresh token that existed at that moment is ever accepted
// again, unblocked or not, even if the session store could not be reached:
// then the user is blocked all the same and the error says that the
// sessions could not be ended.
func (s *Service) SetBlocked(ctx context.Context, username string, blocked bool) (*sesame.User, error) {
	u, err := s.lookup(ctx, username)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u.Blocked = blocked
	u.UpdatedAt = now
	if blocked {
		u.SessionsNotBefore = now
	}
	ev := sesame.Event{Type: sesame.EventUserBlocked, UserID: u.ID, Username: u.Username}
	if !blocked {
		ev.Type = sesame.EventUserUnblocked
	}
	wctx := s.withEvent(ctx, ev)
	if err := s.Users.UpdateUser(wctx, u); err != nil {
		return nil, storeError(err)
	}
	s.emit(wctx, ev)
	if !blocked {
		return u, nil
	}
	if _, err := s.Sessions.RevokeUser(ctx, u.ID, "", "user blocked"); err != nil {
		return nil, err
	}
	return u, nil
}

// SetPassword sets a user's password (policy-checked) and ends all of the
// user's sessions except keepSession. With keepSession "" (a reset by an
// administrator) it also sets the user's SessionsNotBefore, so that no
// session or token of before the reset is accepted again even where the
// session store was not reached (SEC-13).
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
	now := s.now()
	u.PasswordHash = hash
	u.UpdatedAt = now
	if keepSession == "" {
		u.SessionsNotBefore = now
	}
	ev := sesame.Event{Type: sesame.EventPasswordChange, UserID: u.ID, Username: u.Username}
	wctx := s.withEvent(ctx, ev)
	if err := s.Users.UpdateUser(wctx, u); err != nil {
		return storeError(err)
	}
	if _, err := s.Sessions.RevokeUser(ctx, u.ID, keepSession, "password changed"); err != nil {
		return err
	}
	s.emit(wctx, ev)
	return nil
}

// Lookup returns the user with the given username.
func (s *Service) Lookup(ctx context.Context, username string) (*sesame.User, error) {
	return s.lookup(ctx, username)
}

func (s *Service) lookup(ctx context.Context, username string) (*sesame.User, error) {
	name, err := sesame.NormalizeUsername(username)
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

func (s *Service) now() time.Time { return sesame.ClockOrSystem(s.Clock).Now().UTC() }

// withEvent is ctx carrying e for the store write about to be made
// ([sesame.TxEvents]): a SQL store queues its webhooks in the write's
// transaction. Pass it to that one write, and to emit.
func (s *Service) withEvent(ctx context.Context, e sesame.Event) context.Context {
	if s.Events == nil {
		return ctx
	}
	e.Time = s.now()
	ctx, _ = sesame.WithTxEvents(ctx, e)
	return ctx
}

func (s *Service) emit(ctx context.Context, e sesame.Event) {
	if s.Events == nil {
		return
	}
	e.Time = s.now()
	s.Events.Emit(ctx, e)
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
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
