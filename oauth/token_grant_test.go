package oauth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/oauth"
)

func audOf(c map[string]any) []string {
	switch v := c["aud"].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, a := range v {
			out = append(out, a.(string))
		}
		return out
	}
	return nil
}

func TestCodeGrantConfidentialWithPKCE(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice", "staff")
	code := f.code(sess, codeOpts{client: thWeb, scope: "openid profile groups", resources: []string{thAPI}, nonce: "n-0S6", verifier: thVerifier})
	w := f.exchange(thWeb, code, thVerifier)
	tr := f.tokens200(w)
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	if tr.TokenType != "Bearer" || tr.AccessToken == "" || tr.RefreshToken == "" || tr.IDToken == "" || tr.ExpiresIn <= 0 {
		t.Fatalf("response %+v: want Bearer access, refresh and ID tokens", tr)
	}
	if tr.Scope != "groups openid profile" {
		t.Errorf("scope %q, want the granted scope", tr.Scope)
	}
	typ, at := claimsOf(t, tr.AccessToken)
	if typ != "at+jwt" {
		t.Errorf("access token typ %q, want at+jwt", typ)
	}
	if aud := audOf(at); !slices.Equal(aud, []string{thAPI, thIssuer + oauth.PathUserinfo}) {
		t.Errorf("access token aud %v, want [api userinfo]", aud)
	}
	if at["client_id"] != thWeb || at["sid"] != sess.ID || at["sub"] != sess.UserID {
		t.Errorf("access token claims %v", at)
	}

	// The ID token verifies with the provider's RS256 key (the default).
	var id oauth.IDClaims
	v := jose.Verifier{Keys: f.keys.rs, Issuer: thIssuer, Audience: []string{thWeb}, Type: "JWT", Now: f.clock.Now}
	if err := v.Verify(tr.IDToken, &id); err != nil {
		t.Fatalf("ID token: %v", err)
	}
	h := sha256.Sum256([]byte(tr.AccessToken))
	switch {
	case id.Subject != sess.UserID, id.Nonce != "n-0S6", id.SessionID != sess.ID, id.AZP != thWeb,
		id.ACR != "1", !slices.Equal(id.AMR, []string{"pwd"}), id.AuthTime.Unix() != sess.AuthTime.Unix():
		t.Errorf("ID token claims %+v", id)
	case id.AtHash != base64.RawURLEncoding.EncodeToString(h[:16]):
		t.Errorf("at_hash %q, want the left half of SHA-256 of the access token", id.AtHash)
	case id.ExpiresAt.Sub(f.clock.Now()) != 5*time.Minute:
		t.Errorf("ID token exp %v, want now + 5 min", id.ExpiresAt)
	}

	// The back-channel logout target was recorded before the tokens.
	if ts, err := f.mem.LogoutTargets(f.ctx, "", 10); err != nil || len(ts) != 1 || ts[0].SessionID != sess.ID || ts[0].ClientID != thWeb {
		t.Error("no logout target for the client with a back-channel URI")
	}
	// The access token works at userinfo.
	if w := f.userinfo(tr.AccessToken); w.Code != http.StatusOK {
		t.Errorf("userinfo: status %d, body %s", w.Code, w.Body)
	}
}

func TestCodeGrantPublicClientES256IDToken(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("bob")
	tr := f.tokens200(f.exchange(thSPA, f.code(sess, codeOpts{client: thSPA, scope: "openid", verifier: thVerifier}), thVerifier))
	typ, at := claimsOf(t, tr.AccessToken)
	if typ != "at+jwt" || !slices.Equal(audOf(at), []string{thIssuer + oauth.PathUserinfo}) {
		t.Errorf("access token typ %q aud %v, want at+jwt [userinfo]", typ, audOf(at))
	}
	var id oauth.IDClaims
	if err := (&jose.Verifier{Keys: f.keys.es, Issuer: thIssuer, Audience: []string{thSPA}, Type: "JWT", Now: f.clock.Now}).Verify(tr.IDToken, &id); err != nil {
		t.Fatalf("ID token signed with the client's ES256: %v", err)
	}
	if id.Nonce != "" {
		t.Errorf("nonce %q, want none (none asked)", id.Nonce)
	}
}

func TestCodeGrantWithoutOpenIDHasNoIDToken(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("carol")
	tr := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "profile"}), ""))
	if tr.IDToken != "" {
		t.Error("an ID token without the openid scope")
	}
	if _, at := claimsOf(t, tr.AccessToken); !slices.Equal(audOf(at), []string{thIssuer + oauth.PathUserinfo}) {
		t.Errorf("aud %v, want [userinfo] alone (no resource, no openid)", audOf(at))
	}
	// Without openid, userinfo refuses the token.
	if w := f.userinfo(tr.AccessToken); w.Code != http.StatusForbidden {
		t.Errorf("userinfo without openid: status %d, want 403", w.Code)
	}
}

