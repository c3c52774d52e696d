package session

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
)

// view is a process's in-process copy of the session records it has seen,
// keyed by token hash, so that an authenticated request needs no store
// round-trip.
//
// The view is only trusted while it is in sync with the store's change
// feed: a sync loop reads the feed every syncInterval, and a view that has
// not synced successfully within staleAfter is bypassed (every request
// reads the store) until it has caught up again. Changes made through this
// process's own manager are applied to the view at once; changes made by
// other processes arrive through the feed.
//
// Cached sessions are immutable snapshots: readers never modify them, and
// writers replace them.
type view struct {
	store      Store
	logger     *slog.Logger
	max        int
	interval   time.Duration
	staleAfter time.Duration

	mu       sync.RWMutex
	byHash   map[[32]byte]*sesame.Session
	hashesOf map[string][][32]byte // session ID → hashes it is cached under
	recent   map[string]int64      // session ID → Seq of its latest change seen
	deny     map[string]time.Time  // session ID → when it was revoked (token path)
	denyTTL  time.Duration         // how long a revoked ID stays on the denylist
	floor    int64                 // reads from before this position are never cached
	cursor   int64                 // last change Seq applied
	syncedAt time.Time             // last successful sync (monotonic)
	primed   bool                  // cursor initialised from the feed

	// With a notifier: deaf while it may be missing notifications; cleared
	// by the first successful sync that started after a reconnection
	// (connGen counts reconnections).
	deaf    bool
	connGen int64
	kick    chan struct{} // a notification arrived: sync now
}

func newView(store Store, logger *slog.Logger, max int, interval, denyTTL time.Duration) *view {
	return &view{
		store: store, logger: logger, max: max, denyTTL: denyTTL,
		interval: interval, staleAfter: 3 * interval,
		deny:     make(map[string]time.Time),
		kick:     make(chan struct{}, 1),
		byHash:   make(map[[32]byte]*sesame.Session),
		hashesOf: make(map[string][][32]byte),
		recent:   make(map[string]int64),
	}
}

// trusted reports whether the view may answer without the store. Sync
// freshness is measured on the real monotonic clock: it is about whether
// the sync loop is alive, not about any session's expiry.
func (v *view) trustedLocked() bool {
	return v.primed && !v.deaf && time.Since(v.syncedAt) < v.staleAfter
}

// changed is the notifier's callback for a notification: sync now.
func (v *view) changed() {
	select {
	case v.kick <- struct{}{}:
	default: // a sync is already due
	}
}

// connected is the notifier's callback for its connection state. Losing
// it makes the view untrusted at once; regaining it schedules a sync, and
// the view is trusted again only when a sync that started after the
// reconnection succeeds.
func (v *view) connected(up bool) {
	v.mu.Lock()
	if up {
		v.connGen++
	} else {
		v.deaf = true
	}
	v.mu.Unlock()
	if up {
		v.changed()
	} else {
		v.logger.Warn("session view lost its notifier; reading the store per request until it reconnects")
	}
}

// get returns the cached session for h, or nil when it is not cached or
// the view is not trusted now. gen is the position to pass to put after a
// store read that follows a miss.
func (v *view) get(h [32]byte) (s *sesame.Session, gen int64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if !v.trustedLocked() {
		return nil, -1
	}
	return v.byHash[h], v.cursor
}

// generation returns the feed position to pass to put for a store read
// made after this call.
func (v *view) generation() int64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if !v.primed {
		return -1
	}
	return v.cursor
}

// put caches s, read from the store when the view was at position gen.
// It refuses when a change to s arrived after gen (the read may predate a
// revocation) or when the view is not primed: caching what it cannot
// invalidate would break the revocation guarantee.
func (v *view) put(s *sesame.Session, gen int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.primed || gen < v.floor || v.recent[s.ID] > gen {
		return
	}
	if _, revoked := v.deny[s.ID]; revoked {
		// Stores write a revocation to the feed before deleting the record
		// (the safe order across shards), so a read may still find a session
		// whose revocation this view has already applied.
		return
	}
	v.forgetLocked(s.ID)
	if len(v.hashesOf) >= v.max {
		v.evictSomeLocked()
	}
	hashes := [][32]byte{s.TokenHash}
	if s.PrevTokenHash != ([32]byte{}) {
		hashes = append(hashes, s.PrevTokenHash)
	}
	for _, h := range hashes {
		v.byHash[h] = s
	}
	v.hashesOf[s.ID] = hashes
}

// replace caches s, written by this process, whose previous version is
// already in the view (or not): used after this process's own updates.
func (v *view) replace(s *sesame.Session) {
	v.put(s, v.generation())
}

// forget drops the session with id.
func (v *view) forget(id string) {
	v.mu.Lock()
	v.forgetLocked(id)
	v.mu.Unlock()
}

