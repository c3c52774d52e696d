package oidctest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/oauth"
)

const pw = "correct horse battery staple"

// callback is a relying party's redirect URI that nobody serves: the
// agent stops before requesting it and hands its query to the test.
func callback(name string) string { return "http://127.0.0.1:1/" + name + "/callback" }

// discovery is the part of the provider metadata these tests read.
type discovery struct {
	Issuer              string   `json:"issuer"`
	Authorization       string   `json:"authorization_endpoint"`
	Token               string   `json:"token_endpoint"`
	Userinfo            string   `json:"userinfo_endpoint"`
	JWKS                string   `json:"jwks_uri"`
	Revocation          string   `json:"revocation_endpoint"`
	Introspection       string   `json:"introspection_endpoint"`
	EndSession          string   `json:"end_session_endpoint"`
	CodeChallenge       []string `json:"code_challenge_methods_supported"`
	IDTokenAlgs         []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypes       []string `json:"response_types_supported"`
	AuthResponseIss     bool     `json:"authorization_response_iss_parameter_supported"`
	BackchannelLogout   bool     `json:"backchannel_logout_supported"`
	BackchannelSession  bool     `json:"backchannel_logout_session_supported"`
	TokenAuthMethods    []string `json:"token_endpoint_auth_methods_supported"`
	ScopesSupported     []string `json:"scopes_supported"`
	GrantTypesSupported []string `json:"grant_types_supported"`
}

// goRP is one relying party built on go-oidc and x/oauth2 against s.
type goRP struct {
	t        *testing.T
	s        *Sesame
	provider *oidc.Provider
	meta     discovery
	conf     *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newRP(t *testing.T, s *Sesame, id, secret, redirect string, scopes ...string) *goRP {
	t.Helper()
	provider, err := oidc.NewProvider(context.Background(), s.URL) // discovery; go-oidc checks its issuer is s.URL
	if err != nil {
		t.Fatalf("go-oidc discovery at %s: %v", s.URL, err)
	}
	r := &goRP{t: t, s: s, provider: provider}
	if err := provider.Claims(&r.meta); err != nil {
		t.Fatal(err)
	}
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "profile", "groups"}
	}
	r.conf = &oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: redirect, Scopes: scopes}
	r.verifier = provider.Verifier(&oidc.Config{ClientID: id})
	return r
}

// flow is one authorization: the code flow with PKCE S256, state and nonce.
type flow struct {
	state, nonce, verifier string
	query                  url.Values // the callback's
	page                   *Page
}

// authorize runs the front channel in the agent and checks what the
// callback got: state back, iss (RFC 9207), a code.
func (r *goRP) authorize(ag *Agent, opts ...oauth2.AuthCodeOption) *flow {
	r.t.Helper()
	f := r.start(ag, opts...)
	if f.query == nil {
		r.t.Fatalf("authorization did not come back to %s: ended %s", r.conf.RedirectURL, f.page)
	}
	if e := f.query.Get("error"); e != "" {
		r.t.Fatalf("authorization error %s: %s", e, f.query.Get("error_description"))
	}
	if got := f.query.Get("state"); got != f.state {
		r.t.Errorf("callback state %q, want %q", got, f.state)
	}
	if got := f.query.Get("iss"); got != r.s.URL {
		r.t.Errorf("callback iss %q, want %q (RFC 9207)", got, r.s.URL)
	}
	if f.query.Get("code") == "" {
		r.t.Fatalf("callback without code: %v", f.query)
	}
	return f
}

// start is authorize without the checks.
func (r *goRP) start(ag *Agent, opts ...oauth2.AuthCodeOption) *flow {
	r.t.Helper()
	f := &flow{state: rand.Text(), nonce: rand.Text(), verifier: oauth2.GenerateVerifier()}
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier), oidc.Nonce(f.nonce)}, opts...)
	f.query, f.page = ag.Authorize(r.conf.AuthCodeURL(f.state, opts...), r.conf.RedirectURL)
	return f
}

