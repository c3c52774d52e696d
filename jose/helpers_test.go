package jose_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/jose"
)

// testClock is the fixed "now" of the claims tests.
var testClock = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedNow() time.Time { return testClock }

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// testRSAKey returns one 2048-bit key shared by the tests (generation is slow).
func testRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	rsaOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return rsaKey
}

// rawKey returns fresh standard-library key material for alg.
func rawKey(t testing.TB, alg jose.Algorithm) (priv, pub any) {
	t.Helper()
	switch alg {
	case jose.HS256, jose.HS384, jose.HS512:
		b := make([]byte, 64)
		rand.Read(b)
		return b, b
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		k := testRSAKey(t)
		return k, &k.PublicKey
	case jose.ES256, jose.ES384, jose.ES512:
		curve := map[jose.Algorithm]elliptic.Curve{jose.ES256: elliptic.P256(), jose.ES384: elliptic.P384(), jose.ES512: elliptic.P521()}[alg]
		k, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k, &k.PublicKey
	case jose.EdDSA:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return priv, pub
	}
	t.Fatalf("no key for %s", alg)
	return nil, nil
}

func mustKey(t testing.TB, alg jose.Algorithm, material any, kid string) *jose.Key {
	t.Helper()
	k, err := jose.NewKey(alg, material, kid)
	if err != nil {
		t.Fatalf("NewKey(%s): %v", alg, err)
	}
	return k
}

// AccessClaims is the shape of Sesame's access tokens (RFC 9068).
type AccessClaims struct {
	jose.Claims
	SessionID string `json:"sid"`
	ClientID  string `json:"client_id"`
}

func accessClaims() AccessClaims {
	return AccessClaims{
		Claims: jose.Claims{
			Issuer:    "https://auth.example",
			Subject:   "user-1",
			Audience:  jose.Audience{"api"},
			ExpiresAt: jose.NewNumericDate(testClock.Add(15 * time.Minute)),
			IssuedAt:  jose.NewNumericDate(testClock),
			ID:        "jti-1",
		},
		SessionID: "sid-1",
		ClientID:  "client-1",
	}
}

func accessVerifier(keys jose.KeyResolver) *jose.Verifier {
	return &jose.Verifier{
		Keys:     keys,
		Issuer:   "https://auth.example",
		Audience: []string{"api"},
		Type:     "at+jwt",
		Required: []string{"iss", "exp", "aud", "sub", "client_id", "iat", "jti"},
		Now:      fixedNow,
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func b64JSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// segments splits a compact token.
func segments(token string) (h, p, s string) {
	parts := strings.SplitN(token, ".", 3)
	return parts[0], parts[1], parts[2]
}
