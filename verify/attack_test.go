package verify

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
)

// TestAttacks covers SEC-16 to SEC-22 as seen by a resource server.
func TestAttacks(t *testing.T) {
	is := newIssuer(t)
	attackerPriv, attackerKey := newECKey(t, "attacker")

	// A server the attacker controls, publishing the attacker's key: the
	// verifier must never contact it (SEC-18).
	var attackerHits atomic.Int64
	attackerJWKS, _ := (func() ([]byte, error) { s, _ := jose.NewKeySet(attackerKey); return s.MarshalJSON() })()
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attackerHits.Add(1)
		_, _ = w.Write(attackerJWKS)
	}))
	t.Cleanup(attacker.Close)
	attackerPub, _ := attackerKey.Public().MarshalJSON()

	claims := claimsAt(t0)
	header := func(extra map[string]any) map[string]any {
		h := map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "attacker"}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	withKey := func(m map[string]any) map[string]any { m["kid"] = is.key.KID(); return m }
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	payload := strings.Split(is.token(), ".")[1]

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"alg none", b64(`{"alg":"none","typ":"at+jwt","kid":"key-1"}`) + "." + payload + ".", jose.ErrAlgorithm},
		{"alg nOnE", b64(`{"alg":"nOnE","typ":"at+jwt","kid":"key-1"}`) + "." + payload + ".", jose.ErrAlgorithm},
		{"alg HS256 with the public key as secret", b64(`{"alg":"HS256","typ":"at+jwt","kid":"key-1"}`) + "." + payload + ".c2ln", jose.ErrAlgorithm},
		{"signed by a key not in the JWKS", sign(t, attackerKey, claims), jose.ErrKeyNotFound},
		{"attacker key under the issuer's kid", signRaw(t, attackerPriv, withKey(header(nil)), claims), jose.ErrSignature},
		{"jku to the attacker", signRaw(t, attackerPriv, header(map[string]any{"jku": attacker.URL}), claims), jose.ErrMalformed},
		{"x5u to the attacker", signRaw(t, attackerPriv, header(map[string]any{"x5u": attacker.URL}), claims), jose.ErrMalformed},
		{"jwk embedded", signRaw(t, attackerPriv, header(map[string]any{"jwk": jsonRaw(attackerPub)}), claims), jose.ErrMalformed},
		{"x5c embedded", signRaw(t, attackerPriv, header(map[string]any{"x5c": []string{"MIIB"}}), claims), jose.ErrMalformed},
		{"jku with the issuer's key", signRaw(t, is.priv, withKey(header(map[string]any{"jku": attacker.URL})), claims), jose.ErrMalformed},
		{"kid path traversal", signRaw(t, attackerPriv, header(map[string]any{"kid": "../../../etc/passwd"}), claims), jose.ErrKeyNotFound},
		{"kid URL", signRaw(t, attackerPriv, header(map[string]any{"kid": attacker.URL}), claims), jose.ErrKeyNotFound},
		{"unknown crit", signRaw(t, is.priv, withKey(header(map[string]any{"crit": []string{"exp"}, "exp": 1})), claims), jose.ErrMalformed},
		{"JWE", "a.b.c.d.e", jose.ErrMalformed},
		{"wrong iss", is.token(func(c *Claims) { c.Issuer = "https://evil.example" }), jose.ErrInvalidClaims},
		{"iss with trailing slash", is.token(func(c *Claims) { c.Issuer = testIssuer + "/" }), jose.ErrInvalidClaims},
		{"wrong aud", is.token(func(c *Claims) { c.Audience = jose.Audience{"https://other.example"} }), jose.ErrInvalidClaims},
		{"no aud", is.token(func(c *Claims) { c.Audience = nil }), jose.ErrInvalidClaims},
		{"ID token (typ JWT)", signJWT(t, is.key, claims, "JWT"), jose.ErrInvalidClaims},
		{"no typ", signRaw(t, is.priv, withKey(map[string]any{"alg": "ES256"}), claims), jose.ErrInvalidClaims},
		{"refresh-like typ", signJWT(t, is.key, claims, "rt+jwt"), jose.ErrInvalidClaims},
		{"expired at exactly exp", is.token(func(c *Claims) { c.ExpiresAt = jose.NewNumericDate(t0) }), jose.ErrExpired},
		{"no exp", is.token(func(c *Claims) { c.ExpiresAt = jose.NumericDate{} }), jose.ErrInvalidClaims},
		{"nbf 1s ahead", is.token(func(c *Claims) { c.NotBefore = jose.NewNumericDate(t0.Add(time.Second)) }), jose.ErrNotYetValid},
		{"iat 1s ahead", is.token(func(c *Claims) { c.IssuedAt = jose.NewNumericDate(t0.Add(time.Second)) }), jose.ErrNotYetValid},
		{"no sid", is.token(func(c *Claims) { c.SessionID = "" }), jose.ErrInvalidClaims},
		{"no client_id", is.token(func(c *Claims) { c.ClientID = "" }), nil},
		{"no sub", is.token(func(c *Claims) { c.Subject = "" }), nil},
		{"no jti", is.token(func(c *Claims) { c.ID = "" }), jose.ErrInvalidClaims},
		{"no iat", is.token(func(c *Claims) { c.IssuedAt = jose.NumericDate{} }), jose.ErrInvalidClaims},
		{"garbage", "not a token", jose.ErrMalformed},
		{"empty", "", jose.ErrMalformed},
	}
	clock := testclock.New(t0)
	v := newVerifier(t, is, clock)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tt.token)
			wantCode(t, err, sesame.EUnauthenticated, tt.want)
			if strings.Contains(err.Error(), tt.token) && tt.token != "" {
				t.Fatalf("error %q echoes the token", err)
			}
		})
	}
	if n := attackerHits.Load(); n != 0 {
		t.Fatalf("the attacker's server got %d requests, want 0", n)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	for _, p := range is.paths {
		if p != "/jwks.json" {
			t.Fatalf("the issuer got a request for %q, want only /jwks.json", p)
		}
	}
}