func TestCodeGrantNoRefreshTokenWhenGrantNotAllowed(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("dan")
	tr := f.tokens200(f.exchange(thNoRefresh, f.code(sess, codeOpts{client: thNoRefresh, scope: "openid"}), ""))
	if tr.RefreshToken != "" {
		t.Error("a refresh token for a client without the refresh_token grant")
	}
}

func TestCodeGrantResourceNarrowingAtTokenEndpoint(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("erin")
	code := f.code(sess, codeOpts{client: thWeb, scope: "openid", resources: []string{thAPI, thBilling}})
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://web.example/cb"}, "resource": {thBilling}}
	tr := f.tokens200(f.post(oauth.PathToken, thWeb, form))
	if _, at := claimsOf(t, tr.AccessToken); !slices.Equal(audOf(at), []string{thBilling, thIssuer + oauth.PathUserinfo}) {
		t.Errorf("aud %v, want [billing userinfo]", audOf(at))
	}
	code = f.code(sess, codeOpts{client: thWeb, scope: "openid", resources: []string{thAPI}})
	form = url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://web.example/cb"}, "resource": {thBilling}}
	wantError(t, f.post(oauth.PathToken, thWeb, form), 400, "invalid_target")
}

// A second redemption fails and ends the session of the first, so that
// the tokens it issued stop working (RFC 6749 §4.1.2).
func TestSEC58_CodeUsedTwiceRevokesFirstTokens(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	code := f.code(sess, codeOpts{client: thWeb, scope: "openid", verifier: thVerifier})
	first := f.tokens200(f.exchange(thWeb, code, thVerifier))
	if w := f.userinfo(first.AccessToken); w.Code != http.StatusOK {
		t.Fatalf("before the reuse, userinfo status %d", w.Code)
	}
	wantError(t, f.exchange(thWeb, code, thVerifier), 400, "invalid_grant")
	if w := f.userinfo(first.AccessToken); w.Code != http.StatusUnauthorized {
		t.Errorf("first access token after the reuse: userinfo status %d, want 401", w.Code)
	}
	wantError(t, f.refresh(thWeb, first.RefreshToken, nil), 400, "invalid_grant")
	if err := f.sessions.CheckLive(f.ctx, sess.ID); err == nil {
		t.Error("the session of a reused code is still live")
	}
}

func TestSEC58_CodeRedeemedByAnotherClient(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	code := f.code(sess, codeOpts{client: thWeb, scope: "openid"})
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://web.example/cb"}}
	wantError(t, f.post(oauth.PathToken, thPost, form), 400, "invalid_grant")
}

func TestSEC58_PKCE(t *testing.T) {
	other := "other-verifier-other-verifier-other-verifier-0123"
	cases := []struct {
		name     string
		opts     codeOpts
		verifier string
		omit     bool
		status   int
		code     string
	}{
		{name: "wrong verifier", opts: codeOpts{verifier: thVerifier}, verifier: other, status: 400, code: "invalid_grant"},
		{name: "missing verifier", opts: codeOpts{verifier: thVerifier}, omit: true, status: 400, code: "invalid_grant"},
		{name: "verifier without challenge", opts: codeOpts{}, verifier: thVerifier, status: 400, code: "invalid_grant"},
		// A stored challenge equal to the verifier (what "plain" would
		// store) never matches: only S256 is computed.
		{name: "plain downgrade", opts: codeOpts{verifier: thVerifier, plain: true}, verifier: thVerifier, status: 400, code: "invalid_grant"},
		{name: "short verifier", opts: codeOpts{verifier: thVerifier}, verifier: "abc", status: 400, code: "invalid_request"},
		{name: "verifier with a bad character", opts: codeOpts{verifier: thVerifier}, verifier: thVerifier[:42] + "!", status: 400, code: "invalid_request"},
		{name: "verifier too long", opts: codeOpts{verifier: thVerifier}, verifier: string(make([]byte, 129)), status: 400, code: "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newTHFixture(t)
			_, sess := f.user("alice")
			tc.opts.client, tc.opts.scope = thSPA, "openid"
			code := f.code(sess, tc.opts)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://spa.example/cb"}}
			if !tc.omit {
				form.Set("code_verifier", tc.verifier)
			}
			wantError(t, f.post(oauth.PathToken, thSPA, form), tc.status, tc.code)
		})
	}
}

