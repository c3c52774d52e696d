package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
)

// retryAfterFailure is the least time between two fetches while no key set
// has ever been fetched: requests fail with 503 meanwhile, and a down
// issuer is not hammered by every one of them.
const retryAfterFailure = time.Second

// remoteKeys is the cached key set of the pinned JWKS URL. It implements
// [jose.KeyResolver] over the last good set. Safe for concurrent use.
type remoteKeys struct {
	url       string
	client    *http.Client
	maxBytes  int64
	clock     sesame.Clock
	log       *slog.Logger
	refresh   time.Duration
	cooldown  time.Duration
	started   *atomic.Bool // set by Verifier.Start: no lazy refresh then
	onRemoved func()       // a key was withdrawn or replaced

	set    atomic.Pointer[jose.KeySet]
	due    atomic.Int64 // UnixNano when a lazy refresh is due
	flight flight

	// Guarded by flight.mu.
	lastAttempt time.Time
	lastForced  time.Time
}

var errNoKeySet = fmt.Errorf("verify: no key set: %w", jose.ErrKeyNotFound)

// ResolveKey implements [jose.KeyResolver]. The kid is only a map key.
func (k *remoteKeys) ResolveKey(kid string) (*jose.Key, error) {
	set := k.set.Load()
	if set == nil {
		return nil, errNoKeySet
	}
	return set.ResolveKey(kid)
}

// ready makes sure a key set is loaded, fetching it when none ever was,
// and starts a lazy background refresh when one is due. It fails with a 503
// error when no usable set can be had.
func (k *remoteKeys) ready(ctx context.Context, now time.Time) error {
	if k.set.Load() != nil {
		k.refreshIfDue(ctx, now)
		return nil
	}
	call := k.flight.begin(ctx, k.fetch, func() bool {
		if !k.lastAttempt.IsZero() && now.Sub(k.lastAttempt) < retryAfterFailure {
			return false
		}
		k.lastAttempt = now
		return true
	})
	if call != nil {
		_ = call.wait(ctx) // fetch logs its failures
	}
	if k.set.Load() == nil {
		return errNoKeys
	}
	return nil
}

// refreshIfDue starts a background refresh when RefreshInterval has passed
// since the last good fetch (or the cooldown since a failed one), unless
// [Verifier.Start] refreshes on a timer.
func (k *remoteKeys) refreshIfDue(ctx context.Context, now time.Time) {
	if k.started.Load() || now.UnixNano() < k.due.Load() {
		return
	}
	k.flight.begin(ctx, k.fetch, func() bool {
		if !k.lastAttempt.IsZero() && now.Sub(k.lastAttempt) < k.cooldown {
			return false
		}
		k.lastAttempt = now
		return true
	})
}

// refetchUnknown is called when a token's kid is not in the set. It
// fetches the set again, or joins a fetch in flight, at most once per
// cooldown, and reports whether a fetch completed so that the token is worth
// verifying again.
func (k *remoteKeys) refetchUnknown(ctx context.Context, now time.Time) bool {
	call := k.flight.begin(ctx, k.fetch, func() bool {
		if !k.lastForced.IsZero() && now.Sub(k.lastForced) < k.cooldown {
			return false
		}
		k.lastForced, k.lastAttempt = now, now
		return true
	})
	return call != nil && call.wait(ctx) == nil
}

// refreshNow fetches the set, or joins a fetch in flight, and waits.
func (k *remoteKeys) refreshNow(ctx context.Context) error {
	now := k.clock.Now()
	return k.flight.begin(ctx, k.fetch, func() bool {
		k.lastAttempt = now
		return true
	}).wait(ctx)
}

// fetch runs in the flight. On any failure the last good set stays.
func (k *remoteKeys) fetch(ctx context.Context) error {
	set, err := k.download(ctx)
	now := k.clock.Now()
	if err != nil {
		k.due.Store(now.Add(k.cooldown).UnixNano())
		k.log.Warn("verify: key set fetch failed; keeping the last good set", "url", k.url, "err", err)
		return err
	}
	k.due.Store(now.Add(k.refresh).UnixNano())
	if old := k.set.Swap(set); old != nil && withdrawn(old, set) && k.onRemoved != nil {
		k.onRemoved()
	}
	return nil
}

func (k *remoteKeys) download(ctx context.Context) (*jose.KeySet, error) {
	status, body, err := get(ctx, k.client, k.url, k.maxBytes)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("verify: key set endpoint answered %d", status)
	}
	set, skipped, err := parseKeySet(body)
	for _, s := range skipped {
		k.log.Warn("verify: skipping an unusable key of the key set", "url", k.url, "err", s)
	}
	return set, err
}

// withdrawn reports whether a key of old is missing from cur or has
// changed, so that tokens it verified must be verified again.
func withdrawn(old, cur *jose.KeySet) bool {
	for _, o := range old.Keys() {
		c, ok := cur.Lookup(o.KID())
		if !ok || c.Thumbprint() != o.Thumbprint() || c.Algorithm() != o.Algorithm() {
			return true
		}
	}
	return false
}

// parseKeySet reads a JWK Set leniently at the set level and strictly at
// the key level: each key must parse with [jose.ParseJWK] and be an
// asymmetric verification key, or it is skipped and reported; one bad key
// does not discard the others. A set with no usable key is an error, so
// that the last good set stays.
func parseKeySet(body []byte) (set *jose.KeySet, skipped []error, err error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil || env == nil {
		return nil, nil, errors.New("verify: key set is not a JSON object")
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(env["keys"], &raws); err != nil || raws == nil {
		return nil, nil, errors.New("verify: key set has no keys array")
	}
	set = &jose.KeySet{}
	for i, raw := range raws {
		key, err := usableKey(raw)
		if err == nil {
			err = set.Add(key)
		}
		if err != nil {
			skipped = append(skipped, fmt.Errorf("key %d%s: %w", i, kidOf(raw), err))
		}
	}
	if set.Len() == 0 {
		return nil, skipped, errors.New("verify: key set has no usable key")
	}
	return set, skipped, nil
}

func usableKey(raw []byte) (*jose.Key, error) {
	key, err := jose.ParseJWK(raw)
	if err != nil {
		return nil, err
	}
	if key.IsSymmetric() {
		// A published secret is no secret: anyone could sign with it.
		return nil, errors.New("verify: an HMAC key in a published key set is never used")
	}
	if !key.CanVerify() {
		return nil, errors.New("verify: key may not verify (key_ops)")
	}
	return key.Public(), nil
}

// kidOf returns ` (kid "...")` for log messages, or "" when the key has no
// string kid.
func kidOf(raw []byte) string {
	var k struct {
		KID string `json:"kid"`
	}
	if json.Unmarshal(raw, &k) != nil || k.KID == "" {
		return ""
	}
	if len(k.KID) > 64 {
		k.KID = k.KID[:64] + "..."
	}
	return fmt.Sprintf(" (kid %q)", k.KID)
}
