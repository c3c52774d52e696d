package oauth_test

// Security review attacks on the non-browser side of the provider (token,
// introspection, userinfo endpoints and the first-party token service),
// each named for the SECURITY.md item it checks.

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/oauth"
)

func (f *thFixture) postAssertion(assertion string) int {
	form := ccForm()
	form.Set("client_assertion_type", oauth.JWTBearerAssertionType)
	form.Set("client_assertion", assertion)
	return f.post(oauth.PathToken, "", form).Code
}

// SEC-58 (client authentication): private_key_jwt assertions forged by
// algorithm confusion or for another client are refused.
func TestSEC58_PrivateKeyJWTAlgorithmConfusion(t *testing.T) {
	f := newTHFixture(t)
	now := f.clock.Now()
	claims := jose.Claims{Issuer: thJWT, Subject: thJWT, Audience: []string{thIssuer + oauth.PathToken},
		IssuedAt: jose.NewNumericDate(now), ExpiresAt: jose.NewNumericDate(now.Add(time.Minute)), ID: "jti-confusion"}

	// Control: a valid assertion authenticates (400 unauthorized_client:
	// the client may not use client_credentials, checked after auth).
	if code := f.postAssertion(f.assertion(assertionOpts{})); code != 400 {
		t.Fatalf("valid assertion: status %d, want 400", code)
	}

	// HS256 keyed with the client's public key (its JWKS bytes, and the
	// JWK of the key alone).
	pubJWK, _ := f.clientKey.Public().MarshalJSON()
	jwks, _ := mustKeySet(t, f.clientKey.Public()).MarshalJSON()
	for _, secret := range [][]byte{jwks, pubJWK} {
		hk, err := jose.NewKey(jose.HS256, secret, f.clientKey.KID())
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jose.SignJWT(hk, &claims, jose.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if code := f.postAssertion(tok); code != 401 {
			t.Errorf("HS256 keyed with the public key: status %d, want 401", code)
		}
	}

	// alg none, with and without a signature part.
	valid := f.assertion(assertionOpts{})
	parts := splitJWT(t, valid)
	for _, hdr := range []string{`{"alg":"none"}`, `{"alg":"none","kid":"client-key"}`, `{"alg":"None","typ":"JWT"}`} {
		h := base64.RawURLEncoding.EncodeToString([]byte(hdr))
		for _, sig := range []string{"", parts[2]} {
			if code := f.postAssertion(h + "." + parts[1] + "." + sig); code != 401 {
				t.Errorf("alg none %s (sig %v): status %d, want 401", hdr, sig != "", code)
			}
		}
	}

	// Another client's key (here: a key the attacker owns, with the kid of
	// the registered one) does not verify.
	other, err := jose.GenerateKey(jose.ES256, f.clientKey.KID())
	if err != nil {
		t.Fatal(err)
	}
	if code := f.postAssertion(f.assertion(assertionOpts{key: other})); code != 401 {
		t.Errorf("assertion signed by a foreign key with the client's kid: status %d, want 401", code)
	}

	// An assertion for client A (iss jwt) with sub B, signed by A's key:
	// authenticates neither A nor B.
	c2 := claims
	c2.ID, c2.Subject = "jti-sub", thWeb
	tok, err := jose.SignJWT(f.clientKey, &c2, jose.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if code := f.postAssertion(tok); code != 401 {
		t.Errorf("iss jwt sub web: status %d, want 401", code)
	}
	// iss B (a secret client) signed by A's key.
	if code := f.postAssertion(f.assertion(assertionOpts{iss: thWeb})); code != 401 {
		t.Errorf("iss web signed by jwt's key: status %d, want 401", code)
	}
	// client_id A in the form, assertion of another issuer.
	form := ccForm()
	form.Set("client_id", thWeb)
	form.Set("client_assertion_type", oauth.JWTBearerAssertionType)
	form.Set("client_assertion", f.assertion(assertionOpts{}))
	if w := f.post(oauth.PathToken, "", form); w.Code != 401 {
		t.Errorf("client_id web with jwt's assertion: status %d, want 401", w.Code)
	}
}

func splitJWT(t *testing.T, tok string) [3]string {
	t.Helper()
	var out [3]string
	i := 0
	start := 0
	for j := 0; j < len(tok); j++ {
		if tok[j] == '.' {
			if i == 2 {
				t.Fatalf("not a JWS: %q", tok)
			}
			out[i] = tok[start:j]
			i++
			start = j + 1
		}
	}
	out[i] = tok[start:]
	return out
}

// SEC-58, design decision 2: a refresh token issued to an OAuth client is
// not a first-party one. Sesame's first-party refresh (token.Service.Refresh,
// behind POST /api/v1/token/refresh, which passes the body's client_id,
// often empty) must refuse it: else a stolen refresh token of a
// confidential client is redeemed without the client's credentials, and
// it rotates the client's family behind its back.
func TestSEC58_OAuthRefreshTokenNotFirstParty(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	tr := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "openid", resources: []string{thAPI}}), ""))
	for _, cid := range []string{"", "sesame", thWeb} {
		if p, err := f.tokens.Refresh(f.ctx, tr.RefreshToken, cid, ""); err == nil {
			_, c := claimsOf(t, p.AccessToken)
			t.Fatalf("first-party Refresh(client_id %q) of web's refresh token succeeded: aud %v", cid, c["aud"])
		}
	}
	// The access token never passes Sesame's own API (aud = issuer).
	if _, err := f.tokens.Authenticate(f.ctx, tr.AccessToken); err == nil {
		t.Error("an OAuth access token passed token.Service.Authenticate")
	}
	if _, err := f.tokens.Verify(f.ctx, tr.AccessToken, []string{thIssuer}); err == nil {
		t.Error("an OAuth access token verified for the issuer audience")
	}
	// The refusals did not use the token up: the client still refreshes.
	f.tokens200(f.refresh(thWeb, tr.RefreshToken, nil))
}