// exchange redeems the flow's code and verifies the ID token: signature
// (JWKS), iss, aud, exp, nonce, at_hash.
func (r *goRP) exchange(f *flow) (*oauth2.Token, *oidc.IDToken, idClaims) {
	r.t.Helper()
	ctx := context.Background()
	tok, err := r.conf.Exchange(ctx, f.query.Get("code"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		r.t.Fatalf("code exchange: %v", err)
	}
	idt, c := r.verifyID(tok)
	if idt.Nonce != f.nonce {
		r.t.Errorf("ID token nonce %q, want %q", idt.Nonce, f.nonce)
	}
	return tok, idt, c
}

type idClaims struct {
	Sub      string   `json:"sub"`
	Sid      string   `json:"sid"`
	AuthTime int64    `json:"auth_time"`
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
	AZP      string   `json:"azp"`
	Nonce    *string  `json:"nonce"`
	AtHash   string   `json:"at_hash"`
}

// verifyID verifies the token response's ID token with go-oidc and checks
// at_hash against the access token (SEC-59: the two are bound).
func (r *goRP) verifyID(tok *oauth2.Token) (*oidc.IDToken, idClaims) {
	r.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		r.t.Fatal("token response without id_token")
	}
	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		r.t.Fatalf("go-oidc refuses the ID token: %v", err)
	}
	if idt.AccessTokenHash == "" {
		r.t.Error("ID token without at_hash")
	} else if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		r.t.Errorf("at_hash does not match the access token: %v", err)
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		r.t.Fatal(err)
	}
	return idt, c
}

// refresh uses x/oauth2's TokenSource on an expired copy of tok, as an RP
// does when its access token runs out.
func (r *goRP) refresh(tok *oauth2.Token) (*oauth2.Token, error) {
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	return r.conf.TokenSource(context.Background(), &expired).Token()
}

func wantOAuthError(t *testing.T, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want an OAuth error %s", err, code)
	}
	if re.ErrorCode != code {
		t.Errorf("got error %q (%d %s), want %s", re.ErrorCode, re.Response.StatusCode, re.Body, code)
	}
}

