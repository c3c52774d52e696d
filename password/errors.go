package password

import "errors"

// The policy and length errors below carry messages that are safe to show to
// the person choosing a password. [Policy.Check], [Hasher.Hash] and
// [Hasher.Verify] wrap them with a short, equally safe detail (for example
// "password: too short: use at least 8 characters"); compare with
// [errors.Is]. No error of this package ever contains the password.
var (
	// ErrTooShort reports a password with fewer characters than the
	// policy's minimum (SEC-43).
	ErrTooShort = errors.New("password: too short")

	// ErrTooLong reports a password longer than the maximum number of bytes.
	// The Hasher returns it before any hashing work, so that a very long
	// input costs nothing (SEC-44).
	ErrTooLong = errors.New("password: too long")

	// ErrCommon reports a password found, in any letter case, in the list of
	// commonly used passwords (SEC-43, ASVS 6.2.4).
	ErrCommon = errors.New("password: too common")

	// ErrSameAsUserInput reports a password equal, ignoring letter case, to
	// one of the user's own details such as the username.
	ErrSameAsUserInput = errors.New("password: same as your username or account details")

	// ErrInvalidHash reports a stored hash that is malformed, uses an
	// unsupported algorithm or version, or has parameters outside the bounds
	// [Hasher.Verify] accepts. It means the stored data is wrong, not the
	// password; never show its detail to the user.
	ErrInvalidHash = errors.New("password: invalid stored hash")

	// ErrPepperRequired reports a stored hash made with a pepper while the
	// Hasher has none configured: a server configuration error, not a wrong
	// password.
	ErrPepperRequired = errors.New("password: stored hash needs a pepper, but none is configured")
)

// errInvalidConfig reports a Hasher whose fields are out of range: a
// programmer or operator error, surfaced by [Hasher.Validate] at start-up.
var errInvalidConfig = errors.New("password: invalid hasher configuration")
