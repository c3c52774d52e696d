package verify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
)

// newFollower returns a verifier following f, primed at t0, and a token of
// session sid issued at t0.
func newFollower(t *testing.T, mutate ...func(*RevocationConfig)) (*Verifier, *issuer, *feed, *testclock.Clock) {
	t.Helper()
	is, f, clock := newIssuer(t), newFeed(t), testclock.New(t0)
	v := newVerifier(t, is, clock, followFeed(f, mutate...))
	if err := v.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return v, is, f, clock
}

func withSID(sid string) func(*Claims) { return func(c *Claims) { c.SessionID = sid } }

func TestRevokedSessionRejectedWithinOnePoll(t *testing.T) {
	v, is, f, _ := newFollower(t)
	revoked, other := is.token(withSID("sid-a")), is.token(withSID("sid-b"))
	mustVerify(t, v, revoked) // now cached
	mustVerify(t, v, other)

	f.revoke("sid-a", t0)
	mustVerify(t, v, revoked) // not yet polled
	if err := v.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(context.Background(), revoked)
	wantCode(t, err, sesame.EUnauthenticated, ErrRevoked)
	mustVerify(t, v, other)

	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+revoked)
	rec, _ := serve(v, req)
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		t.Fatalf("got %d %q, want 401 invalid_token", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	if got, want := f.requests(), []string{"0", "1", "2"}; !slices.Equal(got, want) {
		t.Fatalf("got since values %v, want %v", got, want)
	}
}

func TestLazyPolling(t *testing.T) {
	v, is, f, clock := newFollower(t)
	tok := is.token()
	f.revoke("sid-1", t0)
	clock.Add(DefaultPollInterval - time.Nanosecond)
	mustVerify(t, v, tok)
	v.wait()
	if n := len(f.requests()); n != 1 {
		t.Fatalf("before the poll interval: got %d feed reads, want 1", n)
	}
	// The lazy read is held until after the decision, which the request
	// makes on the view at hand (without the hold, a fast read could land
	// first on a loaded machine and the test would flake).
	release := make(chan struct{})
	f.set(func(f *feed) {
		f.override = func(w http.ResponseWriter, r *http.Request) {
			<-release
			f.mu.Lock()
			f.serveLocked(w, r)
		}
	})
	clock.Add(time.Nanosecond)
	mustVerify(t, v, tok) // decided on the view at hand; starts a read
	close(release)
	v.wait()
	_, err := v.Verify(context.Background(), tok)
	wantCode(t, err, sesame.EUnauthenticated, ErrRevoked)
}

