package verify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
)

func TestFirstRequestFetchesOnce(t *testing.T) {
	is := newIssuer(t)
	v := newVerifier(t, is, testclock.New(t0), func(c *Config) { c.CacheSize = -1 })
	tok := is.token()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { mustVerify(t, v, tok) })
	}
	wg.Wait()
	mustVerify(t, v, tok)
	if n := is.count(); n != 1 {
		t.Fatalf("got %d fetches, want 1", n)
	}
}

func TestUnknownKidTriggersOneRefetch(t *testing.T) {
	is := newIssuer(t)
	clock := testclock.New(t0)
	v := newVerifier(t, is, clock)
	mustVerify(t, v, is.token())

	// Rotation: a new key is published and used at once.
	_, next := newECKey(t, "key-2")
	is.publish(is.key, next)
	tok := sign(t, next, claimsAt(t0))
	c := mustVerify(t, v, tok)
	if c.Subject != "user-1" {
		t.Fatalf("got sub %q, want user-1", c.Subject)
	}
	if n := is.count(); n != 2 {
		t.Fatalf("got %d fetches after a new kid, want 2", n)
	}

	// A kid the issuer does not publish: no further fetch within the cooldown.
	_, stranger := newECKey(t, "key-3")
	_, err := v.Verify(context.Background(), sign(t, stranger, claimsAt(t0)))
	wantCode(t, err, sesame.EUnauthenticated, jose.ErrKeyNotFound)
	if n := is.count(); n != 2 {
		t.Fatalf("got %d fetches, want 2 (within the cooldown)", n)
	}
}

func TestUnknownKidBurstOneFetchPerCooldown(t *testing.T) {
	is := newIssuer(t)
	clock := testclock.New(t0)
	v := newVerifier(t, is, clock)
	mustVerify(t, v, is.token())
	if n := is.count(); n != 1 {
		t.Fatalf("got %d fetches, want 1", n)
	}

	burst := func(round int) {
		t.Helper()
		tokens := make([]string, 50)
		for i := range tokens {
			_, k := newECKey(t, "forged-"+strconv.Itoa(round)+"-"+strconv.Itoa(i))
			tokens[i] = sign(t, k, claimsAt(t0))
		}
		var wg sync.WaitGroup
		for _, tok := range tokens {
			wg.Go(func() {
				_, err := v.Verify(context.Background(), tok)
				if sesame.ErrorCode(err) != sesame.EUnauthenticated {
					t.Errorf("got %v, want a 401 error", err)
				}
			})
		}
		wg.Wait()
		v.wait()
	}

	burst(1)
	if n := is.count(); n != 2 {
		t.Fatalf("after a burst of 50 unknown kids: got %d fetches, want 2", n)
	}
	clock.Add(DefaultRefetchCooldown - time.Nanosecond)
	burst(2)
	if n := is.count(); n != 2 {
		t.Fatalf("1ns before the cooldown ends: got %d fetches, want 2", n)
	}
	clock.Add(time.Nanosecond)
	burst(3)
	if n := is.count(); n != 3 {
		t.Fatalf("after the cooldown: got %d fetches, want 3", n)
	}
}

