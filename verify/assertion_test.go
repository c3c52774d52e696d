package verify

import (
	"context"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
)

// assertionAt is a valid assertion for wiki.example.com issued at iat.
func assertionAt(iat time.Time) *Assertion {
	return &Assertion{
		Claims: jose.Claims{Issuer: testIssuer, Subject: "user-1", Audience: jose.Audience{"wiki.example.com"},
			IssuedAt: jose.NewNumericDate(iat), ExpiresAt: jose.NewNumericDate(iat.Add(time.Minute))},
		SessionID: "sid-1", Username: "alice", Groups: []string{"ops"},
	}
}

func signAssertion(t testing.TB, key *jose.Key, a any, typ string) string {
	t.Helper()
	tok, err := jose.SignJWT(key, a, jose.SignOptions{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestVerifyAssertion: an assertion verifies for its own audience only, an
// access token is never an assertion and an assertion never an access
// token (typ, SEC-20 and SEC-59's confusion), and expiry, issuer, signer
// and revocation are checked as for access tokens.
func TestVerifyAssertion(t *testing.T) {
	is := newIssuer(t)
	clock := testclock.New(t0)
	f := newFeed(t)
	v := newVerifier(t, is, clock, followFeed(f, func(rc *RevocationConfig) { rc.TrustTokensIssuedBeforePrime = true }))
	ctx := context.Background()
	good := signAssertion(t, is.key, assertionAt(t0), AssertionType)

	a, err := v.VerifyAssertion(ctx, good, "wiki.example.com")
	if err != nil {
		t.Fatalf("VerifyAssertion: %v", err)
	}
	if a.Subject != "user-1" || a.SessionID != "sid-1" || a.Username != "alice" || len(a.Groups) != 1 || a.Groups[0] != "ops" {
		t.Errorf("got %+v", a)
	}

	_, otherKey := newECKey(t, "key-1") // same kid, another key: a forgery
	noSid := assertionAt(t0)
	noSid.SessionID = ""
	wrongIss := assertionAt(t0)
	wrongIss.Issuer = "https://evil.example"
	for _, c := range []struct {
		name, token, aud string
	}{
		{"another audience", good, "grafana.example.com"},
		{"the audience's parent domain", good, "example.com"},
		{"no audience asked", good, ""},
		{"an access token as an assertion", is.token(func(c *Claims) { c.Audience = jose.Audience{"wiki.example.com"} }), "wiki.example.com"},
		{"typ JWT", signAssertion(t, is.key, assertionAt(t0), "JWT"), "wiki.example.com"},
		{"forged signature", signAssertion(t, otherKey, assertionAt(t0), AssertionType), "wiki.example.com"},
		{"another issuer", signAssertion(t, is.key, wrongIss, AssertionType), "wiki.example.com"},
		{"no sid", signAssertion(t, is.key, noSid, AssertionType), "wiki.example.com"},
		{"expired", signAssertion(t, is.key, assertionAt(t0.Add(-time.Minute)), AssertionType), "wiki.example.com"},
	} {
		if _, err := v.VerifyAssertion(ctx, c.token, c.aud); sesame.ErrorCode(err) != sesame.EUnauthenticated {
			t.Errorf("%s: got %v, want 401", c.name, err)
		}
	}

	// An assertion is not an access token, even for an audience the
	// verifier accepts.
	asAccess := assertionAt(t0)
	asAccess.Audience = jose.Audience{testAudience}
	if _, err := v.Verify(ctx, signAssertion(t, is.key, asAccess, AssertionType)); err == nil {
		t.Error("Verify accepted an assertion as an access token")
	}

	// A revoked session's assertion is refused once the feed lists it.
	f.revoke("sid-1", t0)
	if err := v.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyAssertion(ctx, good, "wiki.example.com"); sesame.ErrorCode(err) != sesame.EUnauthenticated {
		t.Errorf("revoked session: got %v, want 401", err)
	}
}
