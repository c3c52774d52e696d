package verify

import (
	"errors"
	"fmt"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
)

// Sentinel errors, for callers that must branch with [errors.Is]. Every
// error that [Verifier.Verify] and [Verifier.Check] return is a
// *[sesame.Error] whose code is [sesame.EUnauthenticated] (401) or
// [sesame.EUnavailable] (503), and which wraps one of these or one of the
// jose sentinels ([jose.ErrExpired], [jose.ErrKeyNotFound], ...). No error
// ever contains the token.
var (
	// ErrNoToken means the request carries no bearer token: no
	// Authorization header, or one with another scheme. A token in the
	// query string or the body is never read (RFC 6750 §5.3 advises against
	// URL tokens, which leak into logs and Referer headers).
	ErrNoToken = errors.New("verify: no bearer token")

	// ErrMalformedAuthorization means the Authorization header names the
	// Bearer scheme but is not exactly "Bearer" (any letter case), one
	// space and one b64token, or the request has several Authorization
	// headers.
	ErrMalformedAuthorization = errors.New("verify: malformed authorization header")

	// ErrRevoked means the token's session was revoked, or the token was
	// issued before the revocation feed was (re)primed and may belong to a
	// session revoked meanwhile.
	ErrRevoked = errors.New("verify: session revoked")

	// ErrUnavailable means the verifier cannot decide: it has never fetched
	// a usable key set, or it follows revocations and the feed has not been
	// read for longer than its maximum staleness. It fails closed: 503.
	ErrUnavailable = errors.New("verify: cannot verify tokens now")
)

// Client-safe messages: fixed texts, never anything from the request.
const (
	msgNoToken     = "bearer token required"
	msgInvalid     = "invalid token"
	msgUnavailable = "token verification temporarily unavailable"
)

var (
	errNoToken     = &sesame.Error{Code: sesame.EUnauthenticated, Message: msgNoToken, Err: ErrNoToken}
	errMalformed   = &sesame.Error{Code: sesame.EUnauthenticated, Message: msgInvalid, Err: ErrMalformedAuthorization}
	errRevoked     = &sesame.Error{Code: sesame.EUnauthenticated, Message: msgInvalid, Err: ErrRevoked}
	errBeforePrime = &sesame.Error{Code: sesame.EUnauthenticated, Message: msgInvalid,
		Err: fmt.Errorf("%w: token issued before the revocation feed was primed", ErrRevoked)}
	errNoKeys = &sesame.Error{Code: sesame.EUnavailable, Message: msgUnavailable,
		Err: fmt.Errorf("%w: no usable key set fetched yet", ErrUnavailable)}
	errFeedStale = &sesame.Error{Code: sesame.EUnavailable, Message: msgUnavailable,
		Err: fmt.Errorf("%w: revocation feed is stale", ErrUnavailable)}
	errNoSession   = invalid(fmt.Errorf("token has an empty sid, sub or client_id: %w", jose.ErrInvalidClaims))
	errClientToken = invalid(fmt.Errorf("token has no sid (a client's own token), and AcceptClientTokens is off or its sub is not its client_id: %w", jose.ErrInvalidClaims))
)

// invalid wraps a verification failure (a jose error, which never echoes
// the token) as a 401.
func invalid(err error) error {
	return &sesame.Error{Code: sesame.EUnauthenticated, Message: msgInvalid, Err: fmt.Errorf("verify: %w", err)}
}
