// Package passkey is Sesame's WebAuthn relying party: the registration of
// passkeys (WebAuthn credentials) to an account, and sign-in with one,
// either passwordless (a discoverable credential, user verification
// required) or as the second factor after a password.
//
// The cryptography is github.com/go-webauthn/webauthn's. This package adds
// what the library leaves to its caller: storage of credentials and of a
// random user handle per account (never the username, so that an
// authenticator learns nothing about the account from it), and challenge
// state kept on the server, single use and short-lived, bound to the
// session or pre-login cookie that began the ceremony. The client never
// sends the challenge it is answering: the server looks up what it issued.
package passkey

import (
	"context"
	"time"
)

// Credential is one passkey of a user.
type Credential struct {
	ID           string // random, public: names the passkey in URLs and lists
	UserID       string
	CredentialID []byte // the authenticator's credential ID (unique)
	Name         string // chosen by the user, at most MaxNameBytes
	CreatedAt    time.Time
	LastUsedAt   time.Time // zero: never used to sign in
	// SignCount is the authenticator's signature counter as last seen; an
	// authenticator that counts must present a larger one each time, else
	// the credential may have been cloned.
	SignCount    uint32
	CloneWarning bool // a sign-in presented a counter that did not grow; the credential is refused since
	// BackupEligible and BackupState are the authenticator's BE and BS
	// flags: a synced passkey (BE) and whether it is backed up now (BS).
	BackupEligible bool
	BackupState    bool
	Transports     []string // as the browser reported them: usb, nfc, ble, internal, hybrid
	// Data is the library's credential record (public key, algorithm,
	// attestation) as JSON; SignCount, CloneWarning and the flags above
	// take precedence over what it holds.
	Data []byte
}

// Use is what a sign-in changes on a credential.
type Use struct {
	At           time.Time
	SignCount    uint32
	CloneWarning bool
	BackupState  bool
}

// Ceremony kinds of a [Challenge].
const (
	KindRegister     = "register"     // registration of a new passkey by a signed-in session
	KindPasswordless = "passwordless" // passwordless sign-in with a discoverable credential
	KindSecondFactor = "second"       // a passkey as the second factor of a pending session
)

// Challenge is the server-side state of one ceremony between its begin and
// finish requests.
type Challenge struct {
	// Key is the SHA-256 (hex) of the random value in the ceremony cookie;
	// the value itself is never stored.
	Key       string
	Kind      string
	UserID    string // the user of a registration or second-factor ceremony; "" for passwordless
	SessionID string // the session that began it (registration, second factor); "" for passwordless
	Data      []byte // the library's SessionData as JSON: challenge, RP ID, allowed credentials, UV
	ExpiresAt time.Time
}

// Store keeps passkeys, user handles and ceremony state. Not found is
// sesame.ErrNotFound; any other error means the store could not answer
// (callers answer 503) and nothing changed.
type Store interface {
	// PasskeyHandle returns the user's WebAuthn user handle, storing
	// fresh as it when the user has none yet; two concurrent calls for one
	// user return the same handle.
	PasskeyHandle(ctx context.Context, userID string, fresh []byte) ([]byte, error)
	// PasskeyUserByHandle returns the ID of the user whose handle is h.
	PasskeyUserByHandle(ctx context.Context, h []byte) (string, error)
	// AddPasskey stores c. A credential ID or ID already stored is an
	// *sesame.Error with code EConflict.
	AddPasskey(ctx context.Context, c *Credential) error
	// Passkeys returns the user's passkeys, oldest first.
	Passkeys(ctx context.Context, userID string) ([]*Credential, error)
	// UsePasskey records a sign-in with the user's passkey id: the sign
	// count only ever grows (a smaller u.SignCount leaves it), CloneWarning
	// once set stays set.
	UsePasskey(ctx context.Context, userID, id string, u Use) error
	// RenamePasskey renames the user's passkey id.
	RenamePasskey(ctx context.Context, userID, id, name string) error
	// DeletePasskey removes the user's passkey id.
	DeletePasskey(ctx context.Context, userID, id string) error
	// PutPasskeyChallenge stores c, and may drop challenges that expired
	// before c.ExpiresAt's ceremony began.
	PutPasskeyChallenge(ctx context.Context, c *Challenge) error
	// TakePasskeyChallenge removes the challenge with key and returns it:
	// of two concurrent calls one gets it and the other ErrNotFound, so a
	// challenge is answered at most once. A challenge that expired before
	// now is removed and reported as ErrNotFound.
	TakePasskeyChallenge(ctx context.Context, key string, now time.Time) (*Challenge, error)
}

// MaxNameBytes bounds a passkey's name.
const MaxNameBytes = 64
