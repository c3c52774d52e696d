package jose_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame/jose"
)

// An access token signed with ES256 and verified with the public key set.
func ExampleVerifier_Verify() {
	key, err := jose.GenerateKey(jose.ES256, "2030-01")
	if err != nil {
		panic(err)
	}
	keys, _ := jose.NewKeySet(key)

	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	token, err := jose.SignJWT(keys.SigningKey(), &AccessClaims{
		Claims: jose.Claims{
			Issuer:    "https://auth.example",
			Subject:   "user-1",
			Audience:  jose.Audience{"api"},
			IssuedAt:  jose.NewNumericDate(now),
			ExpiresAt: jose.NewNumericDate(now.Add(15 * time.Minute)),
			ID:        "jti-1",
		},
		SessionID: "sid-1",
		ClientID:  "client-1",
	}, jose.SignOptions{Type: "at+jwt"})
	if err != nil {
		panic(err)
	}

	// A resource server only has the published JWKS.
	jwks, _ := keys.MarshalJSON()
	public, err := jose.ParseJWKS(jwks)
	if err != nil {
		panic(err)
	}
	v := &jose.Verifier{
		Keys:     public,
		Issuer:   "https://auth.example",
		Audience: []string{"api"},
		Type:     "at+jwt",
		Required: []string{"sub", "jti", "client_id"},
		Now:      func() time.Time { return now.Add(time.Minute) },
	}
	var c AccessClaims
	if err := v.Verify(token, &c); err != nil {
		panic(err)
	}
	fmt.Println(c.Subject, c.SessionID, c.ClientID)

	v.Now = func() time.Time { return now.Add(time.Hour) }
	fmt.Println(errors.Is(v.Verify(token, &c), jose.ErrExpired))
	// Output:
	// user-1 sid-1 client-1
	// true
}

// Rotating keys: the new key signs, the old one still verifies.
func ExampleKeySet_SetSigningKey() {
	old, _ := jose.GenerateKey(jose.EdDSA, "2030-01")
	keys, _ := jose.NewKeySet(old)
	token, _ := jose.Sign(keys.SigningKey(), []byte("hello"), jose.SignOptions{})

	next, _ := jose.GenerateKey(jose.EdDSA, "2030-02")
	if err := keys.SetSigningKey(next); err != nil {
		panic(err)
	}
	payload, header, err := jose.Verify(token, keys)
	fmt.Println(string(payload), header.KeyID, err, keys.SigningKey().KID())
	// Output: hello 2030-01 <nil> 2030-02
}

// A private JWK round trip, as a server stores its signing key.
func ExampleKey_MarshalPrivateJWK() {
	key, _ := jose.GenerateKey(jose.ES256, "2030-01")
	stored, _ := key.MarshalPrivateJWK() // a secret: encrypt before storing
	back, err := jose.ParseJWK(stored)
	fmt.Println(err, back.KID(), back.CanSign(), back.Algorithm())
	fmt.Println(back) // keys redact themselves in logs and fmt
	// Output:
	// <nil> 2030-01 true ES256
	// jose.Key{kid="2030-01" alg=ES256 private [REDACTED]}
}
