package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/authz"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/verify"
)

// assertionVerifier is an upstream's verifier of e's assertions, from e's
// JWKS.
func assertionVerifier(t *testing.T, e *env) *verify.Verifier {
	t.Helper()
	v, err := verify.New(verify.Config{JWKSURL: e.srv.URL + "/.well-known/jwks.json", Issuer: "https://sesame.test",
		Audience: []string{"https://sesame.test"}, HTTPClient: e.srv.Client(), Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// jwksKey is the ES256 public key of e's JWKS, for golang-jwt.
func jwksKey(t *testing.T, e *env) (*ecdsa.PublicKey, string) {
	t.Helper()
	var set struct{ Keys []map[string]string }
	c := e.client()
	c.want(c.do("GET", "/.well-known/jwks.json", nil), 200).json(t, &set)
	// The ES256 key signs (the first of signing_algs); the RS256 key, for
	// ID tokens, is published beside it.
	set.Keys = slices.DeleteFunc(set.Keys, func(k map[string]string) bool { return k["alg"] != "ES256" })
	if len(set.Keys) != 1 || set.Keys[0]["crv"] != "P-256" {
		t.Fatalf("JWKS: %v", set.Keys)
	}
	xb, _ := base64.RawURLEncoding.DecodeString(set.Keys[0]["x"])
	yb, _ := base64.RawURLEncoding.DecodeString(set.Keys[0]["y"])
	return &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(xb), Y: new(big.Int).SetBytes(yb)}, set.Keys[0]["kid"]
}

// TestForwardAssertion: with forward_assertion, an allowed answer for a
// signed-in caller carries Sesame-Assertion, a JWT of type
// sesame-assertion+jwt for the upstream's host (aud, no port), signed
// with the deployment's keys: it verifies with verify.VerifyAssertion and
// with golang-jwt against the JWKS, fails for another audience, expires
// after 60 s, and neither an access token nor the assertion stands in for
// the other.
func TestForwardAssertion(t *testing.T) {
	e := newForwardEnv(t, func(c *config.Config) { c.ForwardAssertion = true })
	alice, _, aliceToken := forwardCallers(e)
	ctx := context.Background()
	r := e.forward(proxyPeer, join(alice, nginxHeaders("GET", "https://Wiki.Example.com:8443/page"))...)
	tok := r.Header().Get("Sesame-Assertion")
	if r.Code != 200 || tok == "" {
		t.Fatalf("got %d, assertion %q: want 200 with an assertion", r.Code, tok)
	}

	v := assertionVerifier(t, e)
	a, err := v.VerifyAssertion(ctx, tok, "wiki.example.com")
	if err != nil {
		t.Fatalf("VerifyAssertion: %v", err)
	}
	if a.Username != "alice" || a.Subject == "" || a.SessionID == "" || a.Groups == nil || a.Issuer != "https://sesame.test" {
		t.Errorf("claims: %+v", a)
	}
	if got := a.ExpiresAt.Sub(a.IssuedAt.Time); got != 60*time.Second {
		t.Errorf("lifetime: got %s, want 60s", got)
	}
	for _, aud := range []string{"grafana.example.com", "wiki.example.com:8443", "example.com", "https://sesame.test"} {
		if _, err := v.VerifyAssertion(ctx, tok, aud); sesame.ErrorCode(err) != sesame.EUnauthenticated {
			t.Errorf("audience %q: got %v, want 401", aud, err)
		}
	}
	if _, err := v.Verify(ctx, tok); err == nil {
		t.Error("the assertion verified as an access token")
	}
	if _, err := v.VerifyAssertion(ctx, aliceToken, "https://sesame.test"); err == nil {
		t.Error("an access token verified as an assertion")
	}
	e.clock.Add(60 * time.Second)
	if _, err := v.VerifyAssertion(ctx, tok, "wiki.example.com"); sesame.ErrorCode(err) != sesame.EUnauthenticated {
		t.Errorf("after 60 s: got %v, want 401 (expired)", err)
	}
	e.clock.Add(-60 * time.Second)

	// golang-jwt, against the JWKS.
	pub, kid := jwksKey(t, e)
	parse := func(aud string) (jwt.MapClaims, error) {
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) {
			if tk.Header["kid"] != kid || tk.Header["typ"] != verify.AssertionType {
				t.Errorf("header: %v", tk.Header)
			}
			return pub, nil
		}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer("https://sesame.test"), jwt.WithAudience(aud),
			jwt.WithExpirationRequired(), jwt.WithTimeFunc(e.clock.Now))
		return claims, err
	}
	claims, err := parse("wiki.example.com")
	if err != nil {
		t.Fatalf("golang-jwt: %v", err)
	}
	if claims["preferred_username"] != "alice" || claims["sid"] != a.SessionID || claims["sub"] != a.Subject {
		t.Errorf("golang-jwt claims: %v", claims)
	}
	if _, err := parse("grafana.example.com"); err == nil {
		t.Error("golang-jwt: another audience verified")
	}

	// A group member's groups are in the assertion.
	r = e.forward(proxyPeer, join(opsCaller(e), nginxHeaders("GET", "https://wiki.example.com/ops"))...)
	if a, err := v.VerifyAssertion(ctx, r.Header().Get("Sesame-Assertion"), "wiki.example.com"); err != nil || a.Username != "olivia" || strings.Join(a.Groups, ",") != "ops,wiki-editors" {
		t.Errorf("group member's assertion: %+v, %v", a, err)
	}

	// A Bearer caller gets one too; an anonymous caller on a bypass rule
	// none.
	r = e.forward(proxyPeer, join([]string{"Authorization", "Bearer " + aliceToken}, caddyHeaders("GET", "https", "grafana.example.com", "/"))...)
	if _, err := v.VerifyAssertion(ctx, r.Header().Get("Sesame-Assertion"), "grafana.example.com"); r.Code != 200 || err != nil {
		t.Errorf("bearer: got %d, %v", r.Code, err)
	}
	r = e.forward(proxyPeer, nginxHeaders("GET", "https://wiki.example.com/static/x")...)
	if r.Code != 200 || r.Header().Get("Sesame-Assertion") != "" {
		t.Errorf("anonymous bypass: got %d, assertion %q, want 200 without one", r.Code, r.Header().Get("Sesame-Assertion"))
	}
}

