package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

var t0 = time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)

type fixture struct {
	t        *testing.T
	ctx      context.Context
	clock    *testclock.Clock
	store    *memstore.Store
	sessions *session.Manager
	keys     *jose.KeySet
	svc      *token.Service
	mu       sync.Mutex
	events   []sesame.Event
}

func newFixture(t *testing.T, mod func(*token.Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), clock: testclock.New(t0), store: memstore.New()}
	sink := sesame.EventFunc(func(_ context.Context, e sesame.Event) {
		f.mu.Lock()
		f.events = append(f.events, e)
		f.mu.Unlock()
	})
	var err error
	f.sessions, err = session.New(f.store, session.Config{Clock: f.clock, Events: sink,
		RememberIdleTimeout: 7 * 24 * time.Hour, RememberLifetime: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	t.Cleanup(cancel)
	f.sessions.Start(ctx)
	key, err := jose.GenerateKey(jose.ES256, "")
	if err != nil {
		t.Fatal(err)
	}
	f.keys, _ = jose.NewKeySet(key)
	cfg := token.Config{Issuer: "https://auth.test", Keys: f.keys, SuccessorKey: []byte(strings.Repeat("k", 32)),
		Store: f.store, Sessions: f.sessions, Clock: f.clock, Events: sink}
	if mod != nil {
		mod(&cfg)
	}
	f.svc, err = token.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// login creates an API session for user and its first token pair.
func (f *fixture) login(user string) (*sesame.Session, *token.Pair) {
	f.t.Helper()
	sess, err := f.sessions.StartTokenSession(f.ctx, user, session.LoginOptions{Remember: true})
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := f.svc.Issue(f.ctx, sess, "app", "read write")
	if err != nil {
		f.t.Fatal(err)
	}
	return sess, p
}

func (f *fixture) wantAuth(tok string, ok bool) *token.AccessClaims {
	f.t.Helper()
	c, err := f.svc.Authenticate(f.ctx, tok)
	if ok && err != nil {
		f.t.Fatalf("Authenticate: %v, want success", err)
	}
	if !ok && err == nil {
		f.t.Fatal("Authenticate: got success, want rejection")
	}
	if !ok && sesame.ErrorCode(err) != sesame.EUnauthenticated {
		f.t.Fatalf("Authenticate: got code %s, want unauthenticated", sesame.ErrorCode(err))
	}
	return c
}

func (f *fixture) count(t sesame.EventType) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, e := range f.events {
		if e.Type == t {
			n++
		}
	}
	return n
}

// sign signs arbitrary claims with the service's key, as an attacker who
// got the service to sign another kind of token, or a misconfigured peer.
func (f *fixture) sign(claims any, typ string) string {
	f.t.Helper()
	tok, err := jose.SignJWT(f.keys.SigningKey(), claims, jose.SignOptions{Type: typ})
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

func TestIssueAndAuthenticate(t *testing.T) {
	f := newFixture(t, nil)
	sess, p := f.login("alice")
	if p.TokenType != "Bearer" || p.ExpiresIn != 900 || p.Scope != "read write" {
		t.Fatalf("pair: got type %q expires_in %d scope %q", p.TokenType, p.ExpiresIn, p.Scope)
	}
	c := f.wantAuth(p.AccessToken, true)
	if c.Subject != "alice" || c.SessionID != sess.ID || c.ClientID != "app" || c.Issuer != "https://auth.test" ||
		!c.Audience.Contains("https://auth.test") || c.ID == "" || !c.IssuedAt.Equal(t0) || !c.ExpiresAt.Equal(t0.Add(15*time.Minute)) {
		t.Fatalf("claims: got %+v", c)
	}
	_, hdr, err := jose.Verify(p.AccessToken, f.keys)
	if err != nil || hdr.Type != "at+jwt" || hdr.Algorithm != jose.ES256 {
		t.Fatalf("header: got %+v %v, want typ at+jwt alg ES256", hdr, err)
	}
}

// SEC-19, SEC-26: exp is checked at its boundary; the lifetime is 15 min
// and never passes the session's absolute end.
func TestSEC19_ExpiryBoundary(t *testing.T) {
	f := newFixture(t, nil)
	_, p := f.login("alice")
	f.clock.Set(t0.Add(15*time.Minute - time.Second))
	f.wantAuth(p.AccessToken, true)
	f.clock.Set(t0.Add(15 * time.Minute))
	f.wantAuth(p.AccessToken, false)

	// A session ending in 5 minutes gets a 5-minute token.
	g := newFixture(t, nil)
	sess, err := g.sessions.StartTokenSession(g.ctx, "bob", session.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sess.ExpiresAt = t0.Add(5 * time.Minute)
	q, err := g.svc.Issue(g.ctx, sess, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if c := g.wantAuth(q.AccessToken, true); !c.ExpiresAt.Equal(t0.Add(5 * time.Minute)) {
		t.Fatalf("token exp: got %v, want the session's end %v", c.ExpiresAt.Time, t0.Add(5*time.Minute))
	}
}

// SEC-20, attack 8: tokens of other kinds are not access tokens.
func TestSEC20_CrossTokenConfusion(t *testing.T) {
	f := newFixture(t, nil)
	sess, p := f.login("alice")
	claims := token.AccessClaims{Claims: jose.Claims{Issuer: "https://auth.test", Subject: "alice",
		Audience: jose.Audience{"https://auth.test"}, IssuedAt: jose.NewNumericDate(t0),
		ExpiresAt: jose.NewNumericDate(t0.Add(time.Hour)), ID: "x"}, SessionID: sess.ID, ClientID: "app"}
	cases := map[string]string{
		"id token (typ JWT)":      f.sign(claims, "JWT"),
		"no typ":                  f.sign(claims, ""),
		"refresh token":           p.RefreshToken,
		"refresh-style typ":       f.sign(claims, "rt+jwt"),
		"access token + trailing": p.AccessToken + ".",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) { f.wantAuth(tok, false) })
	}
	f.wantAuth(f.sign(claims, "application/AT+JWT"), true) // the same claims as a real access token pass
}

// SEC-21: iss exact, aud from the allow-list.
func TestSEC21_IssuerAndAudience(t *testing.T) {
	f := newFixture(t, nil)
	sess, _ := f.login("alice")
	mk := func(iss string, aud ...string) string {
		return f.sign(token.AccessClaims{Claims: jose.Claims{Issuer: iss, Subject: "alice", Audience: jose.Audience(aud),
			IssuedAt: jose.NewNumericDate(t0), ExpiresAt: jose.NewNumericDate(t0.Add(time.Hour)), ID: "j"},
			SessionID: sess.ID, ClientID: "app"}, "at+jwt")
	}
	f.wantAuth(mk("https://auth.test", "https://auth.test"), true)
	f.wantAuth(mk("https://auth.test", "other", "https://auth.test"), true)
	for name, tok := range map[string]string{
		"other issuer":    mk("https://evil.test", "https://auth.test"),
		"issuer prefix":   mk("https://auth.test.evil", "https://auth.test"),
		"issuer case":     mk("https://AUTH.test", "https://auth.test"),
		"other audience":  mk("https://auth.test", "https://api.other"),
		"empty audience":  mk("https://auth.test"),
		"audience suffix": mk("https://auth.test", "https://auth.test/"),
	} {
		t.Run(name, func(t *testing.T) { f.wantAuth(tok, false) })
	}
}

// SEC-22: every required claim, dropped one at a time, is refused.
func TestSEC22_RequiredClaims(t *testing.T) {
	f := newFixture(t, nil)
	sess, _ := f.login("alice")
	full := map[string]any{"iss": "https://auth.test", "sub": "alice", "aud": "https://auth.test",
		"exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix(), "jti": "j1", "sid": sess.ID, "client_id": "app"}
	f.wantAuth(f.sign(full, "at+jwt"), true)
	for name := range full {
		t.Run("without "+name, func(t *testing.T) {
			c := map[string]any{}
			for k, v := range full {
				if k != name {
					c[k] = v
				}
			}
			f.wantAuth(f.sign(c, "at+jwt"), false)
		})
	}
}

// SEC-25, attack 10: revocation is keyed on the session, so a revoked
// token re-encoded with s replaced by n−s stays rejected.
func TestSEC25_RevokedTokenMalleated(t *testing.T) {
	f := newFixture(t, nil)
	sess, p := f.login("alice")
	f.wantAuth(p.AccessToken, true)
	malleated := malleate(t, p.AccessToken)
	if _, _, err := jose.Verify(malleated, f.keys); err != nil {
		t.Skipf("jose rejects high-s signatures (%v): the attack cannot even start", err)
	}
	if _, err := f.sessions.Revoke(f.ctx, sess.ID, "logout"); err != nil {
		t.Fatal(err)
	}
	f.wantAuth(p.AccessToken, false)
	f.wantAuth(malleated, false)
}

// malleate returns the token with its ECDSA signature (r, s) replaced by
// (r, n−s), which verifies too.
func malleate(t *testing.T, tok string) string {
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature: %v", err)
	}
	n := elliptic.P256().Params().N
	s := new(big.Int).SetBytes(sig[32:])
	s.Sub(n, s)
	out := append([]byte(nil), sig[:32]...)
	out = append(out, s.FillBytes(make([]byte, 32))...)
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString(out)
}

var _ = ecdsa.Verify

// SEC-28: refresh tokens are 256-bit random and stored only hashed.
func TestSEC28_RefreshTokenStoredHashed(t *testing.T) {
	f := newFixture(t, nil)
	_, p := f.login("alice")
	raw, err := base64.RawURLEncoding.DecodeString(p.RefreshToken)
	if err != nil || len(raw) != 32 {
		t.Fatalf("refresh token: %d bytes (%v), want 32", len(raw), err)
	}
	r, err := f.store.RefreshByHash(f.ctx, sha256.Sum256(raw))
	if err != nil {
		t.Fatalf("the store does not find the token by its SHA-256: %v", err)
	}
	for _, v := range []string{r.FamilyID, r.SessionID, r.UserID, r.ClientID, r.Scope, r.AccessJTI} {
		if strings.Contains(v, p.RefreshToken) {
			t.Fatal("the store holds the refresh token text")
		}
	}
	_, q := f.login("alice")
	if q.RefreshToken == p.RefreshToken {
		t.Fatal("two logins got the same refresh token")
	}
}

// SEC-29: rotation; within the grace the same pair; after it, reuse kills
// the family and the session.
func TestSEC29_RotationGraceReuse(t *testing.T) {
	f := newFixture(t, nil)
	sess, rt1 := f.login("alice")
	f.clock.Add(time.Minute)
	rt2, err := f.svc.Refresh(f.ctx, rt1.RefreshToken, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if rt2.RefreshToken == rt1.RefreshToken || rt2.AccessToken == rt1.AccessToken {
		t.Fatal("refresh returned the old tokens")
	}
	f.clock.Add(10*time.Second - time.Nanosecond)
	again, err := f.svc.Refresh(f.ctx, rt1.RefreshToken, "", "")
	if err != nil {
		t.Fatalf("replay within the grace: %v", err)
	}
	c2, cA := f.wantAuth(rt2.AccessToken, true), f.wantAuth(again.AccessToken, true)
	if again.RefreshToken != rt2.RefreshToken || cA.ID != c2.ID || !cA.ExpiresAt.Equal(c2.ExpiresAt.Time) {
		t.Fatal("replay within the grace: want the same successor pair (same refresh token, same access jti and exp)")
	}
	if f.count(sesame.EventRefreshReuse) != 0 {
		t.Fatal("a replay within the grace was reported as reuse")
	}
	f.clock.Add(time.Nanosecond) // the grace is over
	if _, err := f.svc.Refresh(f.ctx, rt1.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatalf("reuse after the grace: got %v, want ErrInvalidGrant", err)
	}
	if _, err := f.svc.Refresh(f.ctx, rt2.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatalf("the successor after reuse: got %v, want ErrInvalidGrant", err)
	}
	f.wantAuth(rt2.AccessToken, false)
	if _, err := f.sessions.Lookup(f.ctx, sess.ID); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatal("the session survived refresh-token reuse")
	}
	if f.count(sesame.EventRefreshReuse) != 1 {
		t.Fatalf("refresh.reuse events: got %d, want 1", f.count(sesame.EventRefreshReuse))
	}
}

// SEC-29: a token from an already-rotated branch (two rotations back) is
// reuse too; with no grace, any replay is.
func TestSEC29_OldBranchAndNoGrace(t *testing.T) {
	f := newFixture(t, func(c *token.Config) { c.Grace = -1 })
	_, p1 := f.login("alice")
	p2, err := f.svc.Refresh(f.ctx, p1.RefreshToken, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Refresh(f.ctx, p1.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatalf("immediate replay without grace: got %v, want reuse", err)
	}
	if _, err := f.svc.Refresh(f.ctx, p2.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatal("the family survived reuse")
	}
}

// SEC-30: 100 concurrent redemptions of one token yield one successor.
func TestSEC30_ConcurrentRedemption(t *testing.T) {
	f := newFixture(t, nil)
	_, p := f.login("alice")
	const n = 100
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q, err := f.svc.Refresh(f.ctx, p.RefreshToken, "", "")
			if err != nil {
				t.Errorf("concurrent refresh %d: %v", i, err)
				return
			}
			got[i] = q.RefreshToken
		}()
	}
	wg.Wait()
	for i := range got {
		if got[i] != got[0] {
			t.Fatal("concurrent redemptions returned different successors")
		}
	}
	if f.count(sesame.EventRefreshRotated) != 1 {
		t.Fatalf("rotations: got %d, want exactly 1", f.count(sesame.EventRefreshRotated))
	}
	if _, err := f.svc.Refresh(f.ctx, got[0], "", ""); err != nil {
		t.Fatalf("the one successor does not work: %v", err)
	}
}

// SEC-31: idle expiry, and an absolute expiry that rotation never extends.
func TestSEC31_RefreshExpiry(t *testing.T) {
	f := newFixture(t, nil)
	_, p := f.login("alice")
	f.clock.Add(7*24*time.Hour - time.Second)
	p, err := f.svc.Refresh(f.ctx, p.RefreshToken, "", "")
	if err != nil {
		t.Fatalf("refresh just before the idle expiry: %v", err)
	}
	f.clock.Add(7 * 24 * time.Hour)
	if _, err := f.svc.Refresh(f.ctx, p.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatalf("refresh at the idle expiry: got %v, want ErrInvalidGrant", err)
	}

	g := newFixture(t, nil)
	_, q := g.login("bob")
	for day := 1; day < 30; day++ {
		g.clock.Set(t0.Add(time.Duration(day) * 24 * time.Hour))
		if q, err = g.svc.Refresh(g.ctx, q.RefreshToken, "", ""); err != nil {
			t.Fatalf("daily refresh on day %d: %v", day, err)
		}
	}
	g.clock.Set(t0.Add(30 * 24 * time.Hour))
	if _, err := g.svc.Refresh(g.ctx, q.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatalf("refresh at the absolute expiry: got %v, want ErrInvalidGrant", err)
	}
}

// SEC-32: bound to the client; the scope can narrow, never widen.
func TestSEC32_ClientAndScope(t *testing.T) {
	f := newFixture(t, nil)
	_, p := f.login("alice")
	if _, err := f.svc.Refresh(f.ctx, p.RefreshToken, "other-app", ""); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatalf("another client: got %v, want ErrInvalidGrant", err)
	}
	if _, err := f.svc.Refresh(f.ctx, p.RefreshToken, "", "read admin"); !errors.Is(err, token.ErrInvalidScope) {
		t.Fatalf("wider scope: got %v, want ErrInvalidScope", err)
	}
	q, err := f.svc.Refresh(f.ctx, p.RefreshToken, "app", "read")
	if err != nil {
		t.Fatal(err)
	}
	if c := f.wantAuth(q.AccessToken, true); c.Scope != "read" {
		t.Fatalf("narrowed scope: got %q, want read", c.Scope)
	}
	r, err := f.svc.Refresh(f.ctx, q.RefreshToken, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if c := f.wantAuth(r.AccessToken, true); c.Scope != "read write" {
		t.Fatalf("scope after a narrowed refresh: got %q, want the granted read write", c.Scope)
	}
}

// SEC-33: revoking a refresh token revokes its family, its session and so
// its access tokens; revoking an access token revokes its session; logout
// kills the refresh token; unknown tokens are fine (RFC 7009).
func TestSEC33_Revocation(t *testing.T) {
	f := newFixture(t, nil)
	_, p := f.login("alice")
	if err := f.svc.Revoke(f.ctx, p.RefreshToken, ""); err != nil {
		t.Fatal(err)
	}
	f.wantAuth(p.AccessToken, false)
	if _, err := f.svc.Refresh(f.ctx, p.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatal("a revoked refresh token still works")
	}

	_, q := f.login("alice")
	if err := f.svc.Revoke(f.ctx, q.AccessToken, "access_token"); err != nil {
		t.Fatal(err)
	}
	f.wantAuth(q.AccessToken, false)
	if _, err := f.svc.Refresh(f.ctx, q.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatal("revoking the access token left its refresh token alive")
	}

	sess, r := f.login("alice")
	if _, err := f.sessions.Revoke(f.ctx, sess.ID, "logout"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Refresh(f.ctx, r.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatal("logout left the refresh token alive")
	}
	for _, junk := range []string{"", "nope", strings.Repeat("A", 43), "a.b.c", q.AccessToken} {
		if err := f.svc.Revoke(f.ctx, junk, "refresh_token"); err != nil {
			t.Fatalf("revoking an unknown token %q: %v, want nil", junk[:min(len(junk), 8)], err)
		}
	}
}

// A block revokes every session: every access token of the user dies at
// once, from the in-process denylist.
func TestBlockKillsAllAccessTokens(t *testing.T) {
	f := newFixture(t, nil)
	_, a := f.login("alice")
	_, b := f.login("alice")
	_, c := f.login("carol")
	if _, err := f.sessions.RevokeUser(f.ctx, "alice", "", "blocked"); err != nil {
		t.Fatal(err)
	}
	f.wantAuth(a.AccessToken, false)
	f.wantAuth(b.AccessToken, false)
	f.wantAuth(c.AccessToken, true)
}

// A revocation made by another process reaches this one's denylist through
// the store's change feed; and a process started after the revocation
// knows it too.
func TestRevocationFromAnotherProcess(t *testing.T) {
	f := newFixture(t, nil)
	sess, p := f.login("alice")
	f.wantAuth(p.AccessToken, true)
	other, err := session.New(f.store, session.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Revoke(f.ctx, sess.ID, "cli"); err != nil {
		t.Fatal(err)
	}
	if err := f.sessions.Sync(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.wantAuth(p.AccessToken, false)

	late, err := session.New(f.store, session.Config{Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := late.Sync(f.ctx); err != nil {
		t.Fatal(err)
	}
	if err := late.CheckLive(f.ctx, sess.ID); !errors.Is(err, session.ErrSessionRevoked) {
		t.Fatalf("a process started after the revocation: CheckLive got %v, want ErrSessionRevoked", err)
	}
}

func TestConfigValidation(t *testing.T) {
	f := newFixture(t, nil)
	base := token.Config{Issuer: "https://a", Keys: f.keys, SuccessorKey: make([]byte, 32), Store: f.store, Sessions: f.sessions}
	for name, mod := range map[string]func(*token.Config){
		"no issuer":           func(c *token.Config) { c.Issuer = "" },
		"short successor key": func(c *token.Config) { c.SuccessorKey = make([]byte, 16) },
		"access TTL over 1 h": func(c *token.Config) { c.AccessTTL = 2 * time.Hour },
		"no store":            func(c *token.Config) { c.Store = nil },
	} {
		c := base
		mod(&c)
		if _, err := token.New(c); err == nil {
			t.Errorf("%s: New succeeded, want an error", name)
		}
	}
}

// countingKeys counts key resolutions, i.e. signature verifications.
type countingKeys struct {
	*jose.KeySet
	mu sync.Mutex
	n  int
}

func (k *countingKeys) ResolveKey(kid string) (*jose.Key, error) {
	k.mu.Lock()
	k.n++
	k.mu.Unlock()
	return k.KeySet.ResolveKey(kid)
}

// Item 6 of issue 4: a token verified once is not verified again until it
// expires, but its session is checked on every request.
func TestVerifiedTokenCache(t *testing.T) {
	var keys *countingKeys
	f := newFixture(t, nil)
	keys = &countingKeys{KeySet: f.keys}
	svc, err := token.New(token.Config{Issuer: "https://auth.test", Keys: keys, SuccessorKey: make([]byte, 32),
		Store: f.store, Sessions: f.sessions, Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := f.sessions.StartTokenSession(f.ctx, "alice", session.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Issue(f.ctx, sess, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := svc.Authenticate(f.ctx, p.AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	if keys.n != 1 {
		t.Fatalf("signature verifications for 5 uses of one token: got %d, want 1", keys.n)
	}
	if _, err := f.sessions.Revoke(f.ctx, sess.ID, "logout"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(f.ctx, p.AccessToken); err == nil {
		t.Fatal("a cached token of a revoked session was accepted")
	}
	// At its expiry the cache entry goes and the verifier rejects it.
	q, _ := svc.Issue(f.ctx, mustSession(t, f), "", "")
	svc.Authenticate(f.ctx, q.AccessToken)
	f.clock.Add(15 * time.Minute)
	if _, err := svc.Authenticate(f.ctx, q.AccessToken); err == nil {
		t.Fatal("a cached token was accepted at its expiry")
	}
}

func mustSession(t *testing.T, f *fixture) *sesame.Session {
	s, err := f.sessions.StartTokenSession(f.ctx, "bob", session.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// inFlightStore makes the first RedeemRefresh conflict while the redeemed
// token still reads as unused and its successor appears a moment later:
// what a losing request sees on a store that claims the successor before
// marking the token (Redis, across hash slots).
type inFlightStore struct {
	*memstore.Store
	once sync.Once
}

func (s *inFlightStore) RedeemRefresh(ctx context.Context, h [32]byte, at time.Time, next *token.Refresh) error {
	conflict := false
	s.once.Do(func() {
		conflict = true
		go func() {
			time.Sleep(20 * time.Millisecond)
			s.Store.RedeemRefresh(ctx, h, at, next) // the winner finishes
		}()
	})
	if conflict {
		return sesame.Errorf(sesame.EConflict, "successor refresh token exists")
	}
	return s.Store.RedeemRefresh(ctx, h, at, next)
}

// SEC-29/30: a concurrent redemption still in flight is a simultaneous
// request, never reuse: the loser gets the same successor and the session
// lives.
func TestRedemptionInFlightIsNotReuse(t *testing.T) {
	f := newFixture(t, nil)
	store := &inFlightStore{Store: f.store}
	svc, err := token.New(token.Config{Issuer: "https://auth.test", Keys: f.keys, SuccessorKey: []byte(strings.Repeat("k", 32)),
		Store: store, Sessions: f.sessions, Clock: f.clock, Events: sesame.EventFunc(func(_ context.Context, e sesame.Event) {
			if e.Type == sesame.EventRefreshReuse {
				t.Error("an in-flight redemption was reported as reuse")
			}
		})})
	if err != nil {
		t.Fatal(err)
	}
	sess, _ := f.login("alice")
	p, err := svc.Issue(f.ctx, sess, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	q, err := svc.Refresh(f.ctx, p.RefreshToken, "", "")
	if err != nil {
		t.Fatalf("the request that lost to an in-flight redemption: %v, want the successor pair", err)
	}
	if _, err := f.sessions.Lookup(f.ctx, sess.ID); err != nil {
		t.Fatal("the session was revoked")
	}
	if _, err := svc.Refresh(f.ctx, q.RefreshToken, "", ""); err != nil {
		t.Fatalf("the successor does not work: %v", err)
	}
}