func TestFetchFailureKeepsLastGoodSet(t *testing.T) {
	huge := `{"keys":[],"pad":"` + strings.Repeat("x", 2<<20) + `"}`
	tests := []struct {
		name    string
		respond func(w http.ResponseWriter) bool
	}{
		{"500", func(w http.ResponseWriter) bool { http.Error(w, "oops", 500); return true }},
		{"404", func(w http.ResponseWriter) bool { http.NotFound(w, nil); return true }},
		{"not JSON", func(w http.ResponseWriter) bool { _, _ = w.Write([]byte("<html>maintenance</html>")); return true }},
		{"JSON array", func(w http.ResponseWriter) bool { _, _ = w.Write([]byte(`[{"keys":[]}]`)); return true }},
		{"no keys member", func(w http.ResponseWriter) bool { _, _ = w.Write([]byte(`{"kees":[]}`)); return true }},
		{"empty keys", func(w http.ResponseWriter) bool { _, _ = w.Write([]byte(`{"keys":[]}`)); return true }},
		{"only unusable keys", func(w http.ResponseWriter) bool {
			_, _ = w.Write([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI","alg":"HS256","kid":"k"}]}`))
			return true
		}},
		{"over MaxJWKSBytes", func(w http.ResponseWriter) bool { _, _ = w.Write([]byte(huge)); return true }},
		{"over MaxJWKSBytes, chunked", func(w http.ResponseWriter) bool {
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte(huge))
			return true
		}},
		{"hangs up", func(w http.ResponseWriter) bool {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return true
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := newIssuer(t)
			clock := testclock.New(t0)
			v := newVerifier(t, is, clock, func(c *Config) { c.CacheSize = -1 })
			tok := is.token()
			mustVerify(t, v, tok)

			is.respond(tt.respond)
			if err := v.Refresh(context.Background()); err == nil {
				t.Fatal("Refresh: got success, want an error")
			}
			mustVerify(t, v, tok)
			// An unknown kid refetches, fails, and the set stays.
			_, other := newECKey(t, "key-2")
			_, err := v.Verify(context.Background(), sign(t, other, claimsAt(t0)))
			wantCode(t, err, sesame.EUnauthenticated, jose.ErrKeyNotFound)
			mustVerify(t, v, tok)
			// The transport may retry a GET whose reused connection was
			// closed, so a hang-up can cost two requests.
			if n := is.count(); n != 3 && !(tt.name == "hangs up" && n <= 5) {
				t.Fatalf("got %d fetches, want 3", n)
			}
		})
	}
}

func TestUnusableKeysSkipped(t *testing.T) {
	is := newIssuer(t)
	_, encKey := newECKey(t, "enc-1")
	encJWK, _ := encKey.Public().MarshalJSON()
	encJWK = []byte(strings.Replace(string(encJWK), `{`, `{"use":"enc",`, 1))
	goodJWK, _ := is.key.Public().MarshalJSON()
	_, signer := newECKey(t, "private-1")
	privateJWK, _ := signer.MarshalPrivateJWK()
	body := `{"keys":[` + string(encJWK) +
		`,{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI","alg":"HS256","kid":"hmac"}` +
		`,{"kty":"RSA","kid":"rsa-no-alg","n":"AQAB","e":"AQAB"}` +
		`,{"kty":"EC","crv":"P-256","kid":"off-curve","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}` +
		`,"not an object",` + string(goodJWK) + `,` + string(goodJWK) + `,` + string(privateJWK) + `]}`
	if _, err := jose.ParseJWKS([]byte(body)); err == nil {
		t.Fatal("jose.ParseJWKS accepted the set: the test needs one it refuses")
	}
	is.respond(func(w http.ResponseWriter) bool { _, _ = w.Write([]byte(body)); return true })

	v := newVerifier(t, is, testclock.New(t0))
	mustVerify(t, v, is.token())
	// A key published with private material is used for verifying only.
	mustVerify(t, v, sign(t, signer, claimsAt(t0)))
	if k, _ := v.keys.ResolveKey("private-1"); k.CanSign() {
		t.Fatal("got a key that can sign, want its public part only")
	}
	_, err := v.Verify(context.Background(), sign(t, encKey, claimsAt(t0)))
	wantCode(t, err, sesame.EUnauthenticated, jose.ErrKeyNotFound)
	if n := v.keys.set.Load().Len(); n != 2 {
		t.Fatalf("got %d usable keys, want 2", n)
	}
}

func TestNoKeySetIsUnavailable(t *testing.T) {
	is := newIssuer(t)
	is.respond(func(w http.ResponseWriter) bool { http.Error(w, "down", 503); return true })
	clock := testclock.New(t0)
	v := newVerifier(t, is, clock)
	tok := is.token()
	_, err := v.Verify(context.Background(), tok)
	wantCode(t, err, sesame.EUnavailable, ErrUnavailable)
	// Within a second, requests do not hammer the issuer.
	_, err = v.Verify(context.Background(), tok)
	wantCode(t, err, sesame.EUnavailable, ErrUnavailable)
	if n := is.count(); n != 1 {
		t.Fatalf("got %d fetches, want 1", n)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	v.Middleware(http.NotFoundHandler()).ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("middleware: got status %d, want 503", rec.Code)
	}

	is.respond(nil)
	clock.Add(retryAfterFailure)
	mustVerify(t, v, tok)
	if n := is.count(); n != 2 {
		t.Fatalf("got %d fetches, want 2", n)
	}
}

func TestLazyRefresh(t *testing.T) {
	is := newIssuer(t)
	clock := testclock.New(t0)
	v := newVerifier(t, is, clock)
	tok := sign(t, is.key, func() *Claims { c := claimsAt(t0); c.ExpiresAt = jose.NewNumericDate(t0.Add(time.Hour)); return c }())
	mustVerify(t, v, tok)
	clock.Add(DefaultRefreshInterval - time.Second)
	mustVerify(t, v, tok)
	v.wait()
	if n := is.count(); n != 1 {
		t.Fatalf("before the refresh interval: got %d fetches, want 1", n)
	}
	clock.Add(time.Second)
	mustVerify(t, v, tok) // served from the cache; starts the refresh
	v.wait()
	if n := is.count(); n != 2 {
		t.Fatalf("after the refresh interval: got %d fetches, want 2", n)
	}
}

func TestWithdrawnKeyClearsCache(t *testing.T) {
	is := newIssuer(t)
	v := newVerifier(t, is, testclock.New(t0))
	tok := is.token()
	mustVerify(t, v, tok)
	if v.cache.Len() != 1 {
		t.Fatalf("got %d cached tokens, want 1", v.cache.Len())
	}
	_, next := newECKey(t, "key-2")
	is.publish(next)
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(context.Background(), tok)
	wantCode(t, err, sesame.EUnauthenticated, jose.ErrKeyNotFound)
}

// SEC-18: the key set comes from the pinned URL's host only.
func TestRedirectToOtherHostRefused(t *testing.T) {
	is := newIssuer(t)
	redirector := httptest.NewServer(http.RedirectHandler(is.url(), http.StatusFound))
	t.Cleanup(redirector.Close)
	v := newVerifier(t, is, testclock.New(t0), func(c *Config) { c.JWKSURL = redirector.URL + "/jwks.json" })
	_, err := v.Verify(context.Background(), is.token())
	wantCode(t, err, sesame.EUnavailable, ErrUnavailable)
	if n := is.count(); n != 0 {
		t.Fatalf("the other host got %d requests, want 0", n)
	}
}
