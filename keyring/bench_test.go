package keyring_test

import (
	"testing"

	"github.com/sesame-auth/sesame/keyring"
)

func benchRing(b *testing.B) *keyring.Ring {
	r, err := keyring.Open(ctx, newFakeStore(), newMaster(b), keyring.Config{Logger: discard()})
	must(b, "Open", err)
	_, err = r.Rotate(ctx)
	must(b, "Rotate", err)
	return r
}

func BenchmarkSigningKey(b *testing.B) {
	r := benchRing(b)
	b.ReportAllocs()
	for b.Loop() {
		r.SigningKey()
	}
}

func BenchmarkResolveKey(b *testing.B) {
	r := benchRing(b)
	kid := r.SigningKey().KID()
	b.ReportAllocs()
	for b.Loop() {
		r.ResolveKey(kid)
	}
}

func BenchmarkResolveKeyUnknown(b *testing.B) {
	r := benchRing(b)
	b.ReportAllocs()
	for b.Loop() {
		r.ResolveKey("nope")
	}
}

func BenchmarkJWKS(b *testing.B) {
	r := benchRing(b)
	b.ReportAllocs()
	for b.Loop() {
		r.JWKS()
	}
}
