package verify

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
)

// BenchmarkMiddleware measures an authenticated request through the
// middleware (httptest, in process) with the same ES256 token each time,
// without and with the verified-token cache, and with revocations followed
// (the check that runs on every request). HS256-jose is the floor the cache
// aims at: a minimal middleware over jose.Verifier with an HS256 key.
func BenchmarkMiddleware(b *testing.B) {
	is := newIssuer(b)
	clock := testclock.New(t0)
	tok := is.token()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if FromContext(r.Context()) == nil {
			b.Fatal("no claims")
		}
	})
	run := func(b *testing.B, h http.Handler, tok string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := discardWriter{h: http.Header{}}
		h.ServeHTTP(&w, req) // warm: fetch keys, fill the cache
		if w.code != 0 {
			b.Fatalf("got status %d", w.code)
		}
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(&w, req)
		}
		if w.code != 0 {
			b.Fatalf("got status %d", w.code)
		}
	}
	for _, bc := range []struct {
		name   string
		mutate func(*Config)
	}{
		{"ES256/uncached", func(c *Config) { c.CacheSize = -1 }},
		{"ES256/cached", func(c *Config) {}},
		{"ES256/cached+revocations", func(c *Config) {
			f := newFeed(b)
			followFeed(f, func(rc *RevocationConfig) { rc.PollInterval = time.Hour })(c)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			v := newVerifier(b, is, clock, func(c *Config) { c.Logger = discardLogger(); bc.mutate(c) })
			if err := v.Sync(b.Context()); err != nil {
				b.Fatal(err)
			}
			run(b, v.Middleware(ok), tok)
		})
	}
	b.Run("HS256-jose", func(b *testing.B) {
		secret := make([]byte, 32)
		rand.Read(secret)
		key, _ := jose.NewKey(jose.HS256, secret, "hs")
		keys, _ := jose.NewKeySet(key)
		jv := &jose.Verifier{Keys: keys, Issuer: testIssuer, Audience: []string{testAudience}, Type: "at+jwt",
			Required: requiredClaims, Now: clock.Now}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := BearerToken(r)
			c := new(Claims)
			if err == nil {
				err = jv.Verify(tok, c)
			}
			if err != nil {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			ok.ServeHTTP(w, r.WithContext(NewContext(r.Context(), c)))
		})
		run(b, h, sign(b, key, claimsAt(t0)))
	})
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
