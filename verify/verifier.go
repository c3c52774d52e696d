package verify

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/tokencache"
	"github.com/sesame-auth/sesame/jose"
)

// Claims are the claims of a Sesame access token: the one type
// [sesame.AccessClaims] that the issuer (package token) and the server use
// too. Each call of [Verifier.Verify] returns its own copy, but the
// Audience slice may be shared: do not modify it.
type Claims = sesame.AccessClaims

// requiredClaims must be present on every token (SEC-22); iss and exp are
// required by the issuer and expiry checks. clientTokenClaims are those of
// a verifier that accepts clients' own tokens, which have no sid.
var (
	requiredClaims    = []string{"sub", "aud", "iat", "jti", "sid", "client_id"}
	clientTokenClaims = []string{"sub", "aud", "iat", "jti", "client_id"}
)

// Verifier verifies Sesame access tokens against the issuer's published
// key set and, optionally, its revocation feed. Create one with [New] and
// share it: a Verifier is safe for concurrent use.
type Verifier struct {
	jose    jose.Verifier
	keys    *remoteKeys
	rev     *revocationView // nil when not following revocations
	cache   *tokencache.Cache[*Claims]
	clock   sesame.Clock
	log     *slog.Logger
	leeway  time.Duration
	deny    http.Handler
	started atomic.Bool
	loops   sync.WaitGroup
	cfg     *settings
}

// New returns a Verifier for cfg. It checks the configuration only and
// fetches nothing: the key set is fetched by the first request, by
// [Verifier.Refresh] or by [Verifier.Start].
func New(cfg Config) (*Verifier, error) {
	s, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	v := &Verifier{clock: s.Clock, log: s.Logger, leeway: s.Leeway, deny: s.DenyHandler, cfg: s}
	if v.deny == nil {
		v.deny = http.HandlerFunc(defaultDeny)
	}
	if s.CacheSize > 0 {
		v.cache = tokencache.New[*Claims](s.CacheSize)
	}
	v.keys = &remoteKeys{
		url: s.jwksURL.String(), client: s.HTTPClient, maxBytes: s.MaxJWKSBytes,
		clock: s.Clock, log: s.Logger, refresh: s.RefreshInterval, cooldown: s.RefetchCooldown,
		started: &v.started,
	}
	if v.cache != nil {
		v.keys.onRemoved = v.cache.Clear
	}
	v.jose = jose.Verifier{
		Keys: v.keys, Issuer: s.Issuer, Audience: s.Audience, Type: s.Type,
		Leeway: s.Leeway, Required: requiredClaims, Now: s.Clock.Now,
	}
	if s.AcceptClientTokens {
		v.jose.Required = clientTokenClaims
	}
	if s.rev != nil {
		stream := *s.HTTPClient
		stream.Timeout = 0 // the stream is open for good; it has its own deadlines
		v.rev = &revocationView{
			cfg: s.rev, client: s.HTTPClient, streamClient: &stream, clock: s.Clock, log: s.Logger,
			leeway: s.Leeway, started: &v.started,
		}
	}
	return v, nil
}

// Verify verifies an access token and returns its claims: signature with a
// key of the pinned key set (SEC-16 to SEC-18), typ, iss, aud, exp, nbf,
// iat and the required claims (SEC-19 to SEC-22); then, when following
// revocations, that its session is not revoked.
//
// It returns a *[sesame.Error] with code [sesame.EUnauthenticated] for a
// token that does not verify or whose session is revoked, and with code
// [sesame.EUnavailable] when it cannot decide ([ErrUnavailable]): it fails
// closed. ctx bounds any fetch the call waits for.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	now := v.clock.Now()
	c, err := v.verifyToken(ctx, token, now)
	if err != nil {
		return nil, err
	}
	if v.rev != nil {
		if err := v.rev.check(ctx, c, now); err != nil {
			return nil, err
		}
	}
	out := *c // callers may modify their copy; the cached one stays intact
	return &out, nil
}

// verifyToken checks everything but revocation, through the cache of
// verified tokens.
func (v *Verifier) verifyToken(ctx context.Context, token string, now time.Time) (*Claims, error) {
	if v.cache != nil {
		if c, ok := v.cache.Get(token, now); ok {
			v.keys.refreshIfDue(ctx, now)
			return c, nil
		}
	}
	if err := v.keys.ready(ctx, now); err != nil {
		return nil, err
	}
	set := v.keys.set.Load()
	c := new(Claims)
	err := v.jose.Verify(token, c)
	if errors.Is(err, jose.ErrKeyNotFound) && v.keys.refetchUnknown(ctx, now) {
		err = v.jose.Verify(token, c)
	}
	if err != nil {
		return nil, invalid(err)
	}
	if c.Subject == "" || c.ClientID == "" {
		return nil, errNoSession
	}
	if c.SessionID == "" && (!v.cfg.AcceptClientTokens || c.Subject != c.ClientID) {
		return nil, errClientToken // SEC-59: a client's own token is no user's
	}
	// Not cached when the key set changed meanwhile: the key that verified
	// the token may just have been withdrawn, and the cache cleared.
	if v.cache != nil && v.keys.set.Load() == set {
		v.cache.Put(token, c, c.ExpiresAt.Add(v.leeway))
	}
	return c, nil
}

// Refresh fetches the key set now, or waits for a fetch in flight. On
// failure the last good set stays. Call it at start-up to fail fast when
// the issuer is unreachable.
func (v *Verifier) Refresh(ctx context.Context) error {
	return v.keys.refreshNow(ctx)
}

// Sync reads the revocation feed now until caught up (priming it first,
// or again after 410 Gone), or waits for a read in flight. It returns nil
// at once when the verifier does not follow revocations.
func (v *Verifier) Sync(ctx context.Context) error {
	if v.rev == nil {
		return nil
	}
	return v.rev.syncNow(ctx)
}

// Start refreshes the key set every RefreshInterval and follows the
// revocation feed in background goroutines, until ctx is done; a first
// refresh happens at once. The feed is followed on its stream (by default,
// [TransportStream]: revocations are pushed, the stream's catch-up primes
// at once), falling back to reading it every PollInterval, or only read
// every PollInterval ([TransportPoll], a first read at once). Without
// Start, both the key set and the feed are fetched lazily, started (not
// awaited) by requests once due, and the feed is polled. Calling Start
// more than once has no effect.
func (v *Verifier) Start(ctx context.Context) {
	if !v.started.CompareAndSwap(false, true) {
		return
	}
	v.loops.Go(func() { every(ctx, v.cfg.RefreshInterval, func() { _ = v.Refresh(ctx) }) })
	switch {
	case v.rev == nil:
	case v.rev.cfg.Transport == TransportPoll:
		v.loops.Go(func() { every(ctx, v.rev.cfg.PollInterval, func() { _ = v.Sync(ctx) }) })
	default:
		v.loops.Go(func() { v.rev.follow(ctx) })
	}
}

// every runs fn now and then every d until ctx is done.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