// revoke is an RFC 7009 request with client_secret_basic, as an RP sends
// it (x/oauth2 has no revocation client).
func (r *goRP) revoke(tok, hint string) (int, string) {
	r.t.Helper()
	form := url.Values{"token": {tok}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	req, _ := http.NewRequest("POST", r.meta.Revocation, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(r.conf.ClientID), url.QueryEscape(r.conf.ClientSecret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// userinfo asks the userinfo endpoint with go-oidc.
func (r *goRP) userinfo(tok *oauth2.Token) (*oidc.UserInfo, map[string]any, error) {
	ui, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, nil, err
	}
	m := map[string]any{}
	return ui, m, ui.Claims(&m)
}

func TestGoOIDCDiscovery(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRP(t, s, "any", "", callback("disc"))
	m := r.meta
	if m.Issuer != s.URL {
		t.Errorf("issuer %q, want %q", m.Issuer, s.URL)
	}
	for name, v := range map[string]string{"authorization": m.Authorization, "token": m.Token, "userinfo": m.Userinfo,
		"jwks_uri": m.JWKS, "revocation": m.Revocation, "introspection": m.Introspection, "end_session": m.EndSession} {
		if !strings.HasPrefix(v, s.URL+"/") {
			t.Errorf("%s endpoint %q is not under the issuer %s", name, v, s.URL)
		}
	}
	if !slices.Contains(m.CodeChallenge, "S256") || slices.Contains(m.CodeChallenge, "plain") {
		t.Errorf("code_challenge_methods_supported %v, want S256 and never plain (RFC 9700)", m.CodeChallenge)
	}
	for _, alg := range []string{"RS256", "ES256"} {
		if !slices.Contains(m.IDTokenAlgs, alg) {
			t.Errorf("id_token_signing_alg_values_supported %v lacks %s", m.IDTokenAlgs, alg)
		}
	}
	if !m.AuthResponseIss {
		t.Error("authorization_response_iss_parameter_supported is not true (RFC 9207)")
	}
	if !m.BackchannelLogout || !m.BackchannelSession {
		t.Errorf("backchannel_logout_supported %v, backchannel_logout_session_supported %v: want both true", m.BackchannelLogout, m.BackchannelSession)
	}
	for _, a := range []string{oauth.AuthClientSecretBasic, oauth.AuthClientSecretPost, oauth.AuthPrivateKeyJWT, oauth.AuthNone} {
		if !slices.Contains(m.TokenAuthMethods, a) {
			t.Errorf("token_endpoint_auth_methods_supported %v lacks %s", m.TokenAuthMethods, a)
		}
	}
	// The RFC 8414 document is the same.
	res, err := http.Get(s.URL + oauth.PathASMetadata)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("GET %s: %d, want 200", oauth.PathASMetadata, res.StatusCode)
	}
}

// TestGoOIDCCodeFlowRefreshRevoke is the whole life of a confidential
// client's grant with go-oidc and x/oauth2: code + PKCE S256, the ID token
// verified (nonce, at_hash: SEC-58, SEC-59), userinfo, refresh with a new
// ID token, revocation (RFC 7009), and the revoked refresh token refused.
func TestGoOIDCCodeFlowRefreshRevoke(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.User("alice", pw)
	cb := callback("app")
	id, secret := s.AddClient(oauth.Client{RedirectURIs: []string{cb}, FirstParty: true})
	r := newRP(t, s, id, secret, cb, oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess)
	ag := s.NewAgent()
	ag.Login("alice", pw)

	f := r.authorize(ag)
	tok, idt, c := r.exchange(f)
	if h, _ := JWTPart(tok.Extra("id_token").(string), 0); h["typ"] != "JWT" || h["alg"] != "RS256" {
		t.Errorf("ID token header %v, want typ JWT, alg RS256 (the default, OIDC Core §15.1)", h)
	}
	if h, _ := JWTPart(tok.AccessToken, 0); h["typ"] != "at+jwt" {
		t.Errorf("access token header %v, want typ at+jwt (RFC 9068; SEC-59)", h)
	}
	if at, _ := JWTPart(tok.AccessToken, 1); at != nil {
		if aud, _ := at["aud"].([]any); slices.Contains(aud, any(id)) || at["aud"] == id {
			t.Errorf("access token aud %v contains the client ID: it could pass for an ID token (SEC-59)", at["aud"])
		}
	}
	if c.Sid == "" || c.AuthTime == 0 || c.ACR != "1" || !slices.Contains(c.AMR, "pwd") {
		t.Errorf("ID token claims %+v: want sid, auth_time, acr 1, amr [pwd]", c)
	}
	if tok.TokenType != "Bearer" && tok.TokenType != "bearer" {
		t.Errorf("token_type %q, want Bearer", tok.TokenType)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token (the client may use refresh_token by default)")
	}

	ui, claims, err := r.userinfo(tok)
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if ui.Subject != idt.Subject {
		t.Errorf("userinfo sub %q, ID token sub %q", ui.Subject, idt.Subject)
	}
	if claims["preferred_username"] != "alice" {
		t.Errorf("userinfo %v: want preferred_username alice (scope profile)", claims)
	}

	tok2, err := r.refresh(tok)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok2.AccessToken == tok.AccessToken {
		t.Error("refresh returned the same access token")
	}
	idt2, c2 := r.verifyID(tok2) // OIDC Core §12.2: a new ID token
	if idt2.Subject != idt.Subject || c2.Sid != c.Sid {
		t.Errorf("refreshed ID token sub %q sid %q, want %q %q", idt2.Subject, c2.Sid, idt.Subject, c.Sid)
	}
	if c2.Nonce != nil {
		t.Errorf("refreshed ID token carries nonce %q (OIDC Core §12.2: none)", *c2.Nonce)
	}
	live := tok2.RefreshToken
	if live == "" {
		live = tok.RefreshToken
	}

	// RFC 7009: an unknown token is answered 200 too.
	if st, b := r.revoke("not-a-token", "refresh_token"); st != 200 {
		t.Errorf("revoke an unknown token: %d %s, want 200 (RFC 7009 §2.2)", st, b)
	}
	if st, b := r.revoke(live, "refresh_token"); st != 200 {
		t.Fatalf("revoke: %d %s, want 200", st, b)
	}
	_, err = r.refresh(&oauth2.Token{AccessToken: tok2.AccessToken, RefreshToken: live})
	wantOAuthError(t, err, "invalid_grant")
}

// TestGoOIDCSSOAndEndSession signs in once and gets codes for two clients
// (single sign-on: no second login), then ends the session at the
// end_session_endpoint: both clients' refresh tokens and access tokens
// die with it, and the client registered for back-channel logout gets a
// logout token that verifies with the JWKS.
func TestGoOIDCSSOAndEndSession(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.User("bob", pw)
	recv := NewLogoutReceiver(t)
	cbA, cbB := callback("a"), callback("b")
	afterLogout := "http://127.0.0.1:1/a/bye"
	idA, secA := s.AddClient(oauth.Client{Name: "App A", RedirectURIs: []string{cbA}, PostLogoutRedirectURIs: []string{afterLogout},
		BackchannelLogoutURI: recv.URL, FirstParty: true})
	idB, secB := s.AddClient(oauth.Client{Name: "App B", RedirectURIs: []string{cbB}, FirstParty: true})
	a := newRP(t, s, idA, secA, cbA)
	b := newRP(t, s, idB, secB, cbB)
	ag := s.NewAgent()
	ag.Login("bob", pw)

	tokA, idtA, cA := a.exchange(a.authorize(ag))
	fB := b.authorize(ag)
	if fB.page.VisitedPath("/login") {
		t.Errorf("the second client's authorization went through the login page: %v", fB.page.Visited)
	}
	tokB, idtB, cB := b.exchange(fB)
	if idtA.Subject != idtB.Subject || cA.Sid != cB.Sid {
		t.Errorf("two clients, one session: sub %q/%q sid %q/%q", idtA.Subject, idtB.Subject, cA.Sid, cB.Sid)
	}
	if _, _, err := a.userinfo(tokA); err != nil {
		t.Fatalf("userinfo before logout: %v", err)
	}

	// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
	state := rand.Text()
	q := url.Values{"id_token_hint": {tokA.Extra("id_token").(string)}, "post_logout_redirect_uri": {afterLogout},
		"state": {state}, "client_id": {idA}}
	back, page := ag.Authorize(a.meta.EndSession+"?"+q.Encode(), afterLogout)
	if back == nil && page.Status == 200 { // a confirmation page: the user confirms
		var err error
		back, page, err = ag.SubmitForm(page, oauth.PathEndSession, nil, afterLogout)
		if err != nil {
			t.Fatalf("end session page: %v\n%s", err, page)
		}
	}
	if back == nil {
		t.Fatalf("end session did not come back to %s: %s", afterLogout, page)
	}
	if back.Get("state") != state {
		t.Errorf("post-logout redirect state %q, want %q", back.Get("state"), state)
	}

	for name, x := range map[string]struct {
		r   *goRP
		tok *oauth2.Token
	}{"A": {a, tokA}, "B": {b, tokB}} {
		_, err := x.r.refresh(x.tok)
		wantOAuthError(t, err, "invalid_grant")
		if _, _, err := x.r.userinfo(x.tok); err == nil {
			t.Errorf("client %s: userinfo still answers with an access token of the ended session", name)
		}
	}

	got := recv.Wait(1, 30*time.Second)
	if len(got) != 1 {
		t.Fatalf("back-channel logout: %d logout tokens, want 1", len(got))
	}
	checkLogoutToken(t, a, got[0], cA.Sid, idtA.Subject)
}

// checkLogoutToken verifies a logout token as an RP must (OpenID Connect
// Back-Channel Logout 1.0 §2.6): signature with the JWKS, iss, aud, iat,
// exp, typ logout+jwt, the event, sid, no nonce.
func checkLogoutToken(t *testing.T, r *goRP, raw, sid, sub string) {
	t.Helper()
	lt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("logout token does not verify with the JWKS: %v", err)
	}
	h, _ := JWTPart(raw, 0)
	if h["typ"] != "logout+jwt" {
		t.Errorf("logout token typ %v, want logout+jwt", h["typ"])
	}
	var c struct {
		Sid    string                    `json:"sid"`
		Sub    string                    `json:"sub"`
		JTI    string                    `json:"jti"`
		Iat    int64                     `json:"iat"`
		Events map[string]map[string]any `json:"events"`
		Nonce  *string                   `json:"nonce"`
	}
	if err := lt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if c.Sid != sid || c.Sub != sub {
		t.Errorf("logout token sid %q sub %q, want %q %q", c.Sid, c.Sub, sid, sub)
	}
	if _, ok := c.Events["http://schemas.openid.net/event/backchannel-logout"]; !ok {
		t.Errorf("logout token events %v lack the back-channel logout event", c.Events)
	}
	if c.Nonce != nil || c.JTI == "" || c.Iat == 0 {
		t.Errorf("logout token nonce %v jti %q iat %d: want no nonce, a jti and iat", c.Nonce, c.JTI, c.Iat)
	}
}

// TestGoOIDCPublicClientPKCE: a public client (no secret) gets tokens with
// PKCE S256 and is refused without it or with plain (RFC 9700; SEC-58).
func TestGoOIDCPublicClientPKCE(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.User("carol", pw)
	cb := callback("spa")
	id, _ := s.AddClient(oauth.Client{Public: true, RedirectURIs: []string{cb}, FirstParty: true})
	r := newRP(t, s, id, "", cb)
	r.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	ag := s.NewAgent()
	ag.Login("carol", pw)
	r.exchange(r.authorize(ag))

	for name, params := range map[string]url.Values{
		"no PKCE": {},
		"plain":   {"code_challenge": {"abcdefghijabcdefghijabcdefghijabcdefghij123"}, "code_challenge_method": {"plain"}},
	} {
		q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {cb}, "scope": {"openid"}, "state": {"s1"}}
		for k, v := range params {
			q[k] = v
		}
		back, page := ag.Authorize(r.meta.Authorization+"?"+q.Encode(), cb)
		if back == nil {
			t.Errorf("%s: no redirect to the client: %s", name, page)
			continue
		}
		if back.Get("error") != "invalid_request" || back.Get("code") != "" || back.Get("state") != "s1" || back.Get("iss") != s.URL {
			t.Errorf("%s: callback %v, want error=invalid_request with state and iss, no code", name, back)
		}
	}
}

