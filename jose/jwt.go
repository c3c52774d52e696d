package jose

import (
	"strings"
	"sync"
	"time"
)

// SignJWT signs claims as a JWT with key. claims is a struct embedding
// [Claims] (or a pointer to one), a *Claims, or anything encoding/json
// turns into a JSON object, such as map[string]any. The typ header is
// opts.Type, "JWT" when empty; use "at+jwt" for access tokens (RFC 9068).
func SignJWT(key *Key, claims any, opts SignOptions) (string, error) {
	if opts.Type == "" {
		opts.Type = "JWT"
	}
	buf := payloadPool.Get().(*[]byte)
	defer payloadPool.Put(buf)
	payload, err := appendClaims((*buf)[:0], claims)
	if err != nil {
		return "", err
	}
	*buf = payload
	return signCompact(key, payload, opts)
}

var payloadPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Verifier verifies JWTs: the signature with the key that Keys resolves
// (whose algorithm is the only one accepted), then the header typ, then the
// claims. Its zero value is not usable: Keys is required. A Verifier is
// safe for concurrent use once configured.
type Verifier struct {
	// Keys resolves the verification key from the token's kid: a [*KeySet],
	// a single [*Key], or a remote JWKS cache. Required.
	Keys KeyResolver

	// Issuer, when set, must equal the iss claim exactly (SEC-21).
	// Default "": iss is not checked.
	Issuer string

	// Audience, when not empty, is the allow-list: at least one aud value of
	// the token must be in it (SEC-21). Default empty: aud is not checked.
	Audience []string

	// Type, when set, must match the typ header, compared case-insensitively
	// and with an optional "application/" prefix on either side, so that
	// "at+jwt" matches "application/AT+JWT" (SEC-20, RFC 9068 §4). A token
	// without typ is then rejected. Default "": typ is not checked.
	Type string

	// Leeway widens exp, nbf, iat and MaxAge by this much to allow for clock
	// skew between issuer and verifier. Default 0: no leeway.
	Leeway time.Duration

	// MaxAge, when positive, rejects tokens whose iat is older than this, and
	// makes iat required. Default 0: no limit.
	MaxAge time.Duration

	// Required lists claims that must be present and not null, e.g. "sub",
	// "jti", "client_id" (SEC-22). exp is always required unless
	// AllowMissingExpiry is set. At most 64 names.
	Required []string

	// AllowMissingExpiry accepts tokens without exp. Default false: exp is
	// required (SEC-19).
	AllowMissingExpiry bool

	// Now returns the current time. Default time.Now. Inject a fixed clock
	// in tests, or pass the Now method of your clock (clock.Now).
	Now func() time.Time

	// MaxTokenSize is the largest token accepted, in bytes. Default
	// [DefaultMaxTokenSize] (8 KiB).
	MaxTokenSize int
}

// Verify verifies token and decodes its claims into claims, a non-nil
// pointer to a struct embedding [Claims], to a [Claims], or to anything
// encoding/json decodes (such as map[string]any). The target is reset
// first. Claims are read only after the signature verifies (SEC-16), and
// numeric dates must be JSON numbers.
//
// On failure the error wraps one of [ErrMalformed], [ErrAlgorithm],
// [ErrKeyNotFound], [ErrSignature], [ErrInvalidKey], [ErrExpired],
// [ErrNotYetValid] or [ErrInvalidClaims], and the target's content is
// unspecified.
func (v *Verifier) Verify(token string, claims any) error {
	if v.Keys == nil {
		return errorf(ErrInvalidKey, "verifier has no keys")
	}
	if len(v.Required) > 64 {
		return errorf(ErrInvalidClaims, "verifier requires more than 64 claims")
	}
	var t verifiedToken
	if err := verifyCompact(token, v.Keys, v.MaxTokenSize, &t); err != nil {
		return err
	}
	if v.Type != "" && (!t.header.hasTyp || !typeMatches(t.header.typ, v.Type)) {
		return errType
	}
	d := claimsDecoder{required: v.Required}
	if err := d.decode(t.payload, claims); err != nil {
		return err
	}
	return v.validate(d.reg, d.seen)
}

func (v *Verifier) validate(c *Claims, seen uint64) error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now()
	if c.ExpiresAt.IsZero() {
		if !v.AllowMissingExpiry {
			return errNoExp
		}
	} else if !t.Before(c.ExpiresAt.Add(v.Leeway)) {
		return errExpired
	}
	if !c.NotBefore.IsZero() && t.Add(v.Leeway).Before(c.NotBefore.Time) {
		return errNotBefore
	}
	if !c.IssuedAt.IsZero() && t.Add(v.Leeway).Before(c.IssuedAt.Time) {
		return errIssuedFuture
	}
	if v.MaxAge > 0 {
		if c.IssuedAt.IsZero() {
			return errNoIat
		}
		if t.Sub(c.IssuedAt.Time) > v.MaxAge+v.Leeway {
			return errTooOld
		}
	}
	if v.Issuer != "" && c.Issuer != v.Issuer {
		return errIssuer
	}
	if len(v.Audience) > 0 && !audienceAllowed(c.Audience, v.Audience) {
		return errAudience
	}
	if want := uint64(1)<<uint(len(v.Required)) - 1; seen&want != want {
		return errRequired
	}
	return nil
}

func audienceAllowed(got Audience, allowed []string) bool {
	for _, a := range got {
		for _, b := range allowed {
			if a == b {
				return true
			}
		}
	}
	return false
}

// typeMatches compares media types as RFC 7515 §4.1.9 and RFC 9068 §4 ask:
// case-insensitively, "application/" being optional.
func typeMatches(got, want string) bool {
	return strings.EqualFold(trimApplication(got), trimApplication(want))
}

func trimApplication(s string) string {
	const prefix = "application/"
	if len(s) > len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):]
	}
	return s
}
