// Package password hashes, verifies and vets user passwords.
//
// [Hasher] stores passwords as argon2id PHC strings with the SEC-41
// parameters (m=19456 KiB, t=2, p=1), a fresh random salt per hash and an
// optional pepper (SEC-42); it refuses over-long input before hashing
// (SEC-44), compares in constant time (SEC-47), tells the caller when a
// stored hash should be upgraded, and offers [Hasher.Dummy] so that an
// unknown user costs as much time as a wrong password (SEC-45). [Policy]
// applies the SEC-43 rules to a new password: at least 8 characters, 64 and
// more accepted whole, no composition rules, and no password from a list of
// common ones.
//
// Sign-up and login look like this:
//
//	var (
//		hasher = &password.Hasher{Pepper: pepperFromEnv} // zero value: SEC-41 defaults
//		policy password.Policy                           // zero value: SEC-43 rules
//	)
//
//	// Sign-up.
//	if err := policy.Check(pw, username); err != nil {
//		return err // 400; err's message is safe to show
//	}
//	encoded, err := hasher.Hash(pw)
//	// store encoded with the user
//
//	// Login.
//	user, found := lookup(username)
//	if !found {
//		hasher.Dummy(pw) // as slow as a wrong password
//		return errBadCredentials
//	}
//	ok, rehash, err := hasher.Verify(pw, user.PasswordHash)
//	switch {
//	case errors.Is(err, password.ErrTooLong):
//		return errBadRequest // 400, nothing was hashed
//	case err != nil:
//		return err // corrupt hash or configuration: 500, log it
//	case !ok:
//		return errBadCredentials // same message as the unknown user
//	case rehash:
//		newHash, _ := hasher.Hash(pw) // parameters or pepper changed
//		// store newHash
//	}
//
// Passwords are used exactly as given: this package never trims,
// truncates, normalizes or case-folds them (only the common-list lookup
// compares in lower case).
package password
