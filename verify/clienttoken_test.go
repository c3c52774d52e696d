package verify

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
)

// clientToken returns claims shaped like token.Service.ClientCredentials
// makes them: a client's own token, sub = client_id, no sid member.
func clientToken(sub, clientID string, aud ...string) map[string]any {
	return map[string]any{
		"iss": testIssuer, "sub": sub, "client_id": clientID, "aud": aud, "scope": "read",
		"iat": t0.Unix(), "exp": t0.Add(15 * 60e9).Unix(), "jti": "cc-1",
	}
}

// TestSEC59_ClientTokenRefusedByDefault: a client's own token (client
// credentials grant) presented to a resource server that did not opt in is
// refused, at Verify and by the middleware, even for the right audience;
// so is one carrying an empty sid.
func TestSEC59_ClientTokenRefusedByDefault(t *testing.T) {
	is := newIssuer(t)
	v := newVerifier(t, is, testclock.New(t0))
	cc := clientToken("svc-1", "svc-1", testAudience)
	emptySID := clientToken("svc-1", "svc-1", testAudience)
	emptySID["sid"] = ""
	for name, c := range map[string]any{"no sid": cc, "empty sid": emptySID} {
		t.Run(name, func(t *testing.T) {
			tok := sign(t, is.key, c)
			_, err := v.Verify(context.Background(), tok)
			wantCode(t, err, sesame.EUnauthenticated, jose.ErrInvalidClaims)
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			if rec, got := serve(v, req); rec.Code != 401 || got != nil {
				t.Fatalf("middleware: got %d with claims %v, want 401", rec.Code, got)
			}
		})
	}
	mustVerify(t, v, is.token()) // a user's token still passes
}

// TestSEC59_AcceptClientTokens: with the option, a client's own token
// passes with no session; a sid-less token whose sub is not its client_id
// (a user's identity without a session) never does.
func TestSEC59_AcceptClientTokens(t *testing.T) {
	is := newIssuer(t)
	v := newVerifier(t, is, testclock.New(t0), func(c *Config) { c.AcceptClientTokens = true })
	c := mustVerify(t, v, sign(t, is.key, clientToken("svc-1", "svc-1", testAudience)))
	if c.Subject != "svc-1" || c.ClientID != "svc-1" || c.SessionID != "" || !c.HasScope("read") {
		t.Errorf("claims: got %+v, want the client's, without a session", c)
	}
	for name, claims := range map[string]map[string]any{
		"sub is a user":  clientToken("user-1", "svc-1", testAudience),
		"empty sub":      clientToken("", "", testAudience),
		"other audience": clientToken("svc-1", "svc-1", "https://billing.example"),
		"no client_id": func() map[string]any {
			m := clientToken("svc-1", "svc-1", testAudience)
			delete(m, "client_id")
			return m
		}(),
		"another issuer": func() map[string]any {
			m := clientToken("svc-1", "svc-1", testAudience)
			m["iss"] = "https://evil.example"
			return m
		}(),
		"expired": func() map[string]any {
			m := clientToken("svc-1", "svc-1", testAudience)
			m["exp"] = t0.Unix()
			return m
		}(),
		"no audience claim": func() map[string]any { m := clientToken("svc-1", "svc-1"); delete(m, "aud"); return m }(),
	} {
		if _, err := v.Verify(context.Background(), sign(t, is.key, claims)); sesame.ErrorCode(err) != sesame.EUnauthenticated {
			t.Errorf("%s: got %v, want 401", name, err)
		}
	}
	// An ID token (typ JWT) of the client is no access token either.
	idTok, err := jose.SignJWT(is.key, clientToken("svc-1", "svc-1", testAudience), jose.SignOptions{Type: "JWT"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), idTok); sesame.ErrorCode(err) != sesame.EUnauthenticated {
		t.Errorf("typ JWT: got %v, want 401", err)
	}
	mustVerify(t, v, is.token()) // users' tokens still pass, with their sid
}

// TestRFC8707_TokenForAnotherResource: a token the issuer made for
// https://api.example (its resource parameter) is refused by a resource
// server configured for https://billing.example, from the cache too.
func TestRFC8707_TokenForAnotherResource(t *testing.T) {
	is := newIssuer(t)
	clock := testclock.New(t0)
	api := newVerifier(t, is, clock, func(c *Config) { c.Audience = []string{testAudience} })
	billing := newVerifier(t, is, clock, func(c *Config) { c.Audience = []string{"https://billing.example"} })
	tok := is.token(func(c *Claims) { c.Audience = jose.Audience{testAudience, testIssuer + "/oauth2/userinfo"} })
	mustVerify(t, api, tok)
	for range 2 {
		_, err := billing.Verify(context.Background(), tok)
		wantCode(t, err, sesame.EUnauthenticated, jose.ErrInvalidClaims)
	}
	cc := sign(t, is.key, clientToken("svc-1", "svc-1", testAudience))
	billingCC := newVerifier(t, is, clock, func(c *Config) {
		c.Audience = []string{"https://billing.example"}
		c.AcceptClientTokens = true
	})
	_, err := billingCC.Verify(context.Background(), cc)
	wantCode(t, err, sesame.EUnauthenticated, jose.ErrInvalidClaims)
}