// TestGoOIDCConsent: a client that is not first-party shows the consent
// page; a refusal is access_denied at the client, an approval a code, and
// the next authorization needs no consent again.
func TestGoOIDCConsent(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.User("dave", pw)
	cb := callback("thirdparty")
	id, secret := s.AddClient(oauth.Client{Name: "Third Party", RedirectURIs: []string{cb}})
	r := newRP(t, s, id, secret, cb, oidc.ScopeOpenID, "profile")
	ag := s.NewAgent()
	ag.Login("dave", pw)

	f := r.start(ag)
	if f.query != nil || f.page.Status != 200 || !strings.Contains(f.page.Body, "Third Party") {
		t.Fatalf("want the consent page naming the client, got callback %v, %s", f.query, f.page)
	}
	q, page := ag.Consent(f.page, false, cb)
	if q == nil || q.Get("error") != "access_denied" || q.Get("state") != f.state || q.Get("code") != "" {
		t.Fatalf("refused consent: callback %v (%s), want error=access_denied with the state", q, page)
	}

	f = r.start(ag)
	if f.query != nil {
		t.Fatalf("after a refusal, want the consent page again; got callback %v", f.query)
	}
	f.query, f.page = ag.Consent(f.page, true, cb)
	if f.query == nil || f.query.Get("code") == "" || f.query.Get("state") != f.state {
		t.Fatalf("approved consent: callback %v (%s)", f.query, f.page)
	}
	r.exchange(f)

	f = r.start(ag)
	if f.query == nil || f.query.Get("code") == "" {
		t.Errorf("a granted consent is asked again: %s", f.page)
	}
}

