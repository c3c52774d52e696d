package verify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
)

const (
	testIssuer   = "https://auth.example"
	testAudience = "https://api.example"
)

// t0 is the test clock's start: a whole second, like iat.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// issuer is a fake Sesame: it signs access tokens and serves their JWKS at
// /jwks.json, counting fetches.
type issuer struct {
	t       testing.TB
	srv     *httptest.Server
	key     *jose.Key // current signing key
	priv    *ecdsa.PrivateKey
	fetches atomic.Int64

	mu       sync.Mutex
	keys     []*jose.Key // published
	override func(w http.ResponseWriter) bool
	paths    []string
}

func newIssuer(t testing.TB) *issuer {
	t.Helper()
	is := &issuer{t: t}
	is.priv, is.key = newECKey(t, "key-1")
	is.keys = []*jose.Key{is.key}
	is.srv = httptest.NewServer(http.HandlerFunc(is.serve))
	t.Cleanup(is.srv.Close)
	return is
}

func newECKey(t testing.TB, kid string) (*ecdsa.PrivateKey, *jose.Key) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jose.NewKey(jose.ES256, priv, kid)
	if err != nil {
		t.Fatal(err)
	}
	return priv, k
}

func (is *issuer) url() string { return is.srv.URL + "/jwks.json" }

func (is *issuer) serve(w http.ResponseWriter, r *http.Request) {
	is.fetches.Add(1)
	is.mu.Lock()
	is.paths = append(is.paths, r.URL.RequestURI())
	override := is.override
	keys := is.keys
	is.mu.Unlock()
	if override != nil && override(w) {
		return
	}
	set, err := jose.NewKeySet(keys...)
	if err != nil {
		panic(err)
	}
	body, err := set.MarshalJSON()
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(body)
}

// publish replaces the published keys.
func (is *issuer) publish(keys ...*jose.Key) {
	is.mu.Lock()
	is.keys = keys
	is.mu.Unlock()
}

// respond makes the JWKS endpoint answer with fn instead (nil: normal).
func (is *issuer) respond(fn func(w http.ResponseWriter) bool) {
	is.mu.Lock()
	is.override = fn
	is.mu.Unlock()
}

func (is *issuer) count() int { return int(is.fetches.Load()) }

// claims returns valid access-token claims issued at iat.
func claimsAt(iat time.Time) *Claims {
	return &Claims{
		Claims: jose.Claims{
			Issuer:    testIssuer,
			Subject:   "user-1",
			Audience:  jose.Audience{testAudience},
			IssuedAt:  jose.NewNumericDate(iat),
			ExpiresAt: jose.NewNumericDate(iat.Add(15 * time.Minute)),
			ID:        "jti-" + strconv.FormatInt(iat.UnixNano(), 36),
		},
		SessionID: "sid-1",
		ClientID:  "client-1",
		Scope:     "read write",
	}
}

// sign signs c with key as an access token.
func sign(t testing.TB, key *jose.Key, c any) string {
	t.Helper()
	tok, err := jose.SignJWT(key, c, jose.SignOptions{Type: "at+jwt"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// token returns a valid token of the issuer's key, issued at t0.
func (is *issuer) token(mutate ...func(*Claims)) string {
	c := claimsAt(t0)
	for _, m := range mutate {
		m(c)
	}
	return sign(is.t, is.key, c)
}

// signRaw signs an arbitrary header and payload with an ES256 key, so that
// tests can put members in the header that jose never writes.
func signRaw(t testing.TB, priv *ecdsa.PrivateKey, header map[string]any, payload any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(payload)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// newVerifier returns a verifier of is's tokens on clock, with the cache
// and logging to t.
func newVerifier(t testing.TB, is *issuer, clock *testclock.Clock, mutate ...func(*Config)) *Verifier {
	t.Helper()
	cfg := Config{
		JWKSURL:  is.url(),
		Issuer:   testIssuer,
		Audience: []string{"other", testAudience},
		Clock:    clock,
		Logger:   testLogger(t),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.wait)
	return v
}

// wait waits for every fetch and read in flight, so that counts are exact.
func (v *Verifier) wait() {
	v.keys.flight.wg.Wait()
	if v.rev != nil {
		v.rev.flight.wg.Wait()
	}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// discardLogger is for benchmarks and fuzzing.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func mustVerify(t testing.TB, v *Verifier, tok string) *Claims {
	t.Helper()
	c, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: got %v, want success", err)
	}
	return c
}

// wantCode checks err's Sesame code and that it wraps want.
func wantCode(t testing.TB, err error, code sesame.Code, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want %s wrapping %v", code, want)
	}
	if got := sesame.ErrorCode(err); got != code {
		t.Fatalf("got code %s (%v), want %s", got, err, code)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("got %v, want it to wrap %v", err, want)
	}
}

// feed is a fake revocation feed: entries with seq 1.., next = last+1,
// since inclusive, pages of pageSize, 410 for since below retainedFrom.
type feed struct {
	srv *httptest.Server

	mu           sync.Mutex
	entries      []feedEntry
	retainedFrom uint64 // the oldest seq still served; 410 below it (except 0)
	down         bool
	pageSize     int
	sinces       []string
	requested    chan struct{} // receives after each request, if set
	override     http.HandlerFunc
}

func newFeed(t testing.TB) *feed {
	f := &feed{pageSize: 1000, retainedFrom: 1}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *feed) url() string { return f.srv.URL + "/api/v1/revocations" }

func (f *feed) revoke(sid string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = append(f.entries, feedEntry{Seq: uint64(len(f.entries) + 1), SID: sid, At: at.UTC().Format(time.RFC3339)})
}

func (f *feed) set(fn func(f *feed)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

func (f *feed) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sinces...)
}

func (f *feed) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/stream") {
		http.NotFound(w, r) // a feed without a stream: verifiers fall back to polling
		return
	}
	f.mu.Lock()
	if o := f.override; o != nil {
		f.mu.Unlock()
		o(w, r)
		return
	}
	f.serveLocked(w, r)
}

func (f *feed) serveLocked(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if f.requested != nil {
			select {
			case f.requested <- struct{}{}:
			default:
			}
		}
		f.mu.Unlock()
	}()
	f.sinces = append(f.sinces, r.URL.Query().Get("since"))
	if f.down {
		http.Error(w, "down", http.StatusBadGateway)
		return
	}
	since, err := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
	if err != nil {
		http.Error(w, "bad since", http.StatusBadRequest)
		return
	}
	newest := uint64(len(f.entries)) + 1
	if since == 0 {
		fmt.Fprintf(w, `{"revocations":[],"next":%d}`, newest)
		return
	}
	if since < f.retainedFrom {
		http.Error(w, "gone", http.StatusGone)
		return
	}
	page := []feedEntry{}
	for _, e := range f.entries {
		if e.Seq >= since && len(page) < f.pageSize {
			page = append(page, e)
		}
	}
	next := min(since, newest) // a reset history reports its own position
	if len(page) > 0 {
		next = page[len(page)-1].Seq + 1
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"revocations": page, "next": next})
}

// followFeed configures a verifier to follow f.
func followFeed(f *feed, mutate ...func(*RevocationConfig)) func(*Config) {
	return func(c *Config) {
		rc := &RevocationConfig{URL: f.url()}
		for _, m := range mutate {
			m(rc)
		}
		c.Revocations = rc
	}
}
