package factor

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"time"
)

// The TOTP parameters Sesame enrols (RFC 6238 defaults, what every
// authenticator app supports): HMAC-SHA-1, 6 digits, 30-second steps
// counted from the Unix epoch.
const (
	Digits = 6
	Period = 30 * time.Second
)

// Algorithm is the HMAC hash of an HOTP/TOTP generator.
type Algorithm string

// The algorithms of RFC 6238. Sesame enrols [SHA1]; SHA256 and SHA512 are
// here for the RFC's Appendix B vectors.
const (
	SHA1   Algorithm = "SHA1"
	SHA256 Algorithm = "SHA256"
	SHA512 Algorithm = "SHA512"
)

func (a Algorithm) hash() func() hash.Hash {
	switch a {
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	default:
		return sha1.New
	}
}

// pow10 are the moduli of 1..10-digit codes.
var pow10 = [...]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

// HOTP returns the RFC 4226 one-time password of counter under secret:
// HMAC of the big-endian counter, dynamic truncation, the last digits
// decimal digits (6 to 9; other values panic, a programmer error).
func HOTP(secret []byte, counter uint64, digits int, alg Algorithm) string {
	if digits < 6 || digits > 9 {
		panic("factor: HOTP digits must be 6 to 9")
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(alg.hash(), secret)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	v := bin % pow10[digits]
	out := make([]byte, digits)
	for i := digits - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return string(out)
}

// Step returns the TOTP time step of t: 30-second periods since the Unix
// epoch (RFC 6238 §4, T0 = 0). Times before 1970 are step 0's negatives
// floored, which no real clock reads.
func Step(t time.Time) int64 {
	s := t.Unix()
	p := int64(Period / time.Second)
	if s < 0 {
		return (s - p + 1) / p
	}
	return s / p
}

// TOTP returns the code of secret at time t with Sesame's parameters
// (SHA-1, 6 digits, 30 s), as an authenticator app shows it. Tests and
// clients that act as an authenticator use it.
func TOTP(secret []byte, t time.Time) string {
	return HOTP(secret, uint64(Step(t)), Digits, SHA1)
}

// parseTOTPCode returns code as 6 ASCII digits, or false when it is
// anything else. Spaces are allowed between digits ("123 456", as some
// apps show it); nothing else is.
func parseTOTPCode(code string) (string, bool) {
	if len(code) > 16 {
		return "", false
	}
	var out [Digits]byte
	n := 0
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c == ' ':
		case c >= '0' && c <= '9':
			if n == Digits {
				return "", false
			}
			out[n] = c
			n++
		default:
			return "", false
		}
	}
	if n != Digits {
		return "", false
	}
	return string(out[:]), true
}

// matchStep returns the highest time step within skew steps of now whose
// code under secret equals code, or false. Every candidate is computed
// and compared in constant time, so the work does not depend on which (if
// any) matched.
func matchStep(secret []byte, code string, now int64, skew int) (int64, bool) {
	var best int64
	found := 0
	for d := -int64(skew); d <= int64(skew); d++ {
		step := now + d
		if step < 0 {
			continue
		}
		want := HOTP(secret, uint64(step), Digits, SHA1)
		eq := subtle.ConstantTimeCompare([]byte(want), []byte(code))
		if eq == 1 {
			best = step // steps rise: the last match is the highest
		}
		found |= eq
	}
	return best, found == 1
}
