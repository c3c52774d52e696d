package account

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/guard"
)

// LoginRequest is one password login attempt.
type LoginRequest struct {
	Username string // as typed; normalized here
	Password string
	// IP is the client's address, from guard.IPResolver.ClientIP: attempts
	// are throttled per IP and per (account, IP). The zero Addr is one
	// shared client "unknown".
	IP netip.Addr
	// UserAgent is for the audit record only. Optional.
	UserAgent string
}

// SignupRequest is one self-service sign-up.
type SignupRequest struct {
	Username  string
	Password  string
	IP        netip.Addr // as in LoginRequest
	UserAgent string     // for the audit record only; optional
}

// PasswordChange is a signed-in user's request to change their password.
type PasswordChange struct {
	UserID string
	// SessionID is the public ID of the session (cookie or tokens) the
	// caller is signed in with: it survives the change, and it is the
	// session ended after ReauthLimit wrong current passwords.
	SessionID string
	Current   string // checked with Reauthenticate
	New       string // must pass the Policy
	EndOthers bool   // end every other session of the user (SEC-13)
	IP        netip.Addr
}

// WaitError is an error that tells the client when to try again: a
// throttled attempt (its code is ETooMany, 429) or a busy hashing gate
// (EUnavailable, 503). An HTTP layer sends Wait as Retry-After, with
// [guard.RetryAfter]. Err is the *sesame.Error with the code and message.
type WaitError struct {
	Wait time.Duration
	Err  error
}

func (e *WaitError) Error() string { return e.Err.Error() }
func (e *WaitError) Unwrap() error { return e.Err }

// RetryAfter returns how long the client should wait before trying again,
// when err says so (it holds a [*WaitError]).
func RetryAfter(err error) (time.Duration, bool) {
	var we *WaitError
	if errors.As(err, &we) {
		return we.Wait, true
	}
	return 0, false
}

// Login checks a client's password under the login policy and returns the
// user, whose session the caller then starts:
//
//   - the throttle is asked first (per client IP, per account and per
//     pair, SEC-46): a client that must wait gets a [*WaitError] with code
//     ETooMany (429) before any hashing, and a throttle store that cannot
//     answer is EUnavailable (503): it fails closed;
//   - the password is checked inside the hashing gate (SEC-44): when no
//     slot frees up in time, a [*WaitError] with code EUnavailable;
//   - an unknown user and a wrong password get the same error,
//     [ErrBadCredentials], after the same work (SEC-45), and are counted
//     alike; a blocked user who gives the right password gets [ErrBlocked]
//     (and the attempt counts as a failure);
//   - a failure that cannot be counted is EUnavailable, not the
//     credential error;
//   - a correct password with stale hash parameters is re-hashed (SEC-41);
//   - every failure, throttled ones included, is a login.failure audit
//     event. The success is the caller's to audit, with the session it
//     starts.
func (s *Service) Login(ctx context.Context, req LoginRequest) (*sesame.User, error) {
	failed := func(known *sesame.User, reason string) {
		e := sesame.Event{Type: sesame.EventLoginFailure, IP: ipText(req.IP), UserAgent: req.UserAgent, Reason: reason}
		if known != nil {
			e.UserID, e.Username = known.ID, known.Username
		}
		s.emit(ctx, e)
	}
	if err := s.allow(ctx, req.IP, req.Username, "too many failed login attempts: try again later"); err != nil {
		if _, ok := RetryAfter(err); ok {
			e := sesame.Event{Type: sesame.EventLoginFailure, Username: truncate(req.Username, 64), IP: ipText(req.IP),
				UserAgent: req.UserAgent, Reason: "throttled"}
			s.emit(ctx, e)
		}
		return nil, err
	}
	var u, known *sesame.User
	var authErr error
	if err := s.gate(ctx, func() { u, known, authErr = s.authenticate(ctx, req.Username, req.Password) }); err != nil {
		return nil, err
	}
	if authErr == nil {
		s.throttleSuccess(ctx, req.IP, u.Username)
		return u, nil
	}
	if c := sesame.ErrorCode(authErr); c == sesame.EUnauthenticated || c == sesame.EForbidden {
		if err := s.countFailure(ctx, req.IP, req.Username); err != nil {
			failed(known, loginReason(authErr)+" (not counted: throttle store unavailable)")
			return nil, err
		}
	}
	failed(known, loginReason(authErr))
	return nil, authErr
}

