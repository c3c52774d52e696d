package password

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// DefaultMinChars is the fewest characters a password may have when
// Policy.MinChars is zero, and the floor for any setting (SEC-43, ASVS
// 6.2.1).
const DefaultMinChars = 8

// Policy decides whether a new password is acceptable (SEC-43). The zero
// value applies the SEC-43 rules: at least 8 characters, at most 1024
// bytes, not on the common-password list. It has no composition rules (no
// required digits, symbols or mixed case; ASVS 6.2.5) and never truncates,
// trims or case-folds the password it accepts (ASVS 6.2.8). Check passwords
// when they are chosen or changed, not at login.
//
// A Policy is a value with no state; it is safe for concurrent use.
type Policy struct {
	// MinChars is the fewest characters (Unicode code points, not bytes)
	// accepted. Zero means [DefaultMinChars] (8); values below 8 are raised
	// to 8. ASVS recommends 15 where passwords are the only factor.
	MinChars int

	// MaxBytes is the longest password accepted, in bytes. Zero or negative
	// means [DefaultMaxBytes] (1024); values below 256 are raised to 256 so
	// that 64 characters always fit (ASVS 6.2.9). Keep it no larger than the
	// Hasher's MaxBytes, or accepted passwords will fail to hash.
	MaxBytes int

	// SkipCommonCheck turns off the common-password check. Default false:
	// the check runs. Only turn it off where another check replaces it.
	SkipCommonCheck bool
}

// Check returns nil if pw is acceptable, or an error wrapping one of
// [ErrTooLong], [ErrTooShort], [ErrCommon] or [ErrSameAsUserInput], checked
// in that order. The error's message is safe to show to the user and never
// contains the password.
//
// userInputs are the user's own details, such as the username or e-mail
// address; a password equal to one of them, ignoring letter case, is
// refused. Empty inputs are ignored.
//
// The common-password check looks up pw in lower case, so "PassWord1" is
// refused as "password1" is; only the lookup folds case, never the password
// itself. The list is the top 10,000 of SecLists' 10-million-password list
// reduced to the entries of 8 or more characters (see SOURCES.md).
func (p Policy) Check(pw string, userInputs ...string) error {
	if limit := maxBytes(p.MaxBytes); len(pw) > limit {
		return fmt.Errorf("%w: use at most %d bytes", ErrTooLong, limit)
	}
	if minChars := max(p.MinChars, DefaultMinChars); utf8.RuneCountInString(pw) < minChars {
		return fmt.Errorf("%w: use at least %d characters", ErrTooShort, minChars)
	}
	if !p.SkipCommonCheck && isCommon(pw) {
		return fmt.Errorf("%w: it is on a list of frequently used passwords; choose another", ErrCommon)
	}
	for _, in := range userInputs {
		if in != "" && strings.EqualFold(pw, in) {
			return ErrSameAsUserInput
		}
	}
	return nil
}
