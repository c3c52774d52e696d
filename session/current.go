package session

import (
	"context"
	"slices"
	"time"

	"github.com/sesame-auth/sesame"
)

// Info is a read-only copy of the public part of a signed-in request's
// session: no token hash, no data (read data with [Get]). Changing it
// changes nothing else.
type Info struct {
	ID          string        // the public session ID (the `sid` of tokens); not a credential
	UserID      string        // never empty: Current reports no Info for an anonymous session
	CreatedAt   time.Time     // when the user logged in
	LastSeen    time.Time     // the last recorded use (written at most once per TouchInterval)
	IdleTimeout time.Duration // the session ends when LastSeen+IdleTimeout passes
	ExpiresAt   time.Time     // absolute end, never extended
	AuthTime    time.Time     // when the user last proved their password
	Remember    bool          // "remember me": a persistent cookie
	Device      sesame.Device // the client that logged in
	// ACR is the session's level (sesame.Session.Level); AMR how it was
	// authenticated, empty for a session made before methods were
	// recorded (read: the password). AMR is shared: do not modify it.
	ACR string
	AMR []string
	// FactorTime is when the user last gave a second factor (zero: never).
	FactorTime time.Time
}

// Current returns a copy of the request's signed-in session, and ok=false
// when the request has none. An anonymous session (see [AnonymousConfig])
// is not a signed-in session: ok is false for it, as for every "who is
// calling" question. It allocates nothing, and is safe to call from several
// goroutines of one request.
func Current(ctx context.Context) (info Info, ok bool) {
	if s := stateFrom(ctx).user(); s != nil {
		return infoOf(s), true
	}
	return Info{}, false
}

func infoOf(s *sesame.Session) Info {
	return Info{ID: s.ID, UserID: s.UserID, CreatedAt: s.CreatedAt, LastSeen: s.LastSeen,
		IdleTimeout: s.IdleTimeout, ExpiresAt: s.ExpiresAt, AuthTime: s.AuthTime,
		Remember: s.Remember, Device: s.Device, ACR: s.Level(), AMR: s.AMR, FactorTime: s.FactorTime}
}

// Session returns a new sesame.Session with i's fields and no token hashes
// or data, for functions that take one (a token service issuing tokens
// bound to this session).
func (i Info) Session() *sesame.Session {
	return &sesame.Session{ID: i.ID, UserID: i.UserID, CreatedAt: i.CreatedAt, LastSeen: i.LastSeen,
		IdleTimeout: i.IdleTimeout, ExpiresAt: i.ExpiresAt, AuthTime: i.AuthTime,
		Remember: i.Remember, Device: i.Device, ACR: i.ACR, AMR: slices.Clone(i.AMR), FactorTime: i.FactorTime}
}
