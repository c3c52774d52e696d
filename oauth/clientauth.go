package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
)

// Client authentication at the token, revocation and introspection
// endpoints (RFC 6749 §2.3, RFC 7523 §2.2, OpenID Connect Core §9).
//
// A request uses exactly one method: an Authorization: Basic header
// (client_secret_basic), a client_secret form field (client_secret_post),
// a client_assertion (private_key_jwt), or only a client_id (none, public
// clients). Two methods in one request are invalid_request (RFC 6749
// §2.3). The method must be the one registered for the client: a client
// registered for private_key_jwt that sends a secret fails, as does a
// confidential client that sends no credential. Every failure to
// authenticate is 401 invalid_client, with one description whatever the
// cause (unknown client, wrong secret, wrong method), so that the answer
// does not tell which client IDs exist.

// JWTBearerAssertionType is the client_assertion_type of private_key_jwt
// (RFC 7523 §2.2).
const JWTBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// MaxAssertionLifetime bounds how far ahead of now a client assertion's
// exp may be: a longer-lived assertion would have to be remembered (its
// jti) for longer, and is more useful to whoever steals it.
const MaxAssertionLifetime = 5 * time.Minute

// assertionLeeway is the clock skew allowed between a client and Sesame
// when checking an assertion's exp and iat.
const assertionLeeway = 30 * time.Second

// errBadClient is the one answer to a failed client authentication.
var errBadClient = errorf(http.StatusUnauthorized, "invalid_client", "client authentication failed")

// authenticateClient returns the client that authenticated the request
// whose form-encoded body is form.
func (p *Provider) authenticateClient(r *http.Request, form url.Values) (*Client, *Error) {
	ctx := r.Context()
	auth := r.Header.Get("Authorization")
	_, hasSecret := form["client_secret"]
	_, hasAssertion := form["client_assertion"]
	_, hasAssertionType := form["client_assertion_type"]
	methods := 0
	for _, b := range []bool{auth != "", hasSecret, hasAssertion || hasAssertionType} {
		if b {
			methods++
		}
	}
	if methods > 1 {
		return nil, errorf(http.StatusBadRequest, "invalid_request", "the request uses more than one client authentication method")
	}
	formID := form.Get("client_id")
	switch {
	case auth != "":
		id, secret, ok := parseBasic(auth)
		if !ok {
			return nil, errBadClient
		}
		if formID != "" && formID != id {
			return nil, errorf(http.StatusBadRequest, "invalid_request", "client_id differs from the authenticated client")
		}
		return p.checkSecret(ctx, id, secret, AuthClientSecretBasic)
	case hasSecret:
		return p.checkSecret(ctx, formID, form.Get("client_secret"), AuthClientSecretPost)
	case hasAssertion || hasAssertionType:
		if !hasAssertion || !hasAssertionType {
			return nil, errorf(http.StatusBadRequest, "invalid_request", "client_assertion and client_assertion_type go together")
		}
		if form.Get("client_assertion_type") != JWTBearerAssertionType {
			return nil, errBadClient
		}
		return p.checkAssertion(ctx, formID, form.Get("client_assertion"))
	case formID != "":
		c, err := p.client(ctx, formID)
		if err != nil {
			return nil, err
		}
		if !c.Public || c.AuthMethod != AuthNone {
			return nil, errBadClient
		}
		return c, nil
	}
	return nil, errBadClient
}

// parseBasic reads an Authorization: Basic header whose user and password
// are form-urlencoded client ID and secret (RFC 6749 §2.3.1).
func parseBasic(h string) (id, secret string, ok bool) {
	scheme, cred, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", false
	}
	u, pw, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	if id, err = url.QueryUnescape(u); err != nil || id == "" {
		return "", "", false
	}
	if secret, err = url.QueryUnescape(pw); err != nil || secret == "" {
		return "", "", false
	}
	return id, secret, true
}

// client returns the registered client with the ID, defaults filled in;
// an unknown one is invalid_client.
func (p *Provider) client(ctx context.Context, id string) (*Client, *Error) {
	if id == "" {
		return nil, errBadClient
	}
	c, err := p.cfg.Registry.Client(ctx, id)
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, errBadClient
	}
	if err != nil {
		return nil, p.internal(ctx, "client lookup", err)
	}
	return c, nil
}

func (p *Provider) checkSecret(ctx context.Context, id, secret, method string) (*Client, *Error) {
	c, err := p.client(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Public || c.AuthMethod != method || !c.CheckSecret(secret) {
		return nil, errBadClient
	}
	return c, nil
}

// assertionClaims are the claims of a private_key_jwt client assertion.
type assertionClaims struct {
	jose.Claims
}

// checkAssertion authenticates a client by a JWT signed with one of the
// keys of its registered JWKS (RFC 7523 §3): iss and sub are the client
// ID, aud names Sesame (its issuer or its token endpoint), exp is present
// and at most [MaxAssertionLifetime] ahead, and the jti was never used
// before (it is remembered until exp).
func (p *Provider) checkAssertion(ctx context.Context, formID, assertion string) (*Client, *Error) {
	id, ok := unverifiedIssuer(assertion)
	if !ok || (formID != "" && formID != id) {
		return nil, errBadClient
	}
	c, cerr := p.client(ctx, id)
	if cerr != nil {
		return nil, cerr
	}
	if c.AuthMethod != AuthPrivateKeyJWT || len(c.JWKS) == 0 {
		return nil, errBadClient
	}
	keys, err := jose.ParseJWKS(c.JWKS)
	if err != nil || keys.Len() == 0 {
		p.cfg.Logger.WarnContext(ctx, "oauth: a client's registered JWKS does not parse", "client_id", c.ID, "error", err)
		return nil, errBadClient
	}
	for _, k := range keys.Keys() {
		if k.IsSymmetric() {
			return nil, errBadClient // a shared secret is not a private key
		}
	}
	now := p.cfg.Clock.Now()
	v := jose.Verifier{
		Keys:     keys,
		Issuer:   c.ID,
		Audience: []string{p.cfg.Issuer, p.cfg.Issuer + PathToken},
		Required: []string{"sub", "jti"},
		Leeway:   assertionLeeway,
		Now:      func() time.Time { return now },
	}
	var claims assertionClaims
	if err := v.Verify(assertion, &claims); err != nil {
		return nil, errBadClient
	}
	if claims.Subject != c.ID || claims.ExpiresAt.After(now.Add(MaxAssertionLifetime+assertionLeeway)) {
		return nil, errBadClient
	}
	key := "private_key_jwt\x00" + c.ID + "\x00" + claims.ID
	switch err := p.cfg.Store.UseOnce(ctx, key, claims.ExpiresAt.Add(assertionLeeway)); {
	case sesame.ErrorCode(err) == sesame.EConflict:
		return nil, errBadClient // a replayed assertion
	case err != nil:
		return nil, p.internal(ctx, "assertion jti", err)
	}
	return c, nil
}

// unverifiedIssuer reads the iss of a JWT without verifying it, only to
// find which client's keys verify it.
func unverifiedIssuer(tok string) (string, bool) {
	if len(tok) > jose.DefaultMaxTokenSize {
		return "", false
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Issuer == "" {
		return "", false
	}
	return c.Issuer, true
}