func loginReason(err error) string {
	switch sesame.ErrorCode(err) {
	case sesame.EForbidden:
		return "blocked"
	case sesame.EInvalid:
		return "invalid input"
	case sesame.EUnavailable:
		return "store unavailable"
	}
	return "bad credentials"
}

// Register creates an account for a client that signs itself up: the
// password must pass the Policy (SEC-43), the work runs in the hashing
// gate, and the client IP is throttled like a login (SEC-46): an answer
// that a name is taken counts as a failed attempt on that name from that
// IP, so that one address cannot enumerate taken names (a name that was
// free is one the client has just created, which costs it nothing here).
// A client that must wait gets a [*WaitError] with code ETooMany, before
// any store lookup. Errors are those of [Service.Signup] otherwise.
func (s *Service) Register(ctx context.Context, req SignupRequest) (*sesame.User, error) {
	if err := s.allow(ctx, req.IP, req.Username, "too many attempts from your address: try again later"); err != nil {
		return nil, err
	}
	var u *sesame.User
	var err error
	if gerr := s.gate(ctx, func() { u, err = s.Signup(ctx, req.Username, req.Password, false) }); gerr != nil {
		return nil, gerr
	}
	if sesame.ErrorCode(err) == sesame.EConflict {
		if ferr := s.countFailure(ctx, req.IP, req.Username); ferr != nil {
			return nil, ferr
		}
	}
	return u, err
}

// Reauthenticate asks a signed-in caller for their password again before a
// sensitive step (a password change, any step-up), under the login policy
// (SEC-56), so that holding a session (a stolen cookie or token, an
// unlocked laptop) is never an unthrottled oracle for the password:
//
//   - the attempt is throttled per client IP and per account exactly like
//     a login, with the same counters: a client that must wait gets a
//     [*WaitError] with code ETooMany (429), whether its password is right
//     or not, and a throttle store that cannot answer is EUnavailable;
//   - the password is checked inside the hashing gate;
//   - every failure, throttled ones included, is a reauth.failure audit
//     event naming the user, the session and the address;
//   - the session sessionID has its own count of wrong passwords (in the
//     Throttle's shared store, for ReauthWindow): the ReauthLimit-th one
//     ends the session and returns [ErrSessionEnded]; before that, a wrong
//     password is [ErrWrongPassword].
//
// userID and sessionID are those of the caller (sesame.Principal); a user
// who no longer exists or is blocked, or an empty sessionID, is
// [ErrNoCaller]. It returns the user on success.
func (s *Service) Reauthenticate(ctx context.Context, userID, sessionID, pw string, ip netip.Addr) (*sesame.User, error) {
	if sessionID == "" || userID == "" {
		return nil, ErrNoCaller
	}
	u, err := s.Users.UserByID(ctx, userID)
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, ErrNoCaller
	}
	if err != nil {
		return nil, storeError(err)
	}
	if u.Blocked {
		return nil, ErrNoCaller
	}
	failed := func(reason string) {
		s.emit(ctx, sesame.Event{Type: sesame.EventReauthFailure, UserID: u.ID, Username: u.Username, SessionID: sessionID,
			IP: ipText(ip), Reason: reason})
	}
	if err := s.allow(ctx, ip, u.Username, "too many wrong passwords: try again later"); err != nil {
		if _, ok := RetryAfter(err); ok {
			failed("throttled")
		}
		return nil, err
	}
	ok := false
	if len(pw) <= s.maxPasswordBytes() { // a longer one cannot be right (SEC-44)
		if err := s.gate(ctx, func() {
			var verr error
			ok, _, verr = s.Hasher.Verify(pw, u.PasswordHash)
			ok = ok && verr == nil
		}); err != nil {
			return nil, err
		}
	}
	if ok {
		s.throttleSuccess(ctx, ip, u.Username)
		return u, nil
	}
	if err := s.countFailure(ctx, ip, u.Username); err != nil {
		failed("wrong password (not counted: throttle store unavailable)")
		return nil, err
	}
	n, err := s.strike(ctx, sessionID)
	if err != nil {
		failed("wrong password (not counted: throttle store unavailable)")
		return nil, err
	}
	limit := s.reauthLimit()
	if n < limit {
		failed(fmt.Sprintf("wrong password (%d of %d)", n, limit))
		return nil, ErrWrongPassword
	}
	failed(fmt.Sprintf("wrong password (%d of %d): session ended", n, limit))
	if _, err := s.Sessions.Revoke(ctx, sessionID, "too many wrong passwords"); err != nil {
		return nil, err
	}
	return nil, ErrSessionEnded
}

