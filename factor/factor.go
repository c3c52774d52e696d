// Package factor is Sesame's second factors other than passkeys: TOTP
// authenticators (RFC 6238) and single-use recovery codes, and the
// per-user switch by which an administrator requires a second factor.
//
// A TOTP secret is sealed with the deployment's master key before it is
// stored (as signing keys are), bound to the factor's ID. A factor counts
// only once its first code has confirmed it. Each factor remembers the
// highest time step it accepted: a code of that step or an earlier one is
// a replay and is refused (RFC 6238 §5.2, SEC-61). Recovery codes are
// stored as SHA-256 hashes; a new set voids the old one; each works once.
//
// This package checks codes and keeps factors; throttling of attempts, the
// pending sessions they complete and step-up live in package account and
// package session.
package factor

import (
	"context"
	"time"
)

// KindTOTP is the kind of a TOTP authenticator.
const KindTOTP = "totp"

// Factor is one second factor of a user.
type Factor struct {
	ID     string // random, public ("tf_..."): names the factor in URLs and lists
	UserID string
	Kind   string // KindTOTP
	Name   string // chosen by the user, at most MaxNameBytes
	// Secret is the sealed secret (keyring.MasterKey.Seal with purpose
	// "totp" and the factor's ID); never the plain secret.
	Secret      []byte
	CreatedAt   time.Time
	ConfirmedAt time.Time // zero: enrolment not confirmed yet; the factor does not count
	LastUsedAt  time.Time // zero: never used
	// LastStep is the highest TOTP time step accepted (confirmation
	// included); a code of a step <= LastStep is a replay.
	LastStep int64
}

// Confirmed reports whether the factor's enrolment was confirmed.
func (f *Factor) Confirmed() bool { return !f.ConfirmedAt.IsZero() }

// RecoveryState is what a user's recovery codes are, without the codes.
type RecoveryState struct {
	Total      int       // codes in the current set (0: none)
	Unused     int       // of which not spent yet
	CreatedAt  time.Time // when the set was generated
	LastUsedAt time.Time // zero: none spent
}

// Store keeps factors, recovery code hashes and the per-user requirement.
// Not found is sesame.ErrNotFound; any other error means the store could
// not answer (callers answer 503) and nothing changed.
type Store interface {
	// AddFactor stores a new factor (unconfirmed or not).
	AddFactor(ctx context.Context, f *Factor) error
	// Factor returns userID's factor id; another user's is ErrNotFound.
	Factor(ctx context.Context, userID, id string) (*Factor, error)
	// Factors lists userID's factors, confirmed or not, oldest first.
	Factors(ctx context.Context, userID string) ([]*Factor, error)
	// UseFactorStep records that the factor accepted a code of time step
	// step at time at: atomically, only when step > LastStep (else it
	// changes nothing and returns false: a replay, or a concurrent use of
	// the same code). With confirm it also sets ConfirmedAt = at if unset.
	// A factor that does not exist (or not userID's) is ErrNotFound.
	UseFactorStep(ctx context.Context, userID, id string, step int64, at time.Time, confirm bool) (bool, error)
	// DeleteFactor removes userID's factor id (ErrNotFound if none).
	DeleteFactor(ctx context.Context, userID, id string) error
	// DeleteUnconfirmedFactors removes unconfirmed factors created before
	// cutoff (abandoned enrolments) and returns how many.
	DeleteUnconfirmedFactors(ctx context.Context, cutoff time.Time) (int, error)

	// ReplaceRecoveryCodes makes hashes userID's set of recovery codes,
	// voiding the old set, in one transaction.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time) error
	// UseRecoveryCode spends the unused code with this hash: atomically,
	// true once; false for an unknown or spent code.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time) (bool, error)
	// RecoveryCodes describes userID's current set.
	RecoveryCodes(ctx context.Context, userID string) (RecoveryState, error)

	// DeleteUserFactors removes every factor and recovery code of userID
	// (an admin reset), in one transaction, and returns how many factors
	// there were.
	DeleteUserFactors(ctx context.Context, userID string) (int, error)

	// FactorRequired reports the per-user switch (false when never set).
	FactorRequired(ctx context.Context, userID string) (bool, error)
	// SetFactorRequired sets it.
	SetFactorRequired(ctx context.Context, userID string, required bool) error
}
