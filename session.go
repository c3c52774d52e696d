package sesame

import (
	"log/slog"
	"slices"
	"time"
)

// Device is what the server saw of the client that created a session.
type Device struct {
	UserAgent string `json:"user_agent"`
	IP        string `json:"ip"`
}

// Session is the server-side record of one login.
//
// The client holds a random token; the record holds only the token's
// SHA-256 (TokenHash). ID is a separate random public identifier used to
// list and revoke sessions and as the `sid` of tokens; knowing it does not
// let anyone use the session.
type Session struct {
	ID        string
	UserID    string
	TokenHash [32]byte

	// PrevTokenHash is the hash of the token this session had before its
	// last renewal; it is accepted until PrevValidUntil so that requests
	// already in flight at renewal do not fail. Zero when unused.
	PrevTokenHash  [32]byte
	PrevValidUntil time.Time

	CreatedAt   time.Time
	LastSeen    time.Time
	IdleTimeout time.Duration // the session ends when LastSeen+IdleTimeout passes
	ExpiresAt   time.Time     // absolute end, never extended
	Remember    bool          // persistent cookie ("remember me")
	AuthTime    time.Time     // when the user last proved their password
	Device      Device

	// AMR lists how the user authenticated this session, in the order the
	// factors were given (RFC 8176 values: [AMRPassword], [AMROTP],
	// [AMRHardwareKey], [AMRRecoveryCode]). ACR is its level:
	// [ACROneFactor] or [ACRTwoFactors]. Both are empty for an anonymous
	// session, and for a session made before they were recorded (read:
	// one factor, the password).
	AMR []string
	ACR string
	// FactorTime is when the user last gave a second factor (at sign-in
	// or a step-up); zero when never. A step-up of a two-factor session
	// must renew it as well as AuthTime.
	FactorTime time.Time
	// Pending marks a session whose password was proven but whose second
	// factor is still awaited. It is nobody's sign-in yet: it has no
	// Principal, carries no token, and reaches only the second-factor step
	// and logout (SEC-60). It lives a few minutes (its ExpiresAt), and is
	// replaced by a new session (new ID and token) when the factor is given.
	Pending bool

	Version int64 // incremented by every successful Update
	Data    map[string][]byte
}

// The authentication method references of [Session.AMR] (RFC 8176 §2;
// "rec", a recovery code, is Sesame's own).
const (
	AMRPassword     = "pwd" // a password
	AMROTP          = "otp" // a one-time code (TOTP, RFC 6238)
	AMRHardwareKey  = "hwk" // a WebAuthn credential (passkey) held by an authenticator
	AMRRecoveryCode = "rec" // a single-use recovery code
)

// The levels of [Session.ACR].
const (
	ACROneFactor  = "1" // a password, or a passkey alone
	ACRTwoFactors = "2" // a password and a second factor
)

// SignedIn reports whether s is a signed-in session: it has a user and is
// not waiting for a second factor. Every "who is calling" answer (the
// session's Principal, tokens bound to it) requires it.
func (s *Session) SignedIn() bool { return s.UserID != "" && !s.Pending }

// Level returns s.ACR, or [ACROneFactor] for a signed-in session that
// records none (made before levels were recorded).
func (s *Session) Level() string {
	if s.ACR == "" && s.UserID != "" {
		return ACROneFactor
	}
	return s.ACR
}

// Methods returns s.AMR, or [AMRPassword] alone for a signed-in session
// that records none.
func (s *Session) Methods() []string {
	if len(s.AMR) == 0 && s.UserID != "" {
		return []string{AMRPassword}
	}
	return s.AMR
}

// StepUpTime is when the session last proved every factor of its level:
// AuthTime for one factor, the earlier of AuthTime and FactorTime for two.
// A sensitive action requires it to be recent (SEC-14).
func (s *Session) StepUpTime() time.Time {
	if s.Level() == ACRTwoFactors && s.FactorTime.Before(s.AuthTime) {
		return s.FactorTime
	}
	return s.AuthTime
}

// IdleDeadline returns when the session ends if it sees no more requests.
func (s *Session) IdleDeadline() time.Time {
	return s.LastSeen.Add(s.IdleTimeout)
}

// Deadline returns the earlier of the idle deadline and the absolute end.
func (s *Session) Deadline() time.Time {
	if d := s.IdleDeadline(); d.Before(s.ExpiresAt) {
		return d
	}
	return s.ExpiresAt
}

// Expired reports whether the session has passed either deadline at now.
// A session is valid up to and excluding its deadline.
func (s *Session) Expired(now time.Time) bool {
	return !now.Before(s.Deadline())
}

// LogValue keeps token hashes out of logs.
func (s *Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", s.ID), slog.String("user_id", s.UserID))
}

// Clone returns a deep copy of s.
func (s *Session) Clone() *Session {
	c := *s
	c.AMR = slices.Clone(s.AMR)
	if s.Data != nil {
		c.Data = make(map[string][]byte, len(s.Data))
		for k, v := range s.Data {
			c.Data[k] = append([]byte(nil), v...)
		}
	}
	return &c
}

// SessionInfo is the part of a session shown in session lists.
type SessionInfo struct {
	ID        string    `json:"id"`
	Current   bool      `json:"current"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
	ExpiresAt time.Time `json:"expires_at"`
	Remember  bool      `json:"remember"`
	Device    Device    `json:"device"`
}

// Info returns the showable part of s; current marks the caller's own.
func (s *Session) Info(current bool) SessionInfo {
	return SessionInfo{ID: s.ID, Current: current, CreatedAt: s.CreatedAt, LastSeen: s.LastSeen,
		ExpiresAt: s.ExpiresAt, Remember: s.Remember, Device: s.Device}
}
