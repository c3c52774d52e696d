package verify

import (
	"context"
	"errors"
	"fmt"

	"github.com/sesame-auth/sesame/jose"
)

// AssertionType is the typ header of the signed assertions Sesame's
// forward-auth endpoint hands to upstream applications (header
// Sesame-Assertion). An access token (at+jwt) is never accepted as an
// assertion, nor an assertion as an access token.
const AssertionType = "sesame-assertion+jwt"

// Assertion is the claims of a forward-auth assertion: who the proxied
// request acts for, for one upstream (aud, its host name) and a short time
// (exp is at most 60 s after iat, and never after the session's end).
type Assertion struct {
	jose.Claims
	// SessionID is the sid of the caller's session.
	SessionID string `json:"sid"`
	// Username is the caller's username.
	Username string `json:"preferred_username"`
	// Groups are the caller's groups (possibly none).
	Groups []string `json:"groups"`
}

// assertionClaims are required in every assertion; iss and exp are
// required by the issuer and expiry checks.
var assertionClaims = []string{"sub", "aud", "iat", "sid"}

// VerifyAssertion verifies a forward-auth assertion for the upstream
// audience (its host name, as the proxy saw it: "wiki.example.com") and
// returns its claims: a signature by a key of the issuer's key set (the
// JWKS, fetched as for access tokens), typ sesame-assertion+jwt, iss equal
// to [Config.Issuer], audience among aud (Config.Audience plays no part),
// exp ahead (with [Config.Leeway]), and sub, iat and sid present; then,
// when following revocations, that its session is not revoked. Errors are
// those of [Verifier.Verify].
func (v *Verifier) VerifyAssertion(ctx context.Context, token, audience string) (*Assertion, error) {
	if audience == "" {
		return nil, invalid(fmt.Errorf("no audience to verify the assertion for: %w", jose.ErrInvalidClaims))
	}
	now := v.clock.Now()
	if err := v.keys.ready(ctx, now); err != nil {
		return nil, err
	}
	jv := jose.Verifier{Keys: v.keys, Issuer: v.jose.Issuer, Audience: []string{audience}, Type: AssertionType,
		Leeway: v.leeway, Required: assertionClaims, Now: v.clock.Now}
	a := new(Assertion)
	err := jv.Verify(token, a)
	if errors.Is(err, jose.ErrKeyNotFound) && v.keys.refetchUnknown(ctx, now) {
		err = jv.Verify(token, a)
	}
	if err != nil {
		return nil, invalid(err)
	}
	if a.SessionID == "" || a.Subject == "" {
		return nil, errNoSession
	}
	if v.rev != nil {
		if err := v.rev.check(ctx, &Claims{Claims: a.Claims, SessionID: a.SessionID}, now); err != nil {
			return nil, err
		}
	}
	return a, nil
}
