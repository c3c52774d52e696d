package oauth

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/sesame-auth/sesame/jose"
)

// IDClaims are the claims of an ID token (OpenID Connect Core §2). Its
// header typ is "JWT" and its aud the client ID, where an access token's
// typ is "at+jwt" and its aud never a client ID: neither can stand in for
// the other (SEC-59).
type IDClaims struct {
	jose.Claims
	AuthTime  jose.NumericDate `json:"auth_time,omitzero"`
	Nonce     string           `json:"nonce,omitempty"`
	SessionID string           `json:"sid,omitempty"`
	AtHash    string           `json:"at_hash,omitempty"`
	ACR       string           `json:"acr,omitempty"`
	AMR       []string         `json:"amr,omitempty"`
	AZP       string           `json:"azp,omitempty"`
}

// idTokenParams is what an ID token says beyond the provider's own facts.
type idTokenParams struct {
	client      *Client
	userID      string
	sessionID   string
	authTime    time.Time
	nonce       string // "" at a refresh (OpenID Connect Core §12.2)
	acr         string
	amr         []string
	accessToken string // for at_hash
}

// Authentication context of a password session: one factor (issue 13 adds
// a second).
const (
	acrPassword = "1"
	amrPassword = "pwd"
)

// idToken signs the ID token for p with the client's IDTokenAlg.
func (p *Provider) idToken(prm idTokenParams) (string, *Error) {
	alg := prm.client.IDTokenAlg
	if alg == "" {
		alg = jose.RS256
	}
	key := p.cfg.Keys.SigningKeyFor(alg)
	if key == nil {
		p.cfg.Logger.Error("oauth: no active signing key for a client's ID-token algorithm", "client_id", prm.client.ID, "alg", string(alg))
		return "", errorf(http.StatusInternalServerError, "server_error", "no key for the client's id_token_signed_response_alg")
	}
	now := p.cfg.Clock.Now()
	acr, amr := prm.acr, prm.amr
	if acr == "" {
		acr = acrPassword
	}
	if len(amr) == 0 {
		amr = []string{amrPassword}
	}
	c := &IDClaims{
		Claims: jose.Claims{
			Issuer: p.cfg.Issuer, Subject: prm.userID, Audience: jose.Audience{prm.client.ID},
			IssuedAt: jose.NewNumericDate(now), ExpiresAt: jose.NewNumericDate(now.Add(p.cfg.IDTokenTTL)),
		},
		Nonce: prm.nonce, SessionID: prm.sessionID, ACR: acr, AMR: amr, AZP: prm.client.ID,
	}
	if !prm.authTime.IsZero() {
		c.AuthTime = jose.NewNumericDate(prm.authTime)
	}
	if prm.accessToken != "" {
		c.AtHash = atHash(alg, prm.accessToken)
	}
	tok, err := jose.SignJWT(key, c, jose.SignOptions{Type: "JWT"})
	if err != nil {
		p.cfg.Logger.Error("oauth: could not sign an ID token", "error", err)
		return "", errorf(http.StatusInternalServerError, "server_error", "internal error")
	}
	return tok, nil
}

// atHash is the at_hash of an access token (OpenID Connect Core §3.1.3.6):
// the base64url of the left half of its hash with the hash function of the
// ID token's algorithm.
func atHash(alg jose.Algorithm, accessToken string) string {
	var sum []byte
	switch alg {
	case jose.RS384, jose.PS384, jose.ES384, jose.HS384:
		h := sha512.Sum384([]byte(accessToken))
		sum = h[:]
	case jose.RS512, jose.PS512, jose.ES512, jose.HS512, jose.EdDSA:
		h := sha512.Sum512([]byte(accessToken))
		sum = h[:]
	default:
		h := sha256.Sum256([]byte(accessToken))
		sum = h[:]
	}
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