// ChangePassword changes a signed-in user's password after checking the
// current one with [Service.Reauthenticate] (SEC-43, SEC-56): its errors
// (throttled, wrong password, session ended) come first. The new password
// must pass the Policy. With EndOthers every other session of the user
// ends (SEC-13); c.SessionID is kept.
func (s *Service) ChangePassword(ctx context.Context, c PasswordChange) error {
	u, err := s.Reauthenticate(ctx, c.UserID, c.SessionID, c.Current, c.IP)
	if err != nil {
		return err
	}
	if err := s.Policy.Check(c.New, u.Username); err != nil {
		return passwordError(err)
	}
	var hash string
	if gerr := s.gate(ctx, func() { hash, err = s.Hasher.Hash(c.New) }); gerr != nil {
		return gerr
	}
	if err != nil {
		return passwordError(err)
	}
	u.PasswordHash = hash
	u.UpdatedAt = s.now()
	if err := s.Users.UpdateUser(ctx, u); err != nil {
		return storeError(err)
	}
	if c.EndOthers {
		if _, err := s.Sessions.RevokeUser(ctx, u.ID, c.SessionID, "password changed"); err != nil {
			return err
		}
	}
	s.emit(ctx, sesame.Event{Type: sesame.EventPasswordChange, UserID: u.ID, Username: u.Username, SessionID: c.SessionID})
	return nil
}

// ErrCredentialTooOld is the answer for a session or token created before
// the user's SessionsNotBefore (a block or a password reset since).
var ErrCredentialTooOld = sesame.Errorf(sesame.EUnauthenticated, "this sign-in predates a block or a password reset")

// CheckUser reports whether a session or token created at issued may still
// act for the user with userID: nil when it may; otherwise an *sesame.Error
// with code EUnauthenticated (the user no longer exists, or issued is
// before the user's SessionsNotBefore: [ErrCredentialTooOld]), EForbidden
// (blocked: [ErrBlocked]) or EUnavailable (the user store did not answer).
// It reads the store every time. It is meant for token.Config.CheckUser,
// so that blocking is final on the token path whatever the state of the
// session store (SEC-13).
func (s *Service) CheckUser(ctx context.Context, userID string, issued time.Time) error {
	u, err := s.Users.UserByID(ctx, userID)
	if errors.Is(err, sesame.ErrNotFound) {
		return ErrNoCaller
	}
	if err != nil {
		return storeError(err)
	}
	switch {
	case u.Blocked:
		return ErrBlocked
	case !u.Admits(issued):
		return ErrCredentialTooOld
	}
	return nil
}