// TestForwardAssertionSessionEnd: an assertion never outlives its session.
func TestForwardAssertionSessionEnd(t *testing.T) {
	e := newForwardEnv(t, func(c *config.Config) {
		c.ForwardAssertion, c.IdleTimeout, c.Lifetime = true, 30*time.Second, 40*time.Second
	})
	alice, _, _ := forwardCallers(e)
	e.clock.Add(25 * time.Second)
	r := e.forward(proxyPeer, join(alice, nginxHeaders("GET", "https://wiki.example.com/page"))...)
	a, err := assertionVerifier(t, e).VerifyAssertion(context.Background(), r.Header().Get("Sesame-Assertion"), "wiki.example.com")
	if err != nil {
		t.Fatalf("got %d, %v", r.Code, err)
	}
	if got := a.ExpiresAt.Sub(a.IssuedAt.Time); got != 15*time.Second {
		t.Errorf("lifetime: got %s, want 15s (the session's remaining lifetime)", got)
	}
}

// TestForwardNoAssertionByDefault: without forward_assertion, no
// Sesame-Assertion.
func TestForwardNoAssertionByDefault(t *testing.T) {
	e := newForwardEnv(t, nil)
	alice, _, _ := forwardCallers(e)
	r := e.forward(proxyPeer, join(alice, nginxHeaders("GET", "https://wiki.example.com/page"))...)
	if r.Code != 200 || len(r.Header().Values("Sesame-Assertion")) != 0 {
		t.Errorf("got %d, assertion %q, want 200 without one", r.Code, r.Header().Values("Sesame-Assertion"))
	}
}

// TestForwardAssertionPerRule: without forward_assertion, only the answers
// of a rule with assertion: true carry one.
func TestForwardAssertionPerRule(t *testing.T) {
	e := newForwardEnv(t, func(c *config.Config) {
		c.AccessRules = []authz.Rule{
			{Domain: "grafana.example.com", Policy: "authenticated", Assertion: true},
			{Domain: "*.example.com", Policy: "authenticated"},
		}
	})
	alice, _, _ := forwardCallers(e)
	r := e.forward(proxyPeer, join(alice, nginxHeaders("GET", "https://grafana.example.com/d"))...)
	if _, err := assertionVerifier(t, e).VerifyAssertion(context.Background(), r.Header().Get("Sesame-Assertion"), "grafana.example.com"); r.Code != 200 || err != nil {
		t.Errorf("rule with assertion: got %d, %v", r.Code, err)
	}
	r = e.forward(proxyPeer, join(alice, nginxHeaders("GET", "https://wiki.example.com/d"))...)
	if r.Code != 200 || len(r.Header().Values("Sesame-Assertion")) != 1 || r.Header().Get("Sesame-Assertion") != "" {
		t.Errorf("rule without: got %d, assertion %q, want 200 with an empty one", r.Code, r.Header().Values("Sesame-Assertion"))
	}
}