func TestCodeGrantRefusals(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(f *thFixture, form url.Values)
		status int
		code   string
	}{
		{"redirect_uri differs", func(_ *thFixture, form url.Values) { form.Set("redirect_uri", "https://web.example/cb/") }, 400, "invalid_grant"},
		{"redirect_uri missing", func(_ *thFixture, form url.Values) { form.Del("redirect_uri") }, 400, "invalid_grant"},
		{"unknown code", func(_ *thFixture, form url.Values) { form.Set("code", "nope") }, 400, "invalid_grant"},
		{"no code", func(_ *thFixture, form url.Values) { form.Del("code") }, 400, "invalid_request"},
		{"expired code", func(f *thFixture, _ url.Values) { f.clock.Add(time.Minute) }, 400, "invalid_grant"},
		{"session ended", func(f *thFixture, form url.Values) {
			f.sessions.RevokeUser(f.ctx, "u-alice", "", "test")
		}, 400, "invalid_grant"},
		{"no grant_type", func(_ *thFixture, form url.Values) { form.Del("grant_type") }, 400, "invalid_request"},
		{"unknown grant_type", func(_ *thFixture, form url.Values) { form.Set("grant_type", "password") }, 400, "unsupported_grant_type"},
		{"store down", func(f *thFixture, _ url.Values) { f.store.down.Store(true) }, 503, "temporarily_unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newTHFixture(t)
			_, sess := f.user("alice")
			code := f.code(sess, codeOpts{client: thWeb, scope: "openid"})
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://web.example/cb"}}
			tc.mutate(f, form)
			wantError(t, f.post(oauth.PathToken, thWeb, form), tc.status, tc.code)
		})
	}
}

func TestCodeGrantNotAllowedForClient(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	code := f.code(sess, codeOpts{client: thService, scope: "openid"})
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://service.example/cb"}}
	wantError(t, f.post(oauth.PathToken, thService, form), 400, "unauthorized_client")
}

func TestRefreshGrant(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	first := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "openid profile", resources: []string{thAPI, thBilling}}), ""))
	f.clock.Add(time.Minute)
	tr := f.tokens200(f.refresh(thWeb, first.RefreshToken, nil))
	if tr.RefreshToken == "" || tr.RefreshToken == first.RefreshToken || tr.IDToken == "" {
		t.Fatalf("refresh answer %+v: want a new refresh token and an ID token", tr)
	}
	var id oauth.IDClaims
	if err := (&jose.Verifier{Keys: f.keys.rs, Issuer: thIssuer, Audience: []string{thWeb}, Type: "JWT", Now: f.clock.Now}).Verify(tr.IDToken, &id); err != nil {
		t.Fatal(err)
	}
	if id.Subject != sess.UserID || id.SessionID != sess.ID || id.Nonce != "" || id.AtHash == "" || id.AuthTime.Unix() != sess.AuthTime.Unix() {
		t.Errorf("refreshed ID token %+v: want sub, sid, at_hash, the original auth_time, no nonce", id)
	}
	if _, at := claimsOf(t, tr.AccessToken); !slices.Equal(audOf(at), []string{thAPI, thBilling, thIssuer + oauth.PathUserinfo}) {
		t.Errorf("refreshed aud %v, want the family's", audOf(at))
	}

	// Narrowing scope (without openid: no ID token) and resource.
	tr = f.tokens200(f.refresh(thWeb, tr.RefreshToken, url.Values{"scope": {"profile"}, "resource": {thBilling}}))
	if tr.IDToken != "" || tr.Scope != "profile" {
		t.Errorf("narrowed: scope %q, id_token %v; want profile and none", tr.Scope, tr.IDToken != "")
	}
	if _, at := claimsOf(t, tr.AccessToken); !slices.Equal(audOf(at), []string{thBilling}) {
		t.Errorf("narrowed aud %v, want [billing]", audOf(at))
	}
	// Narrowing the resource keeps userinfo while the scope keeps openid.
	tr = f.tokens200(f.refresh(thWeb, tr.RefreshToken, url.Values{"resource": {thAPI}}))
	if _, at := claimsOf(t, tr.AccessToken); !slices.Equal(audOf(at), []string{thAPI, thIssuer + oauth.PathUserinfo}) {
		t.Errorf("resource-narrowed aud %v, want [api userinfo]", audOf(at))
	}
	// Widening is refused.
	wantError(t, f.refresh(thWeb, tr.RefreshToken, url.Values{"scope": {"openid groups"}}), 400, "invalid_scope")
	wantError(t, f.refresh(thWeb, tr.RefreshToken, url.Values{"resource": {"https://unregistered.example"}}), 400, "invalid_target")
	wantError(t, f.refresh(thWeb, "", nil), 400, "invalid_request")
	wantError(t, f.refresh(thWeb, "garbage", nil), 400, "invalid_grant")
}

func TestRefreshGrantCannotWidenResource(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	first := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "openid", resources: []string{thAPI}}), ""))
	wantError(t, f.refresh(thWeb, first.RefreshToken, url.Values{"resource": {thBilling}}), 400, "invalid_target")
}

