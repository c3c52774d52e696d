package token

import (
	"context"
	"time"
)

// Refresh is the server's record of one refresh token. The token itself
// is never stored: Hash is its SHA-256.
//
// Tokens form families: the token issued at login starts a family, and
// each rotation adds the successor of the token redeemed. Every token of a
// family is bound to one session, user, client and scope.
type Refresh struct {
	Hash      [32]byte
	FamilyID  string
	SessionID string
	UserID    string
	ClientID  string
	Scope     string // space-separated scope granted at login; never widens
	// Audience is the RFC 8707 resources the family's access tokens are
	// for (each token carries them, or the subset its request named, as
	// aud); empty: the service's own audience (a first-party client).
	Audience        []string
	AccessJTI       string    // jti of the access token issued together with this token
	CreatedAt       time.Time // when this token was issued
	ExpiresAt       time.Time // idle expiry: CreatedAt + idle lifetime, capped at FamilyExpiresAt
	FamilyExpiresAt time.Time // absolute expiry of the family, never extended
	UsedAt          time.Time // when this token was redeemed; zero while unused
}

// Store keeps refresh tokens. Implementations must be safe for concurrent
// use and pass storetest.RunRefresh.
//
// A store that also implements session.Store deletes a session's refresh
// tokens when it deletes the session (Delete, DeleteByUser and expiry
// cleanup), so that no refresh token outlives its session.
//
// Errors: a missing token is sesame.ErrNotFound; any other error means the
// store could not answer and nothing was changed.
type Store interface {
	// CreateRefresh inserts r, the first token of a new family. A
	// duplicate hash is an error.
	CreateRefresh(ctx context.Context, r *Refresh) error

	// RefreshByHash returns the token with hash h, used or not, expired or
	// not (the caller decides with its clock).
	RefreshByHash(ctx context.Context, h [32]byte) (*Refresh, error)

	// RedeemRefresh atomically marks the unused token with hash h as used
	// at the given time and inserts next, its successor, in the same
	// family. It is a compare-and-swap: of any number of concurrent calls
	// for one h, exactly one succeeds; the others get sesame.ErrConflict
	// and change nothing. A missing h is sesame.ErrNotFound.
	RedeemRefresh(ctx context.Context, h [32]byte, at time.Time, next *Refresh) error

	// DeleteFamily deletes every token of the family. Deleting a missing
	// family is not an error.
	DeleteFamily(ctx context.Context, familyID string) error
}
