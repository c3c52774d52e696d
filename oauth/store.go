package oauth

import (
	"context"
	"time"
)

// Store keeps what the OAuth 2 / OpenID Connect provider must remember:
// registered clients, authorization codes, consents, the back-channel
// logout outbox and the position of its reader in the revocation feed,
// and the jti of client assertions already used. It is the deployment's
// durable store (SQLite or PostgreSQL; memstore for tests and
// single-process library use), never Redis: codes and consents are few
// and must survive a restart.
//
// Implementations must be safe for concurrent use (and by several
// processes on one database), copy records in and out, and pass
// storetest.RunOAuth.
//
// Errors: a missing record is sesame.ErrNotFound, a duplicate one an error
// with code sesame.EConflict; any other error means the store could not
// answer and nothing was changed.
type Store interface {
	// CreateClient stores a new client. A client with the same ID is an
	// EConflict error and the stored one is left as it was.
	CreateClient(ctx context.Context, c *Client) error
	// UpdateClient replaces the stored client with c.ID (ErrNotFound when
	// there is none).
	UpdateClient(ctx context.Context, c *Client) error
	// Client returns the client with the ID.
	Client(ctx context.Context, id string) (*Client, error)
	// ListClients returns every stored client, ordered by ID.
	ListClients(ctx context.Context) ([]*Client, error)
	// DeleteClient removes the client, its consents and its pending
	// logout targets. Deleting a missing client is not an error.
	DeleteClient(ctx context.Context, id string) error

	// CreateCode stores a new authorization code. A duplicate hash is an
	// EConflict error.
	CreateCode(ctx context.Context, c *Code) error
	// RedeemCode marks the code with hash h used at the given time and
	// returns it (with UsedAt set to at). It is a compare-and-swap: of
	// any number of calls for one h, exactly one returns a nil error; every
	// other returns the stored code (UsedAt the first use) and an error
	// wrapping sesame.ErrConflict, so that the caller can revoke what the
	// first use issued (RFC 6749 §4.1.2). An unknown h is ErrNotFound.
	// Expiry is the caller's decision (with its clock).
	RedeemCode(ctx context.Context, h [32]byte, at time.Time) (*Code, error)

	// SaveConsent stores (or replaces) what the user granted the client.
	SaveConsent(ctx context.Context, c *Consent) error
	// Consent returns what the user granted the client (ErrNotFound: no
	// consent).
	Consent(ctx context.Context, userID, clientID string) (*Consent, error)
	// DeleteConsent withdraws it. Deleting a missing consent is not an
	// error.
	DeleteConsent(ctx context.Context, userID, clientID string) error

	// AddLogoutTarget records that the client received tokens for the
	// session, so that it gets a back-channel logout notice when the
	// session ends. Adding a (SessionID, ClientID) pair again changes
	// nothing and is not an error.
	AddLogoutTarget(ctx context.Context, t *LogoutTarget) error
	// SessionsEnded makes the logout targets of each session due at the
	// given time (those not already due), and returns how many it made
	// due. It is idempotent.
	SessionsEnded(ctx context.Context, sessionIDs []string, at time.Time) (int, error)
	// ClaimLogouts returns at most limit due targets (DueAt not zero and
	// at or before now), earliest DueAt first, after moving each one's
	// DueAt to until and adding one to its Attempts, atomically, so that
	// two dispatchers (two nodes) never claim the same target at once and
	// a dispatcher that dies holding a claim gives it back at until.
	ClaimLogouts(ctx context.Context, now, until time.Time, limit int) ([]*LogoutTarget, error)
	// RetryLogout sets the target's DueAt and LastError (after a failed
	// delivery). A missing target is not an error.
	RetryLogout(ctx context.Context, sessionID, clientID string, due time.Time, lastError string) error
	// DeleteLogout removes the target (delivered, or given up). Deleting a
	// missing target is not an error.
	DeleteLogout(ctx context.Context, sessionID, clientID string) error
	// LogoutTargets returns the targets not yet due whose SessionID is
	// greater than after, ordered by SessionID then ClientID, at most
	// limit: the dispatcher walks them to find sessions that ended while
	// the feed could not tell it (a feed reset).
	LogoutTargets(ctx context.Context, after string, limit int) ([]*LogoutTarget, error)

	// Cursor returns the stored position of the named feed reader (0
	// when none is stored).
	Cursor(ctx context.Context, name string) (int64, error)
	// SetCursor stores it.
	SetCursor(ctx context.Context, name string, pos int64) error

	// UseOnce records key (a client assertion's issuer and jti) until exp.
	// A key already recorded and not expired is an EConflict error: the
	// assertion is a replay.
	UseOnce(ctx context.Context, key string, exp time.Time) error

	// DeleteExpiredOAuth removes codes and used keys expired at now.
	DeleteExpiredOAuth(ctx context.Context, now time.Time) error
}

// Code is the server's record of one authorization code. The code itself
// is never stored: Hash is its SHA-256.
type Code struct {
	Hash        [32]byte
	ClientID    string
	UserID      string
	SessionID   string   // the SSO session the code was issued from
	RedirectURI string   // exactly as sent in the authorization request
	Scope       string   // space-separated, granted
	Resources   []string // RFC 8707 resources granted (audiences)
	Nonce       string
	// CodeChallenge is the PKCE S256 challenge (base64url of
	// SHA-256(verifier)); empty when the request had none (a
	// confidential client that did not use PKCE).
	CodeChallenge string
	AuthTime      time.Time // when the user last authenticated
	ACR           string
	AMR           []string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UsedAt        time.Time // zero while unused
}

// Consent is what a user granted a client.
type Consent struct {
	UserID   string
	ClientID string
	// Scopes are the scopes granted and, as "resource <URI>", the
	// resources (RFC 8707) granted: a scope never holds a space (RFC 6749
	// §3.3), so the two cannot be confused.
	Scopes    []string
	GrantedAt time.Time
}

// LogoutTarget is one client to notify when one session ends (OpenID
// Connect Back-Channel Logout 1.0).
type LogoutTarget struct {
	SessionID string
	ClientID  string
	UserID    string
	CreatedAt time.Time
	DueAt     time.Time // zero while the session lives
	Attempts  int
	LastError string // the last delivery failure, without secrets
}