func (v *view) forgetLocked(id string) {
	for _, h := range v.hashesOf[id] {
		delete(v.byHash, h)
	}
	delete(v.hashesOf, id)
}

// evictSomeLocked drops about a tenth of the entries (map order is random
// enough for a cache whose misses cost one store read).
func (v *view) evictSomeLocked() {
	n := len(v.hashesOf)/10 + 1
	for id := range v.hashesOf {
		if n == 0 {
			return
		}
		v.forgetLocked(id)
		n--
	}
}

// maxRecent bounds the memory of which sessions changed recently; past it
// the memory is reset and reads older than the reset are not cached.
const maxRecent = 8192

// denied reports whether the session with id was revoked, from the
// denylist alone; trusted is false when the view is not in sync with the
// store, and the caller must ask the store instead.
func (v *view) denied(id string) (revoked, trusted bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if !v.trustedLocked() {
		return false, false
	}
	_, revoked = v.deny[id]
	return revoked, true
}

// revoked records a revocation made by this process: the session leaves
// the cache and enters the denylist at once.
func (v *view) revoked(id string) {
	v.mu.Lock()
	v.forgetLocked(id)
	v.deny[id] = time.Now()
	v.mu.Unlock()
}

// pruneLocked drops denylist entries older than denyTTL: every access token
// of those sessions has expired.
func (v *view) pruneLocked(now time.Time) {
	for id, at := range v.deny {
		if now.Sub(at) > v.denyTTL {
			delete(v.deny, id)
		}
	}
}

// applyLocked applies one change from the feed.
func (v *view) applyLocked(c Change) {
	if c.Kind == ChangeRevoked {
		v.deny[c.SessionID] = c.Time
	}
	v.forgetLocked(c.SessionID)
	if len(v.recent) >= maxRecent {
		clear(v.recent)
		v.floor = v.cursor
	}
	v.recent[c.SessionID] = c.Seq
}

// sync applies the store's changes since the cursor. The first successful
// sync primes the view: it positions the cursor at the end of the feed.
func (v *view) sync(ctx context.Context) error {
	const page = 1000
	v.mu.RLock()
	gen := v.connGen
	v.mu.RUnlock()
	for {
		v.mu.RLock()
		after := v.cursor
		v.mu.RUnlock()
		changes, oldest, err := v.store.Changes(ctx, after, page)
		if err != nil {
			return err
		}
		reset := false
		if len(changes) == 0 && after > 0 && oldest <= after {
			// Nothing new, and the store still holds Seqs at or below the
			// cursor: the change at the cursor must then exist, unless the
			// feed was reset (a Redis restart without persistence starts
			// again at 1) and the cursor is past its newest Seq.
			probe, _, err := v.store.Changes(ctx, after-1, 1)
			if err != nil {
				return err
			}
			reset = len(probe) == 0 || probe[0].Seq != after
		}
		v.mu.Lock()
		if reset {
			// Every session the old feed spoke of may be gone: forget the
			// cache and read the new feed from its start.
			v.logger.Warn("session view: the store's change feed was reset; flushing the cache")
			v.flushLocked()
			v.cursor, v.floor = 0, 0
			v.mu.Unlock()
			continue
		}
		if v.primed && oldest > v.cursor+1 {
			// The store dropped changes this view never saw.
			v.flushLocked()
			v.floor = v.cursor
		}
		now := time.Now()
		for _, c := range changes {
			switch {
			case v.primed:
				v.applyLocked(c)
			case c.Kind == ChangeRevoked && now.Sub(c.Time) <= v.denyTTL:
				// Priming: the cache is empty, but revocations recent
				// enough to have live access tokens go on the denylist.
				v.deny[c.SessionID] = c.Time
			}
			v.cursor = c.Seq
		}
		v.pruneLocked(now)
		more := len(changes) == page
		if !more {
			if !v.primed {
				// An empty or trimmed feed: start after its last Seq.
				v.cursor = max(v.cursor, oldest-1)
				v.floor = v.cursor
			}
			v.primed = true
			v.syncedAt = time.Now()
			if v.deaf && gen == v.connGen && gen > 0 {
				v.deaf = false
				v.logger.Info("session view caught up after its notifier reconnected")
			}
		}
		v.mu.Unlock()
		if !more {
			return nil
		}
	}
}

func (v *view) flushLocked() {
	clear(v.byHash)
	clear(v.hashesOf)
	clear(v.recent)
}

// run syncs every interval until ctx ends.
func (v *view) run(ctx context.Context) {
	t := time.NewTicker(v.interval)
	defer t.Stop()
	failing := false
	for {
		if err := v.sync(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				v.logger.Warn("session view cannot read the change feed; reading the store per request", "err", err)
			}
			failing = true
		} else if failing {
			v.logger.Info("session view caught up with the change feed")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-v.kick:
		}
	}
}
