package sesame

import (
	"log/slog"
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
	Version     int64 // incremented by every successful Update
	Data        map[string][]byte
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
