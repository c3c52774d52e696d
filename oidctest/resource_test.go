package oidctest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/verify"
)

const (
	apiResource     = "https://api.example.test"
	billingResource = "https://billing.example.test"
)

func withResources(cfg *config.Config) { cfg.Resources = []string{apiResource, billingResource} }

// introspect is an RFC 7662 request authenticated with client_secret_basic.
func introspect(t *testing.T, endpoint, id, secret, tok string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", endpoint, strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	m := map[string]any{}
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != 200 {
		t.Fatalf("introspection: %d, %v %v", res.StatusCode, err, m)
	}
	return m
}

func resourceVerifier(t *testing.T, s *Sesame, audience string, clientTokens bool) *verify.Verifier {
	t.Helper()
	v, err := verify.New(verify.Config{JWKSURL: s.URL + oauth.PathJWKS, Issuer: s.URL, Audience: []string{audience},
		AcceptClientTokens: clientTokens})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestResourceServer is the third documented setup: an API verifying
// access tokens asked for it (RFC 8707 resource) with package verify and
// its own URL as audience, or by introspection (RFC 7662). A token for
// one resource is refused by another's verifier (issue 12 §3), an ID
// token is refused as an access token (SEC-59), and a client_credentials
// token passes only a verifier that accepts client tokens.
func TestResourceServer(t *testing.T) {
	t.Parallel()
	s := Start(t, withResources)
	s.User("grace", pw)
	ctx := context.Background()
	cb := callback("api-client")
	id, secret := s.AddClient(oauth.Client{RedirectURIs: []string{cb}, FirstParty: true})
	r := newRP(t, s, id, secret, cb, oidc.ScopeOpenID)
	ag := s.NewAgent()
	ag.Login("grace", pw)
	f := r.authorize(ag, oauth2.SetAuthURLParam("resource", apiResource))
	tok, idt, _ := r.exchange(f)

	at, _ := JWTPart(tok.AccessToken, 1)
	aud, _ := at["aud"].([]any)
	if !slices.Contains(aud, any(apiResource)) || slices.Contains(aud, any(billingResource)) || slices.Contains(aud, any(id)) {
		t.Errorf("access token aud %v: want %s (and the userinfo endpoint), not %s nor the client ID", at["aud"], apiResource, billingResource)
	}

	api := resourceVerifier(t, s, apiResource, false)
	c, err := api.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("the API's verifier refuses a token asked for it: %v", err)
	}
	if c.Subject != idt.Subject || c.ClientID != id {
		t.Errorf("verified claims sub %q client_id %q, want %q %q", c.Subject, c.ClientID, idt.Subject, id)
	}
	if _, err := resourceVerifier(t, s, billingResource, false).Verify(ctx, tok.AccessToken); err == nil {
		t.Error("billing's verifier accepts a token asked for the API")
	}
	if _, err := api.Verify(ctx, tok.Extra("id_token").(string)); err == nil {
		t.Error("the API's verifier accepts an ID token as an access token (SEC-59)")
	}
	// The ID token for the API (aud = its client ID), seen as an ID token
	// by an RP, is not the access token either.
	if _, err := r.verifier.Verify(ctx, tok.AccessToken); err == nil {
		t.Error("go-oidc accepts the access token as the client's ID token (SEC-59: aud must not be the client ID)")
	}

	in := introspect(t, r.meta.Introspection, id, secret, tok.AccessToken)
	if in["active"] != true || in["sub"] != idt.Subject || in["client_id"] != id {
		t.Errorf("introspection of a live token: %v", in)
	}

	// A resource the deployment does not know: invalid_target.
	bad := r.start(ag, oauth2.SetAuthURLParam("resource", "https://unknown.example.test"))
	if bad.query == nil || bad.query.Get("error") != "invalid_target" {
		t.Errorf("unregistered resource: callback %v (%s), want error=invalid_target", bad.query, bad.page)
	}

	// Service to service: client_credentials, sub = client_id, no session.
	svc, svcSecret := s.AddClient(oauth.Client{Name: "worker", GrantTypes: []string{oauth.GrantClientCredentials}})
	cc := clientcredentials.Config{ClientID: svc, ClientSecret: svcSecret, TokenURL: r.meta.Token,
		EndpointParams: url.Values{"resource": {apiResource}}}
	st, err := cc.Token(ctx)
	if err != nil {
		t.Fatalf("client_credentials: %v", err)
	}
	if st.RefreshToken != "" {
		t.Error("client_credentials returned a refresh token")
	}
	if c, err := resourceVerifier(t, s, apiResource, true).Verify(ctx, st.AccessToken); err != nil || c.Subject != svc {
		t.Errorf("verifier accepting client tokens: %+v, %v; want sub %s", c, err, svc)
	}
	if _, err := api.Verify(ctx, st.AccessToken); err == nil {
		t.Error("a verifier without AcceptClientTokens accepts a client_credentials token")
	}

	// The session ends: introspection says inactive at once.
	ag.Logout()
	if in := introspect(t, r.meta.Introspection, id, secret, tok.AccessToken); in["active"] != false {
		t.Errorf("introspection after logout: %v, want active false", in)
	}
}
