package server_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sesame-auth/sesame/verify"
)

// Another Go service verifies Sesame's access tokens with package verify,
// from the server's real JWKS, and follows its revocation feed: a logout on
// Sesame is rejected by the service after its next sync.
func TestVerifyFollowsSesame(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.origin = ""
	c.signup("alice", pw)
	p := c.loginHeader("alice", pw)
	v, err := verify.New(verify.Config{
		JWKSURL:    e.srv.URL + "/.well-known/jwks.json",
		Issuer:     "https://sesame.test",
		Audience:   []string{"https://sesame.test"},
		HTTPClient: e.srv.Client(),
		Clock:      e.clock,
		Revocations: &verify.RevocationConfig{
			URL:                          e.srv.URL + "/api/v1/revocations",
			TrustTokensIssuedBeforePrime: true, // Sesame lists its retained revocations at since=0
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	claims, err := v.Verify(ctx, p.AccessToken)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if claims.Subject == "" || claims.SessionID == "" || claims.ClientID != "sesame" {
		t.Fatalf("claims: %+v", claims)
	}
	c.want(c.do("POST", "/api/v1/logout", nil, "Authorization", "Bearer "+p.AccessToken), 204)
	if err := v.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, p.AccessToken); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("after logout on Sesame: got %v, want verify.ErrRevoked", err)
	}
	// A verifier started after the revocation learns it from since=0.
	late, err := verify.New(verify.Config{JWKSURL: e.srv.URL + "/.well-known/jwks.json", Issuer: "https://sesame.test",
		Audience: []string{"https://sesame.test"}, HTTPClient: e.srv.Client(), Clock: e.clock,
		Revocations: &verify.RevocationConfig{URL: e.srv.URL + "/api/v1/revocations", TrustTokensIssuedBeforePrime: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := late.Verify(ctx, p.AccessToken); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("a verifier started after the logout: got %v, want verify.ErrRevoked", err)
	}
}
