package proxytest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/verify"
)

// SEC-57 with forward_assertion on, through nginx (whose documented file
// passes Sesame-Assertion; the Caddyfile lists it only once the operator
// turns the assertion on): the app gets Sesame's signed assertion, never
// a client's, and it verifies against Sesame's JWKS for the app's host
// name as audience, and not for another one.
func TestSEC57_AssertionThroughNginx(t *testing.T) {
	e := newEnv(t, "nginx", func(c *config.Config) { c.ForwardAssertion = true })
	e.user("bob", bobPW)
	cookie := e.login("bob", bobPW, "session")
	a := e.do("GET", "/wiki/page", hdrs(api, cookieHeader(cookie), []string{"Sesame-Assertion", "forged.jwt.value"})...)
	if a.status != 200 || a.reached == nil {
		t.Fatalf("got %d, want 200 from the app", a.status)
	}
	got := a.reached.Identity["Sesame-Assertion"]
	if len(got) != 1 || strings.Contains(got[0], "forged") {
		t.Fatalf("the app got Sesame-Assertion %q, want Sesame's one assertion", got)
	}

	v, err := verify.New(verify.Config{JWKSURL: e.direct + "/.well-known/jwks.json", Issuer: e.sesame, Audience: []string{e.sesame}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	claims, err := v.VerifyAssertion(ctx, got[0], "localhost")
	if err != nil {
		t.Fatalf("the assertion does not verify for audience localhost: %v", err)
	}
	if claims.Username != "bob" || claims.SessionID == "" {
		t.Errorf("assertion claims %+v, want bob with a session ID", claims)
	}
	if _, err := v.VerifyAssertion(ctx, got[0], "other.example.com"); err == nil {
		t.Error("the assertion verifies for another audience (other.example.com)")
	}
}