// TestGoOIDCPrompts: prompt=none without a session comes back to the
// client as login_required (never a page: SEC-58 list); prompt=login with
// a session shows the login page; an ES256 client's ID tokens verify with
// go-oidc too.
func TestGoOIDCPrompts(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.User("heidi", pw)
	cb := callback("prompts")
	id, secret := s.AddClient(oauth.Client{RedirectURIs: []string{cb}, FirstParty: true, IDTokenAlg: "ES256"})
	r := newRP(t, s, id, secret, cb)
	ag := s.NewAgent()

	f := r.start(ag, oauth2.SetAuthURLParam("prompt", "none"))
	if f.query == nil || f.query.Get("error") != "login_required" || f.query.Get("state") != f.state || f.query.Get("iss") != s.URL {
		t.Errorf("prompt=none without a session: callback %v (%s), want error=login_required with state and iss", f.query, f.page)
	}

	ag.Login("heidi", pw)
	tok, _, _ := r.exchange(r.authorize(ag, oauth2.SetAuthURLParam("prompt", "none")))
	if h, _ := JWTPart(tok.Extra("id_token").(string), 0); h["alg"] != "ES256" {
		t.Errorf("ID token alg %v, want the client's ES256", h["alg"])
	}

	f = r.start(ag, oauth2.SetAuthURLParam("prompt", "login"))
	if f.query != nil || f.page.Status != 200 || f.page.URL.Path != "/login" {
		t.Errorf("prompt=login with a session: want the login page, got callback %v, %s", f.query, f.page)
	}
}

