package oauth_test

// Security review attacks on the non-browser side of the provider (token,
// introspection, userinfo endpoints and the first-party token service),
// each named for the SECURITY.md item it checks.

import (
	"encoding/base64"
	"net/url"
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

// SEC-13, SEC-58: a code issued from a session is worthless once the
// session ends or the user is blocked, and a refresh token dies with a
// block.
func TestSEC13_CodeAndRefreshAfterRevocationOrBlock(t *testing.T) {
	f := newTHFixture(t)

	// Session revoked between the authorization and the exchange.
	_, sess := f.user("alice")
	code := f.code(sess, codeOpts{client: thWeb, scope: "openid"})
	if _, err := f.sessions.Revoke(f.ctx, sess.ID, "logout"); err != nil {
		t.Fatal(err)
	}
	wantError(t, f.exchange(thWeb, code, ""), 400, "invalid_grant")

	// User blocked between the authorization and the exchange.
	u, sess := f.user("bob")
	code = f.code(sess, codeOpts{client: thWeb, scope: "openid"})
	u.Blocked = true
	if err := f.mem.UpdateUser(f.ctx, u); err != nil {
		t.Fatal(err)
	}
	// (u.Blocked set in the store, the session still live: a block whose
	// session revocation failed, SEC-13; the harness token service has no
	// CheckUser, so the token endpoint must check by itself.)
	wantError(t, f.exchange(thWeb, code, ""), 400, "invalid_grant")

	// Refresh (and userinfo) after a block.
	u, sess = f.user("carol")
	tr := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "openid"}), ""))
	u.Blocked = true
	if err := f.mem.UpdateUser(f.ctx, u); err != nil {
		t.Fatal(err)
	}
	wantError(t, f.refresh(thWeb, tr.RefreshToken, nil), 400, "invalid_grant")
	if w := f.userinfo(tr.AccessToken); w.Code == 200 {
		t.Errorf("userinfo of a blocked user: %d %s", w.Code, w.Body)
	}
}

// SEC-59: ID tokens and first-party access tokens are not access tokens
// of the OAuth endpoints: userinfo refuses them, introspection calls them
// inactive.
func TestSEC59_IDAndFirstPartyTokensAtUserinfoAndIntrospection(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	tr := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "openid profile"}), ""))
	if tr.IDToken == "" {
		t.Fatal("no ID token")
	}
	if w := f.userinfo(tr.AccessToken); w.Code != 200 {
		t.Fatalf("control: userinfo with the access token: %d", w.Code)
	}
	if w := f.userinfo(tr.IDToken); w.Code != 401 {
		t.Errorf("userinfo with an ID token: %d, want 401", w.Code)
	}
	for _, c := range []string{thWeb, thRS, thPost} {
		if got := f.introspect(c, tr.IDToken); got["active"] != false {
			t.Errorf("ID token introspected by %s: %v", c, got)
		}
	}
	// A first-party token (aud = issuer) is not for userinfo, and no OAuth
	// client learns about it.
	fp, err := f.tokens.Issue(f.ctx, sess, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if w := f.userinfo(fp.AccessToken); w.Code != 401 {
		t.Errorf("userinfo with a first-party token: %d, want 401", w.Code)
	}
	for _, c := range []string{thWeb, thRS, thPost} {
		if got := f.introspect(c, fp.AccessToken); got["active"] != false {
			t.Errorf("first-party token introspected by %s: %v", c, got)
		}
		if got := f.introspect(c, fp.RefreshToken); got["active"] != false {
			t.Errorf("first-party refresh token introspected by %s: %v", c, got)
		}
	}
	// A first-party refresh token is not redeemable at /oauth2/token.
	wantError(t, f.refresh(thWeb, fp.RefreshToken, nil), 400, "invalid_grant")
	// A client_credentials token is not a first-party one.
	cc := f.tokens200(f.post(oauth.PathToken, thService, ccForm()))
	if _, err := f.tokens.Authenticate(f.ctx, cc.AccessToken); err == nil {
		t.Error("a client_credentials token passed token.Service.Authenticate")
	}
	if w := f.userinfo(cc.AccessToken); w.Code != 401 {
		t.Errorf("userinfo with a client_credentials token: %d, want 401", w.Code)
	}
}

// SEC-59, design decision 2: no registered resource may be an audience of
// Sesame's own API, else any client asking resource=<issuer> would get a
// token that /api/v1/* accepts.
func TestSEC59_ResourceCannotBeSesamesOwnAudience(t *testing.T) {
	f := newTHFixture(t)
	for _, res := range []string{thIssuer, thIssuer + "/", thIssuer + oauth.PathUserinfo, ""} {
		cfg := f.p.Config()
		cfg.Resources = []string{thAPI, res}
		if _, err := oauth.New(cfg); err == nil {
			t.Errorf("oauth.New accepted resource %q", res)
		}
	}
	cfg := f.p.Config()
	if _, err := oauth.New(cfg); err != nil {
		t.Fatalf("control: %v", err)
	}
	// And a client asking for the issuer as a resource gets invalid_target.
	w := f.post(oauth.PathToken, thService, url.Values{"grant_type": {"client_credentials"}, "resource": {thIssuer}})
	wantError(t, w, 400, "invalid_target")
}

// SEC-58, design decision 2: a first-party refresh token whose client_id
// happens to be an OAuth client's (POST /api/v1/login takes any client_id)
// is not redeemable at /oauth2/token: else the client would mint aud =
// issuer tokens through its own endpoint.
func TestSEC58_FirstPartyRefreshTokenNamingAClient(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	fp, err := f.tokens.Issue(f.ctx, sess, thWeb, "")
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, f.refresh(thWeb, fp.RefreshToken, nil), 400, "invalid_grant")
	// Nor does the client learn about it by introspection.
	for _, tok := range []string{fp.AccessToken, fp.RefreshToken} {
		if got := f.introspect(thWeb, tok); got["active"] != false {
			t.Errorf("first-party token naming web introspected by web: %v", got)
		}
	}
	// Not used up: the first-party refresh still works.
	if _, err := f.tokens.Refresh(f.ctx, fp.RefreshToken, "", ""); err != nil {
		t.Fatalf("first-party refresh after the refusal: %v", err)
	}
}
