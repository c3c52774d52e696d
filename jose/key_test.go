package jose_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/jose"
)

// RFC 7638 §3.1: the thumbprint of this RSA key.
func TestThumbprintRFC7638(t *testing.T) {
	jwk := `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`
	key, err := jose.ParseJWK([]byte(jwk))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := key.Thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Errorf("got thumbprint %s, want %s", got, want)
	}
	if key.KID() != "2011-04-29" {
		t.Errorf("got kid %q, want the JWK's", key.KID())
	}
	noKID, _ := jose.ParseJWK([]byte(strings.Replace(jwk, `,"kid":"2011-04-29"`, "", 1)))
	if noKID.KID() != key.Thumbprint() {
		t.Errorf("got default kid %q, want the thumbprint", noKID.KID())
	}
}

func TestJWKRoundTrip(t *testing.T) {
	for _, alg := range jose.Algorithms {
		t.Run(string(alg), func(t *testing.T) {
			priv, _ := rawKey(t, alg)
			key := mustKey(t, alg, priv, "")
			private, err := key.MarshalPrivateJWK()
			if err != nil {
				t.Fatal(err)
			}
			back, err := jose.ParseJWK(private)
			if err != nil {
				t.Fatalf("ParseJWK(private): %v", err)
			}
			if back.KID() != key.KID() || back.Algorithm() != alg || !back.CanSign() {
				t.Errorf("got %v, want %v able to sign", back, key)
			}
			token, err := jose.Sign(back, []byte("x"), jose.SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if alg.Symmetric() {
				if _, err := key.MarshalJSON(); !errors.Is(err, jose.ErrInvalidKey) {
					t.Errorf("MarshalJSON(HMAC): got %v, want ErrInvalidKey", err)
				}
				if _, _, err := jose.Verify(token, key); err != nil {
					t.Error(err)
				}
				return
			}
			public, err := json.Marshal(key)
			if err != nil {
				t.Fatal(err)
			}
			for _, private := range []string{`"d"`, `"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`} {
				if bytes.Contains(public, []byte(private)) {
					t.Errorf("public JWK has private member %s: %s", private, public)
				}
			}
			pub, err := jose.ParseJWK(public)
			if err != nil {
				t.Fatalf("ParseJWK(public): %v", err)
			}
			if pub.CanSign() || pub.KID() != key.KID() {
				t.Errorf("got %v, want a public key with kid %s", pub, key.KID())
			}
			if _, _, err := jose.Verify(token, pub); err != nil {
				t.Errorf("verify with the public JWK: %v", err)
			}
		})
	}
}

func TestNewKeyRefuses(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tests := []struct {
		name     string
		alg      jose.Algorithm
		material any
	}{
		{"RSA 1024", jose.RS256, small},
		{"RSA 1024 public", jose.PS256, &small.PublicKey},
		{"P-384 for ES256", jose.ES256, p384},
		{"RSA for ES256", jose.ES256, testRSAKey(t)},
		{"bytes for RS256", jose.RS256, make([]byte, 64)},
		{"unknown alg", "HS1", make([]byte, 64)},
		{"nil", jose.EdDSA, nil},
	}
	for _, tt := range tests {
		if _, err := jose.NewKey(tt.alg, tt.material, ""); err == nil {
			t.Errorf("%s: got nil error, want refusal", tt.name)
		}
	}
}

func TestParseJWKRefuses(t *testing.T) {
	ec := `"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"`
	tests := map[string]string{
		"use enc":               `{` + ec + `,"use":"enc"}`,
		"key_ops encrypt":       `{` + ec + `,"key_ops":["encrypt"]}`,
		"duplicate key_ops":     `{` + ec + `,"key_ops":["verify","verify"]}`,
		"duplicate member":      `{` + ec + `,"kty":"EC"}`,
		"case-insensitive kty":  `{"KTY":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`,
		"alg for another curve": `{` + ec + `,"alg":"ES384"}`,
		"unknown alg":           `{` + ec + `,"alg":"ES521"}`,
		"alg none":              `{` + ec + `,"alg":"none"}`,
		"oct without alg":       `{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`,
		"padded base64":         `{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU=","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`,
		"trailing data":         `{` + ec + `} {}`,
		"not an object":         `["EC"]`,
		"x has a leading byte":  `{"kty":"EC","crv":"P-256","x":"AH_Nzidw9sRdQYPL7m_bS3tYBzM1e-nvE7rPbjx70VRF","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`,
		"JWE alg for oct":       `{"kty":"oct","alg":"A256GCM","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`,
	}
	for name, jwk := range tests {
		if k, err := jose.ParseJWK([]byte(jwk)); !errors.Is(err, jose.ErrInvalidKey) {
			t.Errorf("%s: got (%v, %v), want ErrInvalidKey", name, k, err)
		}
	}
	if _, err := jose.ParseJWKAs([]byte(`{`+ec+`,"alg":"ES256"}`), jose.ES384); err == nil {
		t.Error("ParseJWKAs with a different alg: got nil error")
	}
}

func TestKeySet(t *testing.T) {
	a := mustKey(t, jose.ES256, mustEC(t), "a")
	b := mustKey(t, jose.ES256, mustEC(t), "b")
	ks, err := jose.NewKeySet(a)
	if err != nil {
		t.Fatal(err)
	}
	if ks.SigningKey() != a {
		t.Fatalf("got signing key %v, want a", ks.SigningKey())
	}
	old, _ := jose.Sign(ks.SigningKey(), []byte("old"), jose.SignOptions{})
	if err := ks.SetSigningKey(b); err != nil {
		t.Fatal(err)
	}
	current, _ := jose.Sign(ks.SigningKey(), []byte("new"), jose.SignOptions{})
	for _, tok := range []string{old, current} {
		if _, _, err := jose.Verify(tok, ks); err != nil {
			t.Errorf("verify after rotation: %v", err)
		}
	}
	if err := ks.Add(mustKey(t, jose.ES256, mustEC(t), "a")); !errors.Is(err, jose.ErrInvalidKey) {
		t.Errorf("duplicate kid: got %v, want ErrInvalidKey", err)
	}
	if err := ks.SetSigningKey(a.Public()); err == nil {
		t.Error("SetSigningKey(public key): got nil error")
	}
	// Published JWKS: public members only, both keys, parseable.
	jwks, err := json.Marshal(ks)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(jwks, []byte(`"d"`)) {
		t.Errorf("public JWKS leaks d: %s", jwks)
	}
	pub, err := jose.ParseJWKS(jwks)
	if err != nil {
		t.Fatal(err)
	}
	if pub.Len() != 2 || pub.SigningKey() != nil {
		t.Errorf("got %d keys, signing %v; want 2 public keys", pub.Len(), pub.SigningKey())
	}
	if _, _, err := jose.Verify(old, pub); err != nil {
		t.Errorf("verify with the published JWKS: %v", err)
	}
	// Private export restores the signing ability.
	priv, err := ks.MarshalPrivateJWKS()
	if err != nil {
		t.Fatal(err)
	}
	back, err := jose.ParseJWKS(priv)
	if err != nil || back.SigningKey() == nil {
		t.Fatalf("private JWKS round trip: %v, signing %v", err, back.SigningKey())
	}
	// A token without kid needs a set of exactly one key.
	noKID, _ := jose.Sign(a, []byte("x"), jose.SignOptions{OmitKeyID: true})
	if _, _, err := jose.Verify(noKID, ks); !errors.Is(err, jose.ErrKeyNotFound) {
		t.Errorf("no kid, two keys: got %v, want ErrKeyNotFound", err)
	}
	if !ks.Remove("a") || ks.Remove("a") {
		t.Error("Remove: want true then false")
	}
	if _, _, err := jose.Verify(old, ks); !errors.Is(err, jose.ErrKeyNotFound) {
		t.Errorf("after Remove: got %v, want ErrKeyNotFound", err)
	}
	if _, err := jose.ParseJWKS([]byte(`{"keys":[]," keys":1,"keys":[]}`)); err == nil {
		t.Error("duplicate keys member: got nil error")
	}
}

// Keys with secrets redact themselves (STYLE 10).
func TestKeyRedaction(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef-canary")
	key := mustKey(t, jose.HS256, secret, "k1")
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("key", "key", key)
	for _, out := range []string{fmt.Sprint(key), fmt.Sprintf("%v %+v %#v %s", key, key, key, key), logs.String()} {
		if strings.Contains(out, "canary") || strings.Contains(out, "MDEy") {
			t.Errorf("secret leaked: %s", out)
		}
		if !strings.Contains(out, "k1") {
			t.Errorf("kid missing from %s", out)
		}
	}
}

// A stored private JWKS restores the active signing key after a rotation.
func TestPrivateJWKSKeepsSigningKey(t *testing.T) {
	old := mustKey(t, jose.ES256, mustEC(t), "old")
	next := mustKey(t, jose.ES256, mustEC(t), "next")
	ks, _ := jose.NewKeySet(old)
	if err := ks.SetSigningKey(next); err != nil {
		t.Fatal(err)
	}
	stored, err := ks.MarshalPrivateJWKS()
	if err != nil {
		t.Fatal(err)
	}
	back, err := jose.ParseJWKS(stored)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.SigningKey(); got == nil || got.KID() != "next" || back.Len() != 2 {
		t.Errorf("got signing key %v of %d keys, want next of 2", got, back.Len())
	}
}
