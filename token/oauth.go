package token

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/session"
)

// This file holds what the OAuth 2 / OpenID Connect provider (package
// oauth) needs beyond first-party tokens: families with an RFC 8707
// audience (IssueWith, RefreshWith), verification against a caller's
// audiences (Verify) and clients' own tokens (ClientCredentials).

// errNoSession refuses a token without sid where a user's session is
// required: Sesame's own API, token.Middleware and Authenticate never
// accept a client's own token.
var errNoSession = sesame.Wrap(sesame.EUnauthenticated,
	errors.New("token: the access token has no session (a client's own token)"), ErrInvalidToken.Message)

var (
	errAudience    = sesame.Wrap(sesame.EUnauthenticated, fmt.Errorf("token: audience not allowed: %w", jose.ErrInvalidClaims), ErrInvalidToken.Message)
	errNoAudiences = sesame.Wrap(sesame.EUnauthenticated, errors.New("token: Verify needs audiences, none empty"), ErrInvalidToken.Message)
	errClientToken = sesame.Wrap(sesame.EUnauthenticated, fmt.Errorf("token: empty sub or client_id, or a token without sid whose sub is not its client_id: %w", jose.ErrInvalidClaims), ErrInvalidToken.Message)
)

// clientClaims are the claims of a client's own access token
// (ClientCredentials): no sid, so that no verifier can mistake it for a
// user's.
type clientClaims struct {
	jose.Claims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope,omitempty"`
}

// cleanAudience checks a requested audience and returns it without
// duplicates, in its order; nil for none.
func cleanAudience(aud []string) ([]string, error) {
	if len(aud) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(aud))
	for _, a := range aud {
		if a == "" {
			return nil, ErrInvalidTarget
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// familyAudience is the aud of r's family: its Audience, or the service's
// own for a first-party family.
func (s *Service) familyAudience(r *Refresh) []string {
	if len(r.Audience) > 0 {
		return r.Audience
	}
	return s.cfg.Audience
}

// narrowAudience returns the aud of the access token a refresh of r issues
// when the request names want: the family's whole audience for none, else
// want, every value of which must be in the family's (RFC 8707 §2.2: a
// refresh narrows, never widens).
func (s *Service) narrowAudience(r *Refresh, want []string) ([]string, error) {
	fam := s.familyAudience(r)
	want, err := cleanAudience(want)
	if err != nil || want == nil {
		return fam, err
	}
	for _, a := range want {
		if !slices.Contains(fam, a) {
			return nil, ErrInvalidTarget
		}
	}
	return want, nil
}

// Verify verifies an access token for a resource server or endpoint whose
// identifiers are audiences: the signature (a published key of
// Config.Keys), iss, typ "at+jwt" (an ID token, typ "JWT", or a logout
// token never passes: SEC-59), exp, the required claims, and that one of
// the token's aud values is in audiences (RFC 8707; an empty audiences
// accepts nothing). A token with a sid is accepted only while its session
// is live (the allowlist, SEC-64); a token without sid only when it is a
// client's own token (ClientCredentials: sub equals client_id), which has
// no user: check Claims.SessionID before treating the subject as a user.
//
// Errors: code EUnauthenticated for a token that does not pass;
// EUnavailable when the session store cannot answer. Like Authenticate,
// a token verified before is not verified again until it expires, but the
// audience and the session are checked every time.
func (s *Service) Verify(ctx context.Context, tok string, audiences []string) (*AccessClaims, error) {
	if len(audiences) == 0 || slices.Contains(audiences, "") {
		return nil, errNoAudiences
	}
	now := s.cfg.Clock.Now()
	var c *AccessClaims
	if s.vcache != nil {
		if v, ok := s.vcache.Get(tok, now); ok && s.keyStillHeld(v.kid, v.key) {
			c = v.claims
		}
	}
	if c == nil {
		c = new(AccessClaims)
		rec := &keyRecorder{keys: s.cfg.Keys}
		v := jose.Verifier{
			Keys: rec, Issuer: s.cfg.Issuer, Type: "at+jwt",
			Required: []string{"sub", "aud", "iat", "jti", "client_id"},
			Now:      s.cfg.Clock.Now,
		}
		if err := v.Verify(tok, c); err != nil {
			return nil, sesame.Wrap(sesame.EUnauthenticated, err, ErrInvalidToken.Message)
		}
		if c.Subject == "" || c.ClientID == "" || (c.SessionID == "" && c.Subject != c.ClientID) {
			return nil, errClientToken
		}
		if s.vcache != nil && rec.key != nil {
			s.vcache.Put(tok, verified{claims: c, kid: rec.kid, key: rec.key}, c.ExpiresAt.Time)
		}
	}
	if !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(audiences, a) }) {
		return nil, errAudience
	}
	if c.SessionID != "" {
		if err := s.cfg.Sessions.CheckLive(ctx, c.SessionID); err != nil {
			if errors.Is(err, session.ErrSessionRevoked) {
				return nil, sesame.Wrap(sesame.EUnauthenticated, err, ErrInvalidToken.Message)
			}
			return nil, err
		}
	}
	out := *c // the cached claims stay intact
	return &out, nil
}

// ClientCredentials issues a client's own access token (RFC 6749 §4.4):
// sub and client_id are clientID, there is no sid (no user, no session:
// it cannot be revoked before it expires) and no refresh token. audience
// is its aud (required, RFC 8707 resources checked by the caller); ttl its
// lifetime (0: Config.AccessTTL; at most MaxAccessTTL). Sesame's own API,
// Middleware and Authenticate never accept it; [Service.Verify] does, and
// package verify only with Config.AcceptClientTokens.
func (s *Service) ClientCredentials(ctx context.Context, clientID, scope string, audience []string, ttl time.Duration) (*Pair, error) {
	if clientID == "" {
		return nil, sesame.Errorf(sesame.EInvalid, "token: ClientCredentials needs a client_id")
	}
	aud, err := cleanAudience(audience)
	if err != nil {
		return nil, err
	}
	if aud == nil {
		return nil, ErrInvalidTarget
	}
	if ttl <= 0 {
		ttl = s.cfg.AccessTTL
	}
	ttl = min(ttl, MaxAccessTTL)
	now := s.cfg.Clock.Now().UTC()
	exp := now.Add(ttl)
	scope = normalizeScope(scope)
	c := &clientClaims{
		Claims: jose.Claims{
			Issuer: s.cfg.Issuer, Subject: clientID, Audience: jose.Audience(aud),
			IssuedAt: jose.NewNumericDate(now), ExpiresAt: jose.NewNumericDate(exp), ID: newID(),
		},
		ClientID: clientID, Scope: scope,
	}
	key := s.cfg.Keys.SigningKey()
	if key == nil {
		return nil, sesame.Errorf(sesame.EUnavailable, "no signing key")
	}
	at, err := jose.SignJWT(key, c, jose.SignOptions{Type: "at+jwt"})
	if err != nil {
		return nil, sesame.Wrap(sesame.EInternal, err, "could not sign the access token")
	}
	return &Pair{AccessToken: at, TokenType: "Bearer", ExpiresIn: int(ttl.Seconds()), Scope: scope, AccessExpiresAt: exp}, nil
}
