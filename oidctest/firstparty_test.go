package oidctest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-auth/sesame/authz"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/oauth"
)

// TestSEC59_OAuthTokensDoNotPassAsFirstParty: what an OAuth client gets at
// /oauth2/token (an access token for a resource or for userinfo, a refresh
// token of its family, a client_credentials token) opens none of Sesame's
// own doors over HTTP: the first-party API (/api/v1/me), the forward-auth
// endpoint that guards the apps behind a proxy, and the first-party refresh
// (/api/v1/token/refresh). A first-party access token, for contrast, passes
// the first two, so the refusals are about the token, not the request.
func TestSEC59_OAuthTokensDoNotPassAsFirstParty(t *testing.T) {
	t.Parallel()
	s := Start(t, withResources, func(c *config.Config) {
		c.AccessRules = []authz.Rule{{Domain: "*", Policy: "authenticated"}}
		c.TrustedProxies = []string{"127.0.0.1/32", "::1/128"}
	})
	s.User("heidi", pw)
	cb := callback("fp")
	id, secret := s.AddClient(oauth.Client{RedirectURIs: []string{cb}, FirstParty: true,
		GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials"}})
	r := newRP(t, s, id, secret, cb, oidc.ScopeOpenID, oidc.ScopeOfflineAccess)
	ag := s.NewAgent()
	ag.Login("heidi", pw)
	plain, _, _ := r.exchange(r.authorize(ag))
	forAPI, _, _ := r.exchange(r.authorize(ag, oauth2.SetAuthURLParam("resource", apiResource)))
	if plain.RefreshToken == "" {
		t.Fatal("no refresh token with offline_access")
	}
	form := "grant_type=client_credentials&resource=" + apiResource
	req, _ := http.NewRequest("POST", s.URL+oauth.PathToken, bytes.NewReader([]byte(form)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ccTok struct {
		AccessToken string `json:"access_token"`
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || json.Unmarshal(raw, &ccTok) != nil || ccTok.AccessToken == "" {
		t.Fatalf("client_credentials: %d %s", res.StatusCode, raw)
	}

	firstParty := firstPartyAccessToken(t, s, "heidi")
	get := func(path, tok string, hdr ...string) int {
		req, _ := http.NewRequest("GET", s.Direct+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	fwd := []string{"X-Original-URL", "http://app.example.test/page", "X-Original-Method", "GET"}
	if got := get("/api/v1/me", firstParty); got != 200 {
		t.Fatalf("a first-party access token at /api/v1/me: %d, want 200 (the harness is wrong)", got)
	}
	if got := get("/api/v1/authz/forward", firstParty, fwd...); got != 200 {
		t.Fatalf("a first-party access token at the forward-auth endpoint: %d, want 200 (the harness is wrong)", got)
	}
	for name, tok := range map[string]string{
		"access token (userinfo audience)":       plain.AccessToken,
		"access token for a registered resource": forAPI.AccessToken,
		"client_credentials token":               ccTok.AccessToken,
		"ID token":                               plain.Extra("id_token").(string),
	} {
		if got := get("/api/v1/me", tok); got != 401 {
			t.Errorf("%s at /api/v1/me: %d, want 401", name, got)
		}
		if got := get("/api/v1/authz/forward", tok, fwd...); got != 401 {
			t.Errorf("%s at the forward-auth endpoint: %d, want 401", name, got)
		}
	}

	body, _ := json.Marshal(map[string]string{"refresh_token": plain.RefreshToken, "client_id": id})
	req, _ = http.NewRequest("POST", s.Direct+"/api/v1/token/refresh", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 401 || bytes.Contains(raw, []byte("access_token")) {
		t.Errorf("the client's refresh token at /api/v1/token/refresh: %d %s, want 401 and no tokens (SEC-58)", res.StatusCode, raw)
	}
	// And the family was not used up there: the client still refreshes.
	if _, err := r.refresh(plain); err != nil {
		t.Errorf("the client's own refresh after the refused first-party attempt: %v", err)
	}
}

// firstPartyAccessToken logs the user in with POST /api/v1/login and the
// header transport.
func firstPartyAccessToken(t *testing.T, s *Sesame, name string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": name, "password": pw, "transport": "header"})
	req, _ := http.NewRequest("POST", s.Direct+"/api/v1/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v struct {
		AccessToken string `json:"access_token"`
	}
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || json.Unmarshal(raw, &v) != nil || v.AccessToken == "" {
		t.Fatalf("login: %d %s", res.StatusCode, raw)
	}
	return v.AccessToken
}