// TestGoOIDCCodeReuse: x/oauth2 redeeming a code a second time gets
// invalid_grant, and the tokens of the first redemption die with the
// session the code came from (RFC 6749 §4.1.2; SEC-58).
func TestGoOIDCCodeReuse(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.User("ivan", pw)
	cb := callback("reuse")
	id, secret := s.AddClient(oauth.Client{RedirectURIs: []string{cb}, FirstParty: true})
	r := newRP(t, s, id, secret, cb)
	ag := s.NewAgent()
	ag.Login("ivan", pw)
	f := r.authorize(ag)
	tok, _, _ := r.exchange(f)
	_, err := r.conf.Exchange(context.Background(), f.query.Get("code"), oauth2.VerifierOption(f.verifier))
	wantOAuthError(t, err, "invalid_grant")
	_, err = r.refresh(tok)
	wantOAuthError(t, err, "invalid_grant")
	if _, _, err := r.userinfo(tok); err == nil {
		t.Error("the first redemption's access token still works at userinfo after the code's reuse")
	}
}

// TestConfiguredClient: a client of the configuration file (key clients,
// its secret given as a SHA-256) signs in like a stored one.
func TestConfiguredClient(t *testing.T) {
	t.Parallel()
	cb := callback("configured")
	secret := rand.Text() + rand.Text()
	s := Start(t, func(cfg *config.Config) {
		cfg.Clients = []config.Client{{ID: "wiki", Name: "Wiki", SecretSHA256: hex.EncodeToString(oauth.HashSecret(secret)),
			RedirectURIs: []string{cb}, FirstParty: true}}
	})
	s.User("kim", pw)
	r := newRP(t, s, "wiki", secret, cb)
	ag := s.NewAgent()
	ag.Login("kim", pw)
	tok, _, _ := r.exchange(r.authorize(ag))
	if _, err := r.refresh(tok); err != nil {
		t.Errorf("refresh: %v", err)
	}
}