func TestStaleFeedFailsClosed(t *testing.T) {
	v, is, f, clock := newFollower(t)
	tok := is.token()
	f.set(func(f *feed) { f.down = true })

	clock.Add(3 * DefaultPollInterval) // exactly MaxStaleness: still decides
	mustVerify(t, v, tok)
	v.wait()
	clock.Add(time.Nanosecond)
	_, err := v.Verify(context.Background(), tok)
	wantCode(t, err, sesame.EUnavailable, ErrUnavailable)
	v.wait()

	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec, _ := serve(v, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("WWW-Authenticate") != "" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("got %d, WWW-Authenticate %q, want 503 with Retry-After and no challenge", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}

	// The feed recovers: the next request reads it and decides again.
	f.set(func(f *feed) { f.down = false })
	clock.Add(DefaultPollInterval)
	mustVerify(t, v, tok)
}

func TestNeverPrimedIsUnavailable(t *testing.T) {
	is, f, clock := newIssuer(t), newFeed(t), testclock.New(t0)
	f.set(func(f *feed) { f.down = true })
	v := newVerifier(t, is, clock, followFeed(f))
	_, err := v.Verify(context.Background(), is.token())
	wantCode(t, err, sesame.EUnavailable, ErrUnavailable)
	if err := v.Sync(context.Background()); err == nil {
		t.Fatal("Sync: got success from a down feed, want an error")
	}
}

func TestGoneRePrimesAndRecovers(t *testing.T) {
	v, is, f, clock := newFollower(t)
	before := is.token(withSID("sid-old"))
	mustVerify(t, v, before)

	// While the verifier is away, the feed drops history it never read.
	f.revoke("sid-missed", t0)
	f.revoke("sid-missed-2", t0)
	f.set(func(f *feed) { f.retainedFrom = 2 })
	clock.Add(time.Minute)
	if err := v.Sync(context.Background()); err != nil {
		t.Fatalf("Sync after 410: %v", err)
	}
	if got, want := f.requests(), []string{"0", "1", "0"}; !slices.Equal(got, want) {
		t.Fatalf("got since values %v, want %v (prime, 410, re-prime)", got, want)
	}
	// A token issued before the re-prime may belong to a session revoked in
	// the lost history: refused.
	_, err := v.Verify(context.Background(), before)
	wantCode(t, err, sesame.EUnauthenticated, ErrRevoked)
	// Tokens issued after are accepted, and revocations are followed again.
	after := sign(t, is.key, func() *Claims { c := claimsAt(clock.Now()); c.SessionID = "sid-new"; return c }())
	mustVerify(t, v, after)
	f.revoke("sid-new", clock.Now())
	if err := v.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(context.Background(), after)
	wantCode(t, err, sesame.EUnauthenticated, ErrRevoked)
}

func TestGoneFailsClosedUntilRePrimed(t *testing.T) {
	v, is, f, clock := newFollower(t)
	tok := is.token()
	f.revoke("x", t0)
	// 410 for our position, and the re-prime fails too.
	f.set(func(f *feed) { f.retainedFrom = 5 })
	f.set(func(f *feed) {
		f.override = func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("since") == "0" {
				http.Error(w, "down", http.StatusBadGateway)
				return
			}
			f.mu.Lock()
			f.serveLocked(w, r)
		}
	})
	clock.Add(time.Second)
	if err := v.Sync(context.Background()); err == nil {
		t.Fatal("Sync: got success, want an error")
	}
	_, err := v.Verify(context.Background(), tok)
	wantCode(t, err, sesame.EUnavailable, ErrUnavailable)
}

func TestHistoryResetRePrimes(t *testing.T) {
	v, _, f, clock := newFollower(t)
	for i := range 5 {
		f.revoke("sid-"+strconv.Itoa(i), t0)
	}
	if err := v.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.set(func(f *feed) { f.entries = nil }) // the issuer's history restarts
	clock.Add(time.Second)
	if err := v.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := f.requests(), []string{"0", "1", "6", "6", "0"}; !slices.Equal(got, want) {
		t.Fatalf("got since values %v, want %v", got, want)
	}
}

func TestPagesUntilCaughtUp(t *testing.T) {
	v, is, f, _ := newFollower(t)
	for i := range 2500 {
		f.revoke("sid-"+strconv.Itoa(i), t0)
	}
	if err := v.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := f.requests(), []string{"0", "1", "1001", "2001", "2501"}; !slices.Equal(got, want) {
		t.Fatalf("got since values %v, want %v", got, want)
	}
	for _, sid := range []string{"sid-0", "sid-1999", "sid-2499"} {
		_, err := v.Verify(context.Background(), is.token(withSID(sid)))
		wantCode(t, err, sesame.EUnauthenticated, ErrRevoked)
	}
}

func TestRevocationsForgottenAfterMaxTokenLifetime(t *testing.T) {
	v, _, f, clock := newFollower(t, func(rc *RevocationConfig) { rc.MaxTokenLifetime = 20 * time.Minute })
	f.revoke("sid-a", t0)
	if err := v.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	count := func() int { v.rev.mu.RLock(); defer v.rev.mu.RUnlock(); return len(v.rev.revoked) }
	clock.Set(t0.Add(20 * time.Minute))
	_ = v.Sync(context.Background())
	if n := count(); n != 1 {
		t.Fatalf("at exactly the lifetime: got %d remembered, want 1", n)
	}
	clock.Add(time.Nanosecond)
	_ = v.Sync(context.Background())
	if n := count(); n != 0 {
		t.Fatalf("after the lifetime: got %d remembered, want 0", n)
	}
}

