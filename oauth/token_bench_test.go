package oauth_test

import (
	"net/url"
	"testing"

	"github.com/sesame-auth/sesame/oauth"
)

// Token endpoint throughput in process (handler, memstore, no network):
//
//	go test -run XXX -bench BenchmarkTokenEndpoint -benchmem ./oauth

func BenchmarkTokenEndpoint(b *testing.B) {
	b.Run("authorization_code", func(b *testing.B) {
		f := newTHFixture(b)
		_, sess := f.user("alice")
		codes := make([]string, b.N)
		for i := range codes {
			codes[i] = f.code(sess, codeOpts{client: thWeb, scope: "openid profile", resources: []string{thAPI}, verifier: thVerifier})
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if w := f.exchange(thWeb, codes[i], thVerifier); w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
	b.Run("refresh_token", func(b *testing.B) {
		f := newTHFixture(b)
		_, sess := f.user("alice")
		rt := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "openid"}), "")).RefreshToken
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			rt = f.tokens200(f.refresh(thWeb, rt, nil)).RefreshToken
		}
	})
	b.Run("client_credentials", func(b *testing.B) {
		f := newTHFixture(b)
		form := url.Values{"grant_type": {"client_credentials"}}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if w := f.post(oauth.PathToken, thService, form); w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
	// The first-party refresh beside it: the token service's Refresh,
	// which POST /api/v1/token/refresh calls, on the same fixture (no HTTP
	// handler, no ID token, no client authentication).
	b.Run("first_party_refresh_service", func(b *testing.B) {
		f := newTHFixture(b)
		_, sess := f.user("alice")
		p, err := f.tokens.Issue(f.ctx, sess, "", "")
		if err != nil {
			b.Fatal(err)
		}
		rt := p.RefreshToken
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p, err := f.tokens.Refresh(f.ctx, rt, "", "")
			if err != nil {
				b.Fatal(err)
			}
			rt = p.RefreshToken
		}
	})
}