// allow asks the throttle whether an attempt on username from ip may go on;
// a wait becomes a *WaitError with message msg.
func (s *Service) allow(ctx context.Context, ip netip.Addr, username, msg string) error {
	if s.Throttle == nil {
		return nil
	}
	wait, err := s.Throttle.Allow(ctx, ip, username)
	if err == nil {
		return nil
	}
	if wait > 0 {
		return &WaitError{Wait: wait, Err: sesame.Wrap(sesame.ETooMany, err, msg)}
	}
	return err
}

func (s *Service) countFailure(ctx context.Context, ip netip.Addr, username string) error {
	if s.Throttle == nil {
		return nil
	}
	return s.Throttle.Failure(ctx, ip, username)
}

func (s *Service) throttleSuccess(ctx context.Context, ip netip.Addr, username string) {
	if s.Throttle == nil {
		return
	}
	if err := s.Throttle.Success(ctx, ip, username); err != nil {
		s.logger().Warn("account: could not reset login failures", "err", err) // the login stands
	}
}

// gate runs f in the hashing gate; a refusal becomes a *WaitError of 1 s.
func (s *Service) gate(ctx context.Context, f func()) error {
	h := s.Hashing
	if h == nil {
		h = defaultHashing()
	}
	if err := h.Do(ctx, f); err != nil {
		return &WaitError{Wait: time.Second, Err: err}
	}
	return nil
}

var defaultHashing = sync.OnceValue(func() *guard.HashLimiter { return guard.NewHashLimiter(guard.HashConfig{}) })

// strike counts one wrong password of session sid and returns the count.
func (s *Service) strike(ctx context.Context, sid string) (int, error) {
	return s.strikeKey(ctx, "reauth:"+sid)
}

// strikeKey counts one failure under key (which names its kind and the
// session) and returns the count in the window.
func (s *Service) strikeKey(ctx context.Context, key string) (int, error) {
	window := s.ReauthWindow
	if window <= 0 && s.Sessions != nil {
		window = s.Sessions.Config().RememberLifetime
	}
	if window <= 0 {
		window = 30 * 24 * time.Hour
	}
	return s.strikeWindow(ctx, key, window)
}

// strikeWindow counts one event under key, remembered for window after
// the latest, and returns the count.
func (s *Service) strikeWindow(ctx context.Context, key string, window time.Duration) (int, error) {
	if s.Throttle != nil {
		return s.Throttle.Strike(ctx, key, window)
	}
	return localStrikes.add(key, sesame.ClockOrSystem(s.Clock).Now(), window), nil
}

func (s *Service) reauthLimit() int {
	if s.ReauthLimit > 0 {
		return s.ReauthLimit
	}
	return DefaultReauthLimit
}

// strikes counts wrong re-authentication passwords per session in this
// process, for a Service without a Throttle. Session IDs are random and
// unique, so one table serves every Service of the process.
type strikes struct {
	mu sync.Mutex
	m  map[string]strikeCount
}

type strikeCount struct {
	n       int
	expires time.Time
}

// maxLocalStrikes bounds the table: past it, expired entries are dropped,
// and if none has expired the table starts afresh (an attacker would need
// that many sessions, each with a wrong password, to clear it).
const maxLocalStrikes = 100000

var localStrikes strikes

func (st *strikes) add(sid string, now time.Time, window time.Duration) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.m == nil {
		st.m = make(map[string]strikeCount)
	}
	c := st.m[sid]
	if !now.Before(c.expires) {
		c = strikeCount{}
	}
	if c.n == 0 && len(st.m) >= maxLocalStrikes {
		for k, v := range st.m {
			if !now.Before(v.expires) {
				delete(st.m, k)
			}
		}
		if len(st.m) >= maxLocalStrikes {
			clear(st.m)
		}
	}
	c.n++
	c.expires = now.Add(window)
	st.m[sid] = c
	return c.n
}

func ipText(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.String()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