// A refresh token issued to client A is refused at client B, and the
// refusal does not use it up.
func TestSEC58_RefreshTokenOfAnotherClient(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	first := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "openid"}), ""))
	wantError(t, f.refresh(thPost, first.RefreshToken, nil), 400, "invalid_grant")
	wantError(t, f.refresh(thSPA, first.RefreshToken, nil), 400, "invalid_grant")
	f.tokens200(f.refresh(thWeb, first.RefreshToken, nil))
}

func TestClientCredentialsGrant(t *testing.T) {
	f := newTHFixture(t)
	tr := f.tokens200(f.post(oauth.PathToken, thService, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}))
	if tr.RefreshToken != "" || tr.IDToken != "" || tr.Scope != "read" {
		t.Errorf("answer %+v: want an access token only, scope read", tr)
	}
	typ, at := claimsOf(t, tr.AccessToken)
	if typ != "at+jwt" || at["sub"] != thService || at["client_id"] != thService || at["sid"] != nil {
		t.Errorf("client token typ %q claims %v: want sub = client_id, no sid", typ, at)
	}
	if !slices.Equal(audOf(at), []string{thAPI}) {
		t.Errorf("aud %v, want the client's resources", audOf(at))
	}
	// It is no user's token: userinfo refuses it.
	if w := f.userinfo(tr.AccessToken); w.Code != http.StatusUnauthorized {
		t.Errorf("userinfo with a client token: status %d, want 401", w.Code)
	}

	wantError(t, f.post(oauth.PathToken, thService, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}), 400, "invalid_scope")
	wantError(t, f.post(oauth.PathToken, thService, url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}), 400, "invalid_scope")
	wantError(t, f.post(oauth.PathToken, thService, url.Values{"grant_type": {"client_credentials"}, "resource": {thBilling}}), 400, "invalid_target")
	// A client without the grant.
	wantError(t, f.post(oauth.PathToken, thPost, url.Values{"grant_type": {"client_credentials"}}), 400, "unauthorized_client")
}

func TestClientCredentialsRefusedToPublicClient(t *testing.T) {
	f := newTHFixture(t)
	// thSPA lists client_credentials among its grants: being public is
	// what refuses it.
	wantError(t, f.post(oauth.PathToken, thSPA, url.Values{"grant_type": {"client_credentials"}}), 400, "unauthorized_client")
}

// An ID token and an access token cannot stand in for each other.
func TestSEC59_AccessTokenIsNotAnIDToken(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	tr := f.tokens200(f.exchange(thSPA, f.code(sess, codeOpts{client: thSPA, scope: "openid", verifier: thVerifier}), thVerifier))
	atTyp, at := claimsOf(t, tr.AccessToken)
	idTyp, _ := claimsOf(t, tr.IDToken)
	if atTyp != "at+jwt" || idTyp != "JWT" {
		t.Errorf("typ: access %q, id %q; want at+jwt and JWT", atTyp, idTyp)
	}
	if slices.Contains(audOf(at), thSPA) {
		t.Errorf("access token aud %v holds the client ID", audOf(at))
	}
	// An RP verifying the access token as its ID token fails on aud.
	var id oauth.IDClaims
	err := (&jose.Verifier{Keys: f.keys.set, Issuer: thIssuer, Audience: []string{thSPA}, Now: f.clock.Now}).Verify(tr.AccessToken, &id)
	if err == nil {
		t.Error("the access token verified as an ID token")
	}
	// The ID token at userinfo is an invalid token.
	w := f.userinfo(tr.IDToken)
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != `Bearer realm="sesame", error="invalid_token"` {
		t.Errorf("ID token at userinfo: %d %q, want 401 invalid_token", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	// And inactive at introspection, for the client it was issued to.
	if got := f.introspect(thWeb, tr.IDToken); got["active"] != false || len(got) != 1 {
		t.Errorf("ID token introspected: %v, want only active false", got)
	}
}

// A public client's code without a PKCE challenge is refused at the token
// endpoint too (the authorization endpoint never issues one).
func TestSEC58_PublicClientCodeWithoutPKCE(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	wantError(t, f.exchange(thSPA, f.code(sess, codeOpts{client: thSPA, scope: "openid"}), ""), 400, "invalid_grant")
}

// An attacker who tries a stolen code (here with a wrong verifier) uses it
// up: the rightful client's redemption is then a reuse, which ends the
// session, and gets nothing.
func TestSEC58_StolenCodeTriedFirst(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	code := f.code(sess, codeOpts{client: thSPA, scope: "openid", verifier: thVerifier})
	wantError(t, f.exchange(thSPA, code, "attacker-guess-attacker-guess-attacker-guess-0"), 400, "invalid_grant")
	wantError(t, f.exchange(thSPA, code, thVerifier), 400, "invalid_grant")
	if err := f.sessions.CheckLive(f.ctx, sess.ID); err == nil {
		t.Error("the session of a code redeemed twice is still live")
	}
}
