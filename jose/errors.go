package jose

import "errors"

// Sentinel errors. Every error returned by this package wraps at most one of
// them, so that callers can branch with [errors.Is]; the message of the
// wrapping error says what failed but never echoes the token.
var (
	// ErrMalformed means the token, its header or its claims are not in the
	// strict form this package accepts (compact serialization, unpadded
	// base64url, JSON objects without duplicate member names, no unknown
	// crit, no embedded key material, not a JWE).
	ErrMalformed = errors.New("jose: malformed token")

	// ErrAlgorithm means the header alg is "none" (in any letter case),
	// unknown, or differs from the algorithm of the verifying key.
	ErrAlgorithm = errors.New("jose: algorithm not accepted")

	// ErrKeyNotFound means no key matches the token's kid. A remote key set
	// may refetch its keys on this error.
	ErrKeyNotFound = errors.New("jose: no key for the token")

	// ErrSignature means the signature or MAC does not verify.
	ErrSignature = errors.New("jose: invalid signature")

	// ErrExpired means the token's exp has passed, or it is older than
	// the maximum age.
	ErrExpired = errors.New("jose: token expired")

	// ErrNotYetValid means the token's nbf or iat lies in the future.
	ErrNotYetValid = errors.New("jose: token not yet valid")

	// ErrInvalidClaims means a claim is missing, of the wrong JSON type, or
	// does not match the expected issuer, audience or type.
	ErrInvalidClaims = errors.New("jose: invalid claims")

	// ErrInvalidKey means key material was refused: too short, too small,
	// not on its curve, for encryption only, or inconsistent with its alg.
	ErrInvalidKey = errors.New("jose: invalid key")
)

// joseError wraps a sentinel with a more specific message. Its Error text is
// the message alone, which always starts with "jose: ".
type joseError struct {
	msg  string
	kind error
}

func (e *joseError) Error() string { return e.msg }
func (e *joseError) Unwrap() error { return e.kind }

func errorf(kind error, msg string) error { return &joseError{msg: "jose: " + msg, kind: kind} }

// Preallocated errors for the verify path: failing tokens are the attacker's
// cheapest lever, so rejecting one should not allocate.
var (
	errTooLarge        = errorf(ErrMalformed, "token exceeds the maximum size")
	errSegments        = errorf(ErrMalformed, "token must have exactly three segments")
	errJWE             = errorf(ErrMalformed, "token has five segments (a JWE); a compact JWS was expected")
	errJSONSerial      = errorf(ErrMalformed, "JSON serialization is not accepted; a compact JWS was expected")
	errHeaderB64       = errorf(ErrMalformed, "header is not unpadded base64url")
	errPayloadB64      = errorf(ErrMalformed, "payload is not unpadded base64url")
	errSignatureB64    = errorf(ErrMalformed, "signature is not unpadded base64url")
	errHeaderJSON      = errorf(ErrMalformed, "header is not a strict JSON object")
	errClaimsJSON      = errorf(ErrMalformed, "claims are not a strict JSON object")
	errDuplicate       = errorf(ErrMalformed, "duplicate JSON member name")
	errNoAlg           = errorf(ErrMalformed, "header has no alg")
	errCrit            = errorf(ErrMalformed, "header crit names a parameter this implementation does not understand")
	errEmbeddedKey     = errorf(ErrMalformed, "header carries key material or a key URL (jwk, jku, x5u, x5c), which is never trusted")
	errJWEHeader       = errorf(ErrMalformed, "header has JWE parameters (enc or zip); a JWS was expected")
	errB64Header       = errorf(ErrMalformed, "header b64 (unencoded payload) is not supported")
	errHeaderType      = errorf(ErrMalformed, "header parameter has the wrong JSON type")
	errAlgNone         = errorf(ErrAlgorithm, "alg none is never accepted")
	errAlgUnknown      = errorf(ErrAlgorithm, "unknown alg")
	errAlgMismatch     = errorf(ErrAlgorithm, "header alg differs from the key's algorithm")
	errNoKey           = errorf(ErrKeyNotFound, "no key matches the token's kid")
	errNoKid           = errorf(ErrKeyNotFound, "token has no kid and the key set holds more than one key")
	errKeyCannotVerify = errorf(ErrInvalidKey, "key may not verify (use or key_ops)")
	errBadSignature    = errorf(ErrSignature, "signature does not verify")
	errExpired         = errorf(ErrExpired, "token expired (exp)")
	errTooOld          = errorf(ErrExpired, "token older than the maximum age (iat)")
	errNotBefore       = errorf(ErrNotYetValid, "token not valid yet (nbf)")
	errIssuedFuture    = errorf(ErrNotYetValid, "token issued in the future (iat)")
	errNoExp           = errorf(ErrInvalidClaims, "missing exp")
	errNoIat           = errorf(ErrInvalidClaims, "missing iat (needed for the maximum age)")
	errIssuer          = errorf(ErrInvalidClaims, "unexpected issuer")
	errAudience        = errorf(ErrInvalidClaims, "audience not allowed")
	errType            = errorf(ErrInvalidClaims, "unexpected typ")
	errRequired        = errorf(ErrInvalidClaims, "a required claim is missing")
	errDateType        = errorf(ErrInvalidClaims, "a numeric date claim is not a non-negative JSON number")
	errClaimType       = errorf(ErrInvalidClaims, "a claim has the wrong JSON type")
)
