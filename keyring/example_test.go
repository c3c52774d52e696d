package keyring_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/memstore"
)

// A rotation: the new key is published at once, signs after the
// activation delay, and the old key leaves the JWKS once every token it
// signed has expired.
func ExampleRing_Rotate() {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	raw := make([]byte, keyring.MasterKeySize) // a server uses LoadOrCreateMasterKey
	rand.Read(raw)
	master, _ := keyring.NewMasterKey(raw)
	ring, err := keyring.Open(ctx, memstore.New(), master, keyring.Config{
		Algs:             []jose.Algorithm{jose.ES256}, // the default adds RS256, rotated alike
		ActivationDelay:  time.Hour,
		MaxTokenLifetime: 15 * time.Minute,
		Leeway:           -1, // none, to keep the example's times round
		Clock:            clock,
		Logger:           slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	old := ring.SigningKey()
	token, _ := jose.SignJWT(old, &jose.Claims{Subject: "alice", ExpiresAt: jose.NewNumericDate(clock.Now().Add(15 * time.Minute))}, jose.SignOptions{})

	next, _ := ring.Rotate(ctx)
	show := func(when string) {
		fmt.Printf("%-18s signing with new key: %-5v keys published: %d\n", when, ring.SigningKey().KID() == next.KID, jwksLen(ring))
	}
	show("at rotation")
	clock.Add(time.Hour)
	show("1 h later")
	clock.Add(15 * time.Minute)
	show("15 min after that")

	_, _, err = jose.Verify(token, ring)
	fmt.Println("old token's key still resolves:", err == nil)
	// Output:
	// at rotation        signing with new key: false keys published: 2
	// 1 h later          signing with new key: true  keys published: 2
	// 15 min after that  signing with new key: true  keys published: 1
	// old token's key still resolves: false
}

func jwksLen(r *keyring.Ring) int {
	set, err := jose.ParseJWKS(r.JWKS())
	if err != nil {
		panic(err)
	}
	return set.Len()
}