func TestTokensIssuedBeforePrime(t *testing.T) {
	for _, trust := range []bool{false, true} {
		is, f, clock := newIssuer(t), newFeed(t), testclock.New(t0.Add(time.Minute))
		v := newVerifier(t, is, clock, followFeed(f, func(rc *RevocationConfig) { rc.TrustTokensIssuedBeforePrime = trust }))
		old := is.token() // iat t0, before the verifier started
		_, err := v.Verify(context.Background(), old)
		if trust {
			if err != nil {
				t.Fatalf("trusting: got %v, want success", err)
			}
			continue
		}
		wantCode(t, err, sesame.EUnauthenticated, ErrRevoked)
		mustVerify(t, v, sign(t, is.key, claimsAt(clock.Now())))
	}
}

func TestMalformedFeedPages(t *testing.T) {
	tests := []struct{ name, body string }{
		{"not JSON", "<html>"},
		{"no next", `{"revocations":[]}`},
		{"next 0 with revocations", `{"revocations":[{"seq":1,"sid":"a","at":"2026-03-01T12:00:00Z"}],"next":0}`},
		{"next a string", `{"revocations":[],"next":"5"}`},
		{"revocations without progress", `{"revocations":[{"seq":1,"sid":"a","at":"2026-03-01T12:00:00Z"}],"next":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _, f, _ := newFollower(t)
			f.set(func(f *feed) {
				f.override = func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(tt.body)) }
			})
			if err := v.Sync(context.Background()); err == nil {
				t.Fatal("Sync: got success, want an error")
			}
		})
	}
}

func TestStartPollsInTheBackground(t *testing.T) {
	is, f, clock := newIssuer(t), newFeed(t), testclock.New(t0)
	f.requested = make(chan struct{}, 1)
	v := newVerifier(t, is, clock, followFeed(f))
	ctx, cancel := context.WithCancel(context.Background())
	v.Start(ctx)
	v.Start(ctx) // no effect
	<-f.requested
	cancel()
	v.loops.Wait()
	v.wait()
	if is.count() != 1 {
		t.Fatalf("got %d key-set fetches, want 1", is.count())
	}
	mustVerify(t, v, is.token())
}

// A feed that never had a revocation primes at position 0.
func TestPrimeOnEmptyFeed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("since") != "0" {
			t.Errorf("since: got %q, want 0", r.URL.Query().Get("since"))
		}
		w.Write([]byte(`{"revocations":[],"next":0}`))
	}))
	defer srv.Close()
	v, err := New(Config{JWKSURL: srv.URL + "/jwks", Issuer: "https://i", Audience: []string{"a"},
		Revocations: &RevocationConfig{URL: srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Sync(context.Background()); err != nil {
		t.Fatalf("Sync on an empty feed: %v", err)
	}
	if err := v.Sync(context.Background()); err != nil {
		t.Fatalf("second Sync on an empty feed: %v", err)
	}
}

// SEC-64: when the issuer's store loses its data, its feed begins again
// and answers 410 for the verifier's position. Every token issued before
// the re-prime is refused, even by a verifier that trusts tokens issued
// before its first prime: their sessions may be gone.
func TestSEC64_LostFeedRefusesEarlierTokensEvenWhenTrusting(t *testing.T) {
	is, f, clock := newIssuer(t), newFeed(t), testclock.New(t0.Add(time.Minute))
	v := newVerifier(t, is, clock, followFeed(f, func(rc *RevocationConfig) { rc.TrustTokensIssuedBeforePrime = true }))
	f.revoke("sid-a", t0)
	old := is.token(withSID("sid-live"))
	mustVerify(t, v, old)
	if err := v.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The issuer's store restarts empty: its new feed no longer holds the
	// verifier's position.
	f.set(func(f *feed) { f.entries = nil; f.retainedFrom = 100 })
	clock.Add(time.Second)
	if err := v.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(context.Background(), old)
	wantCode(t, err, sesame.EUnauthenticated, ErrRevoked)
	mustVerify(t, v, sign(t, is.key, func() *Claims { c := claimsAt(clock.Now()); c.SessionID = "sid-new"; return c }()))
}
