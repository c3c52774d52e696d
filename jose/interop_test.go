package jose_test

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sesame-auth/sesame/jose"
)

// golangJWTClaims mirrors AccessClaims for github.com/golang-jwt/jwt/v5.
type golangJWTClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	ClientID  string `json:"client_id"`
}

// TestInteropGolangJWT checks both directions for every algorithm: Sesame
// signs and golang-jwt verifies, golang-jwt signs and Sesame verifies.
func TestInteropGolangJWT(t *testing.T) {
	for _, alg := range jose.Algorithms {
		t.Run(string(alg), func(t *testing.T) {
			priv, pub := rawKey(t, alg)
			key := mustKey(t, alg, priv, "interop")
			method := jwt.GetSigningMethod(string(alg))
			if method == nil {
				t.Fatalf("golang-jwt has no method %s", alg)
			}
			parser := jwt.NewParser(jwt.WithValidMethods([]string{string(alg)}), jwt.WithTimeFunc(fixedNow),
				jwt.WithIssuer("https://auth.example"), jwt.WithAudience("api"), jwt.WithExpirationRequired())

			t.Run("sesame signs, golang-jwt verifies", func(t *testing.T) {
				c := accessClaims()
				token, err := jose.SignJWT(key, &c, jose.SignOptions{Type: "at+jwt"})
				if err != nil {
					t.Fatal(err)
				}
				var got golangJWTClaims
				parsed, err := parser.ParseWithClaims(token, &got, func(*jwt.Token) (any, error) { return pub, nil })
				if err != nil {
					t.Fatalf("golang-jwt: %v", err)
				}
				if parsed.Header["typ"] != "at+jwt" || parsed.Header["kid"] != "interop" {
					t.Errorf("got header %v, want typ at+jwt and kid interop", parsed.Header)
				}
				if got.Subject != "user-1" || got.SessionID != "sid-1" || got.ClientID != "client-1" || got.ID != "jti-1" ||
					!got.ExpiresAt.Time.Equal(c.ExpiresAt.Time) || !got.IssuedAt.Time.Equal(c.IssuedAt.Time) {
					t.Errorf("got claims %+v, want %+v", got, c)
				}
			})

			t.Run("golang-jwt signs, sesame verifies", func(t *testing.T) {
				c := golangJWTClaims{
					RegisteredClaims: jwt.RegisteredClaims{
						Issuer:    "https://auth.example",
						Subject:   "user-1",
						Audience:  jwt.ClaimStrings{"api"},
						ExpiresAt: jwt.NewNumericDate(testClock.Add(15 * time.Minute)),
						IssuedAt:  jwt.NewNumericDate(testClock),
						ID:        "jti-1",
					},
					SessionID: "sid-1",
					ClientID:  "client-1",
				}
				tok := jwt.NewWithClaims(method, c)
				tok.Header["typ"] = "at+jwt"
				tok.Header["kid"] = "interop"
				token, err := tok.SignedString(priv)
				if err != nil {
					t.Fatalf("golang-jwt: %v", err)
				}
				verifyKey := key.Public()
				if verifyKey == nil {
					verifyKey = key
				}
				var got AccessClaims
				if err := accessVerifier(verifyKey).Verify(token, &got); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got.Subject != "user-1" || got.SessionID != "sid-1" || got.ClientID != "client-1" || !got.Audience.Contains("api") {
					t.Errorf("got claims %+v", got)
				}
			})
		})
	}
}
