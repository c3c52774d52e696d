package factor

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"strings"
)

// RecoveryCodeCount is how many codes a set holds.
const RecoveryCodeCount = 10

// recoveryAlphabet has 32 symbols, so each of a code's 10 characters
// carries 5 bits (50 in all), without the look-alikes 0, O, 1 and l
// (codes are lower case; i stays, as 1 and l are gone).
const recoveryAlphabet = "23456789abcdefghijkmnpqrstuvwxyz"

// recoveryLen is a code's length without its dash.
const recoveryLen = 10

// newRecoveryCode returns a fresh code as shown to the user, "xxxxx-xxxxx",
// 50 bits from crypto/rand.
func newRecoveryCode() string {
	var b [recoveryLen]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	out := make([]byte, 0, recoveryLen+1)
	for i, x := range b {
		if i == recoveryLen/2 {
			out = append(out, '-')
		}
		out = append(out, recoveryAlphabet[x&31]) // 256 is a multiple of 32: uniform
	}
	return string(out)
}

// newRecoverySet returns RecoveryCodeCount fresh codes, as shown, and
// their hashes for userID under key, as stored. The codes are distinct.
func newRecoverySet(key []byte, userID string) (codes []string, hashes [][]byte) {
	seen := make(map[string]bool, RecoveryCodeCount)
	for len(codes) < RecoveryCodeCount {
		c := newRecoveryCode()
		if seen[c] {
			continue // a 2^-50 event; a set must not hold one code twice
		}
		seen[c] = true
		n, _ := normalizeRecoveryCode(c)
		codes = append(codes, c)
		hashes = append(hashes, hashRecoveryCode(key, userID, n))
	}
	return codes, hashes
}

// normalizeRecoveryCode returns what a user typed as a code's 10 lower
// case symbols, or false when it cannot be one. Case, spaces and dashes
// are forgiven, anywhere.
func normalizeRecoveryCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	out := make([]byte, 0, recoveryLen)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '-' || c == '\t':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if strings.IndexByte(recoveryAlphabet, c) < 0 || len(out) == recoveryLen {
			return "", false
		}
		out = append(out, c)
	}
	if len(out) != recoveryLen {
		return "", false
	}
	return string(out), true
}

// hashRecoveryCode is what the store keeps of a normalised code of
// userID's: HMAC-SHA256 under key (Config.RecoveryKey, derived from the
// master key) of the user's ID and the code, so that a copy of the
// database alone does not let anyone search the 2^50 codes offline, and a
// hash says nothing about another user's codes. Without a key (tests, a
// library user who sets none), SHA-256 of the same input.
func hashRecoveryCode(key []byte, userID, normalized string) []byte {
	msg := make([]byte, 0, len(userID)+1+len(normalized))
	msg = append(append(append(msg, userID...), 0), normalized...)
	if len(key) == 0 {
		sum := sha256.Sum256(msg)
		return sum[:]
	}
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}
