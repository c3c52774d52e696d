package sesame

import (
	"errors"
	"strings"
)

// The answers of [ParseBearer] other than a token.
var (
	// ErrNoBearer: the header names another scheme (Basic, Digest, ...):
	// the request carries no bearer credentials.
	ErrNoBearer = errors.New("sesame: no bearer credentials")
	// ErrMalformedBearer: the header is not a well-formed credential.
	ErrMalformedBearer = errors.New("sesame: malformed Authorization header: want Bearer <token>")
)

// MaxBearerBytes bounds a bearer token; a longer one is malformed.
const MaxBearerBytes = 16 << 10

// ParseBearer reads one Authorization header value (RFC 6750 §2.1)
// strictly: the scheme "Bearer" in any letter case, exactly one space, and
// a b64token of at most MaxBearerBytes. Another well-formed scheme is
// ErrNoBearer; anything else is ErrMalformedBearer. It is the one parser
// of the server, the token middleware and package verify.
func ParseBearer(h string) (string, error) {
	scheme, token, hasSep := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		if !isToken68(scheme) {
			return "", ErrMalformedBearer
		}
		return "", ErrNoBearer
	}
	if !hasSep || len(token) > MaxBearerBytes || !isToken68(token) {
		return "", ErrMalformedBearer
	}
	return token, nil
}

// isToken68 reports whether s is a b64token (RFC 6750 §2.1):
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	i := 0
	for i < len(s) && b64tokenChar(s[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i == len(s)
}

func b64tokenChar(c byte) bool { return b64token[c] }

// b64token[c] reports whether c is one of RFC 6750's b64token characters
// (a table: the check runs once per byte of every token).
var b64token = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
	}
	return t
}()
