package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// tokenBytes is the entropy of a session token: 256 bits from crypto/rand
// (SEC-08 asks for at least 128).
const tokenBytes = 32

// tokenLen is the length of a token's base64url text.
var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

// newToken returns a fresh token and its hash.
func newToken() (token string, hash [32]byte) {
	var raw [tokenBytes]byte
	rand.Read(raw[:]) // never fails (crypto/rand panics rather than return short)
	return base64.RawURLEncoding.EncodeToString(raw[:]), sha256.Sum256(raw[:])
}

// hashToken returns the hash of a client-presented token, or ok=false when
// the text is not a well-formed token (which is treated as no session).
func hashToken(token string) (h [32]byte, ok bool) {
	if len(token) != tokenLen {
		return h, false
	}
	var src [64]byte // a stack copy: converting to []byte would allocate
	copy(src[:], token)
	var raw [tokenBytes + 2]byte
	n, err := base64.RawURLEncoding.Strict().Decode(raw[:], src[:len(token)])
	if err != nil || n != tokenBytes {
		return h, false
	}
	return sha256.Sum256(raw[:tokenBytes]), true
}

// newID returns a random public session ID (128 bits, base64url).
func newID() string {
	var raw [16]byte
	rand.Read(raw[:])
	return base64.RawURLEncoding.EncodeToString(raw[:])
}
