package email

import (
	"context"
	"time"
)

// Address is a user's email address.
type Address struct {
	UserID string
	// Email is the address as stored: the local part as the user gave it,
	// the domain in lower case ([Normalize]).
	Email string
	// VerifiedAt is when the user proved they receive mail at it; zero
	// when not (yet) verified.
	VerifiedAt time.Time
}

// Verified reports whether the address was verified.
func (a *Address) Verified() bool { return a != nil && !a.VerifiedAt.IsZero() }

// The token purposes.
const (
	PurposeVerify = "verify" // confirms the user's current address
	PurposeChange = "change" // confirms a new address (Token.Email), which then replaces the old
	PurposeReset  = "reset"  // sets a new password
)

// Token is a stored email token: only the SHA-256 of the token in the
// link is kept (SEC-62), so a copy of the database opens no account.
type Token struct {
	Hash      []byte // SHA-256 of the 32 random bytes of the link
	UserID    string
	Purpose   string
	Email     string // the address the link was sent to
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store keeps addresses, email tokens and the known devices of users.
// memstore, sqlite and postgres implement it and pass storetest's email
// suite. Not found is sesame.ErrNotFound. Every method is safe for
// concurrent use, across processes sharing the store; any other error
// means the store could not answer and nothing was changed.
type Store interface {
	// SetEmail sets the address of the user (replacing any), or removes
	// it when a.Email is "". Addresses are unique by [Key]: one held by
	// another user is an *sesame.Error with code EConflict.
	SetEmail(ctx context.Context, a *Address) error
	// EmailOf returns the user's address; ErrNotFound when they have none.
	EmailOf(ctx context.Context, userID string) (*Address, error)
	// UserIDByEmail returns the ID of the user whose address has the
	// given [Key]; ErrNotFound when none has.
	UserIDByEmail(ctx context.Context, key string) (string, error)

	// PutEmailToken stores t and deletes every other token of the same
	// user and purpose, atomically: a newer link voids the older ones.
	PutEmailToken(ctx context.Context, t *Token) error
	// TakeEmailToken deletes the token with this hash and purpose and
	// returns it, if it has not expired at now, atomically: of two
	// concurrent takes, one gets it. Missing, expired or of another
	// purpose is ErrNotFound (an expired token is deleted too).
	TakeEmailToken(ctx context.Context, hash []byte, purpose string, now time.Time) (*Token, error)
	// DeleteEmailTokens deletes the user's tokens of the purpose.
	DeleteEmailTokens(ctx context.Context, userID, purpose string) error

	// SeeDevice records that the user signed in from the device whose
	// cookie hashes to hash, at (its LastSeen, and its FirstSeen when new)
	// with the user agent label userAgent, and reports whether the device
	// was new to the user and how many devices the user had before.
	SeeDevice(ctx context.Context, userID string, hash []byte, at time.Time, userAgent string) (isNew bool, known int, err error)
	// Devices returns the user's known devices, the most recently seen
	// first.
	Devices(ctx context.Context, userID string) ([]*Device, error)

	// DeleteStale is the periodic cleanup: it removes the email tokens
	// expired at or before now, the devices last seen before
	// now-r.Devices, and the mail outbox messages created before
	// now-r.Mail (a message is deleted once sent or given up; one that old
	// is left by a deployment that no longer sends mail), and returns how
	// many records it removed.
	DeleteStale(ctx context.Context, now time.Time, r Retention) (int, error)
}

// Retention is how long [Store.DeleteStale] keeps what does not expire by
// itself.
type Retention struct {
	Devices time.Duration // a device not seen for this long is forgotten
	Mail    time.Duration // an outbox message older than this is dropped
}

// DefaultRetention: a device unused for 180 days is forgotten (a sign-in
// from it again sends a new-device notice); an outbox message is dropped
// after 7 days (the outbox gives up after 24 hours of retries, and every
// link in a message is dead long before).
var DefaultRetention = Retention{Devices: 180 * 24 * time.Hour, Mail: 7 * 24 * time.Hour}

// MaxUserAgent bounds the user agent label kept for a device, in bytes.
const MaxUserAgent = 256

// Device is a device a user has signed in from (SEC-48): only the SHA-256
// of its device cookie is kept.
type Device struct {
	UserID    string
	Hash      []byte
	FirstSeen time.Time
	LastSeen  time.Time // the latest sign-in from it
	UserAgent string    // of the latest sign-in, at most MaxUserAgent bytes of valid UTF-8
}
