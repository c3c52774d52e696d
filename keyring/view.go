package keyring

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sesame-auth/sesame/jose"
)

// State is where a key is in its life.
type State string

// The states of a key, in the order a key passes through them.
const (
	// StatePending: published in the JWKS, not yet signing.
	StatePending State = "pending"
	// StateActive: a signing key (at most one key of each algorithm is
	// active).
	StateActive State = "active"
	// StateRetired: no longer signing, still published so that the tokens
	// it signed verify until they expire.
	StateRetired State = "retired"
	// StateExpired: every token it signed has expired; it is no longer
	// published or resolved, and the ring deletes it from the store.
	StateExpired State = "expired"
)

// KeyInfo describes one key without its private material.
type KeyInfo struct {
	KID        string
	Alg        jose.Algorithm
	State      State     // at the time Keys was called
	CreatedAt  time.Time // when it was generated and published
	ActivateAt time.Time // when it may start signing
	// RetireAt is when it stops signing: the earlier of its stored
	// RetiredAt and the activation of the first newer key of the same
	// algorithm that activates.
	// Zero while the key has no successor.
	RetireAt time.Time
	// ExpireAt is when it leaves the JWKS: RetireAt plus the ring's
	// MaxTokenLifetime and Leeway. Zero while RetireAt is.
	ExpireAt time.Time
}

// stateAt returns the key's state at now. Each boundary belongs to the
// later state: a key is active from ActivateAt on, retired from RetireAt
// on, expired from ExpireAt on.
func (k *KeyInfo) stateAt(now time.Time) State {
	switch {
	case !k.ExpireAt.IsZero() && !now.Before(k.ExpireAt):
		return StateExpired
	case !k.RetireAt.IsZero() && !now.Before(k.RetireAt):
		return StateRetired
	case now.Before(k.ActivateAt):
		return StatePending
	}
	return StateActive
}

// willSign reports whether the key is active at now or will be later.
func (k *KeyInfo) willSign(now time.Time) bool {
	switch k.stateAt(now) {
	case StateActive:
		return true
	case StatePending:
		return k.RetireAt.IsZero() || k.ActivateAt.Before(k.RetireAt)
	}
	return false
}

// entry is one key of a view.
type entry struct {
	info    KeyInfo
	sealed  []byte    // as stored, to reuse the parsed key when unchanged
	private *jose.Key // signs
	public  *jose.Key // verifies and is published
}

// view is an immutable snapshot of the ring's keys; only the JWKS cache
// inside it changes.
type view struct {
	entries []*entry // oldest first: by CreatedAt, ActivateAt, then KID
	byKID   map[string]*entry
	jwks    atomic.Pointer[jwksCache]
}

// jwksCache is the JWKS document valid while no key leaves: from the last
// departure at or before the time it was built (zero: none) until the next
// one (zero: none).
type jwksCache struct {
	doc         []byte
	from, until time.Time
}

func (c *jwksCache) covers(now time.Time) bool {
	return (c.from.IsZero() || !now.Before(c.from)) && (c.until.IsZero() || now.Before(c.until))
}

// newView orders the entries from oldest to newest (by CreatedAt, then
// ActivateAt, then KID, so that every process orders keys created at one
// instant alike) and computes each key's RetireAt and ExpireAt: a key
// retires at its stored RetiredAt or when a newer key activates, whichever
// comes first; a newer key that retires before it would activate
// supersedes nothing.
func newView(entries []*entry, retireAfter time.Duration) *view {
	slices.SortFunc(entries, func(a, b *entry) int {
		if c := a.info.CreatedAt.Compare(b.info.CreatedAt); c != 0 {
			return c
		}
		if c := a.info.ActivateAt.Compare(b.info.ActivateAt); c != 0 {
			return c
		}
		return strings.Compare(a.info.KID, b.info.KID)
	})
	// Each algorithm has its own succession: a key is superseded only by
	// a newer key of its algorithm.
	takeovers := map[jose.Algorithm]time.Time{} // earliest activation of a newer key that activates
	for i := len(entries) - 1; i >= 0; i-- {
		k := &entries[i].info
		takeover := takeovers[k.Alg]
		if !takeover.IsZero() && (k.RetireAt.IsZero() || takeover.Before(k.RetireAt)) {
			k.RetireAt = takeover
		}
		k.ExpireAt = time.Time{}
		if !k.RetireAt.IsZero() {
			k.ExpireAt = k.RetireAt.Add(retireAfter)
		}
		if (k.RetireAt.IsZero() || k.ActivateAt.Before(k.RetireAt)) && (takeover.IsZero() || k.ActivateAt.Before(takeover)) {
			takeovers[k.Alg] = k.ActivateAt
		}
	}
	return indexView(entries)
}

// indexView returns the view of entries, which are ordered and whose
// times are computed.
func indexView(entries []*entry) *view {
	v := &view{entries: entries, byKID: make(map[string]*entry, len(entries))}
	for _, e := range entries {
		v.byKID[e.info.KID] = e
	}
	return v
}

// signing returns the active entry of alg at now, or nil.
func (v *view) signing(alg jose.Algorithm, now time.Time) *entry {
	for i := len(v.entries) - 1; i >= 0; i-- {
		if e := v.entries[i]; e.info.Alg == alg && e.info.stateAt(now) == StateActive {
			return e
		}
	}
	return nil
}

// published reports whether e is in the JWKS at now: pending, active or
// retired, not expired.
func published(e *entry, now time.Time) bool {
	return e.info.ExpireAt.IsZero() || now.Before(e.info.ExpireAt)
}

// jwksAt returns the JWKS document at now, from the cache when no key has
// left since it was built.
func (v *view) jwksAt(now time.Time) []byte {
	if c := v.jwks.Load(); c != nil && c.covers(now) {
		return c.doc
	}
	c := &jwksCache{}
	keys := make([]*jose.Key, 0, len(v.entries))
	for _, e := range v.entries {
		exp := e.info.ExpireAt
		switch {
		case published(e, now):
			keys = append(keys, e.public)
			if !exp.IsZero() && (c.until.IsZero() || exp.Before(c.until)) {
				c.until = exp
			}
		case c.from.IsZero() || exp.After(c.from):
			c.from = exp
		}
	}
	c.doc = marshalJWKS(keys)
	v.jwks.Store(c)
	return c.doc
}

// marshalJWKS returns {"keys":[...]} with the public JWK of each key.
func marshalJWKS(keys []*jose.Key) []byte {
	b := []byte(`{"keys":[`)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		jwk, err := k.MarshalJSON()
		if err != nil { // only HMAC keys fail, and the ring refuses them
			panic("keyring: marshal public key: " + err.Error())
		}
		b = append(b, jwk...)
	}
	return append(b, "]}"...)
}