// SEC-19: exp at ±1 s of the boundary, without and with leeway.
func TestExpiryBoundary(t *testing.T) {
	is := newIssuer(t)
	exp := t0.Add(15 * time.Minute)
	tests := []struct {
		name   string
		now    time.Time
		leeway time.Duration
		ok     bool
	}{
		{"1s before exp", exp.Add(-time.Second), 0, true},
		{"at exp", exp, 0, false},
		{"1s after exp", exp.Add(time.Second), 0, false},
		{"at exp with 5s leeway", exp, 5 * time.Second, true},
		{"1s before exp+leeway", exp.Add(4 * time.Second), 5 * time.Second, true},
		{"at exp+leeway", exp.Add(5 * time.Second), 5 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, cacheSize := range []int{-1, 0} { // uncached, then cached
				clock := testclock.New(t0)
				v := newVerifier(t, is, clock, func(c *Config) { c.Leeway = tt.leeway; c.CacheSize = cacheSize })
				tok := is.token()
				mustVerify(t, v, tok) // fills the cache when enabled
				clock.Set(tt.now)
				_, err := v.Verify(context.Background(), tok)
				if tt.ok {
					if err != nil {
						t.Fatalf("cache %d: got %v, want success", cacheSize, err)
					}
					continue
				}
				if cacheSize < 0 {
					wantCode(t, err, sesame.EUnauthenticated, jose.ErrExpired)
				} else {
					wantCode(t, err, sesame.EUnauthenticated, nil)
				}
			}
		})
	}
}

// A malleated signature is a different cache key, verified afresh.
func TestCacheKeyIsWholeToken(t *testing.T) {
	is := newIssuer(t)
	v := newVerifier(t, is, testclock.New(t0))
	tok := is.token()
	mustVerify(t, v, tok)
	tampered := tok[:len(tok)-2] + "AA"
	if tampered == tok {
		tampered = tok[:len(tok)-2] + "BA"
	}
	_, err := v.Verify(context.Background(), tampered)
	wantCode(t, err, sesame.EUnauthenticated, nil)
}

func TestReturnedClaimsAreCopies(t *testing.T) {
	is := newIssuer(t)
	v := newVerifier(t, is, testclock.New(t0))
	tok := is.token()
	c := mustVerify(t, v, tok)
	c.Scope = "admin"
	c.SessionID = "other"
	if c2 := mustVerify(t, v, tok); c2.Scope != "read write" || c2.SessionID != "sid-1" {
		t.Fatalf("got scope %q sid %q, want the token's", c2.Scope, c2.SessionID)
	}
}

func signJWT(t testing.TB, key *jose.Key, c any, typ string) string {
	t.Helper()
	tok, err := jose.SignJWT(key, c, jose.SignOptions{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type jsonRaw []byte

func (j jsonRaw) MarshalJSON() ([]byte, error) { return j, nil }
