package bench

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/passkey"
	"github.com/sesame-auth/sesame/passkey/passkeytest"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/sqlite"
)

// BenchmarkSignInVerify is the server's verification work per sign-in:
// the argon2id check of a password at the default parameters, beside a
// passwordless passkey sign-in's begin and finish (store the challenge,
// take it back, parse the assertion, verify the ES256 signature and the
// client data, update the counter), over memstore and SQLite. The
// authenticator's own signing (the browser's side) is outside the timer.
func BenchmarkSignInVerify(b *testing.B) {
	b.Run("password-argon2id", func(b *testing.B) {
		b.ReportAllocs()
		var h password.Hasher
		encoded, err := h.Hash("correct horse battery staple")
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if ok, _, err := h.Verify("correct horse battery staple", encoded); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("passkey-memstore", func(b *testing.B) { benchPasskey(b, memstore.New()) })
	b.Run("passkey-sqlite", func(b *testing.B) {
		db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "sesame.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		benchPasskey(b, db)
	})
}

func benchPasskey(b *testing.B, store passkey.Store) {
	ctx := context.Background()
	const origin = "https://auth.example.com"
	s, err := passkey.New(passkey.Config{Store: store, PublicURL: origin})
	if err != nil {
		b.Fatal(err)
	}
	u := &sesame.User{ID: "u1", Username: "alice"}
	opts, cookie, err := s.BeginRegistration(ctx, u, "s1")
	if err != nil {
		b.Fatal(err)
	}
	a := passkeytest.New(origin)
	a.Counter = 1
	body, err := a.Create(opts)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.FinishRegistration(ctx, u, "s1", cookie, "bench", body); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		opts, cookie, err := s.BeginPasswordless(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		body, err := a.Get(opts, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.FinishPasswordless(ctx, cookie, body); err != nil {
			b.Fatal(err)
		}
	}
}
