package session

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-auth/sesame"
)

// view is a process's in-process copy of the live session records it has
// read from the store, keyed by token hash (the cookie path) and by session
// ID (the token path), so that an authenticated request needs no store
// round-trip.
//
// It is an allowlist (SEC-64): a credential is accepted only for a session
// the view holds or the store returns; the store's "not found" is a refusal.
// A revocation removes the entry. The denylist kept beside it only ever
// refuses (a revoked session's record may linger in the store a moment
// after its revocation is in the feed); it never makes anything acceptable.
//
// The view is only trusted while it is known to be in sync with the store
// (SEC-65): a sync loop reads the change feed every syncInterval; a sync
// that fails, a notifier connection that is lost, or a notification that
// cannot be applied makes the view untrusted at once (every request reads
// the store) until a sync succeeds; and a view that has not synced within
// staleAfter is untrusted too. Notifications carry the IDs they announce
// and are applied on receipt, before any feed read. Changes made through
// this process's own manager are applied at once.
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
	byID     map[string]*sesame.Session // the same records by session ID
	recent   map[string]int64           // session ID → Seq of its latest change seen
	deny     map[string]time.Time       // session ID → when it was revoked (token path)
	denyTTL  time.Duration              // how long a revoked ID stays on the denylist
	floor    int64                      // reads from before this position are never cached
	cursor   int64                      // last change Seq applied
	syncedAt time.Time                  // last successful sync (monotonic)
	primed   bool                       // cursor initialised from the feed
	failing  bool                       // the last sync failed, or a notification could not be applied
	failGen  int64                      // counts the times failing was set: a sync clears it only if none happened since it began

	// With a notifier: deaf while it may be missing notifications; cleared
	// by the first successful sync that started after a reconnection
	// (connGen counts reconnections) while the notifier is still listening.
	deaf      bool
	listening bool
	connGen   int64
	kick      chan struct{} // a notification arrived: sync now

	feed feedSignal // fired when the feed may have advanced (feed.go)

	born         time.Time     // when the view was built (monotonic): the lag before a first sync
	hits, misses atomic.Uint64 // lookups answered from the view, and not (stats.go)
}

func newView(store Store, logger *slog.Logger, max int, interval, denyTTL time.Duration) *view {
	return &view{
		store: store, logger: logger, max: max, denyTTL: denyTTL, born: time.Now(),
		interval: interval, staleAfter: 3 * interval,
		deny:   make(map[string]time.Time),
		kick:   make(chan struct{}, 1),
		byHash: make(map[[32]byte]*sesame.Session),
		byID:   make(map[string]*sesame.Session),
		recent: make(map[string]int64),
	}
}

// trusted reports whether the view may answer without the store. Sync
// freshness is measured on the real monotonic clock: it is about whether
// the sync loop is alive, not about any session's expiry.
func (v *view) trustedLocked() bool {
	return v.primed && !v.deaf && !v.failing && time.Since(v.syncedAt) < v.staleAfter
}

// notified is the notifier's callback for a notification: it applies what
// the notification announces at once (the sessions it names leave the
// view; revoked ones go on the denylist), then schedules a sync. A payload
// it cannot read makes the view untrusted until that sync succeeds.
func (v *view) notified(payload string) {
	n, err := parseNotification(payload)
	v.mu.Lock()
	if err != nil {
		v.failing = true
		v.failGen++
	} else {
		now := time.Now()
		for _, id := range n.Revoked {
			v.forgetLocked(id)
			v.deny[id] = now
		}
		for _, id := range n.Updated {
			v.forgetLocked(id)
			// A store read that started before this change must not be
			// cached: the change's Seq is past the cursor.
			v.recent[id] = max(v.recent[id], v.cursor+1)
		}
	}
	v.mu.Unlock()
	if err != nil {
		v.logger.Warn("session view got a notification it cannot apply; reading the store per request until it has synced", "err", err)
	}
	v.feed.fire()
	v.changed()
}

// changed schedules a sync now.
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
	v.listening = up
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
		v.misses.Add(1)
		return nil, -1
	}
	s = v.byHash[h]
	v.count(s != nil)
	return s, v.cursor
}

// getID returns the cached session with id, like get.
func (v *view) getID(id string) (s *sesame.Session, gen int64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if !v.trustedLocked() {
		v.misses.Add(1)
		return nil, -1
	}
	s = v.byID[id]
	v.count(s != nil)
	return s, v.cursor
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
	if old := v.byID[s.ID]; old != nil && old.Version > s.Version {
		return // concurrent writers: a later version is already here
	}
	v.forgetLocked(s.ID)
	if len(v.byID) >= v.max {
		v.evictSomeLocked()
	}
	v.byHash[s.TokenHash] = s
	if s.PrevTokenHash != ([32]byte{}) {
		v.byHash[s.PrevTokenHash] = s
	}
	v.byID[s.ID] = s
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
	s := v.byID[id]
	if s == nil {
		return
	}
	delete(v.byHash, s.TokenHash)
	if s.PrevTokenHash != ([32]byte{}) {
		delete(v.byHash, s.PrevTokenHash)
	}
	delete(v.byID, id)
}

// evictSomeLocked drops about a tenth of the entries (map order is random
// enough for a cache whose misses cost one store read).
func (v *view) evictSomeLocked() {
	n := len(v.byID)/10 + 1
	for id := range v.byID {
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

// denied reports whether this view has seen the session with id revoked.
// It only ever refuses: a session that is not denied is accepted only if
// the view holds it or the store returns it.
func (v *view) denied(id string) bool {
	v.mu.RLock()
	_, revoked := v.deny[id]
	v.mu.RUnlock()
	return revoked
}

// revoked records a revocation made by this process: the session leaves
// the cache and enters the denylist at once.
func (v *view) revoked(id string) {
	v.mu.Lock()
	v.forgetLocked(id)
	v.deny[id] = time.Now()
	v.mu.Unlock()
	v.feed.fire()
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
	gen, fgen := v.connGen, v.failGen
	v.mu.RUnlock()
	for {
		v.mu.RLock()
		after := v.cursor
		v.mu.RUnlock()
		changes, oldest, err := v.store.Changes(ctx, after, page)
		if err != nil {
			v.fail()
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
				v.fail()
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
			// The store dropped changes this view never saw (trimmed, or
			// lost with its data): nothing cached can be trusted, and the
			// feed goes on from oldest.
			v.logger.Warn("session view: changes were lost from the store's feed; flushing the cache")
			v.flushLocked()
			v.cursor = oldest - 1
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
			if fgen == v.failGen {
				// A notification that could not be read while this sync
				// ran may announce a change past what it read: only a
				// sync that began after it may clear the failure.
				v.failing = false
			} else {
				v.changed()
			}
			v.syncedAt = time.Now()
			if v.deaf && v.listening && gen == v.connGen && gen > 0 {
				v.deaf = false
				v.logger.Info("session view caught up after its notifier reconnected")
			}
		}
		advanced := len(changes) > 0
		v.mu.Unlock()
		if advanced {
			v.feed.fire()
		}
		if !more {
			return nil
		}
	}
}

// fail makes the view untrusted until a sync succeeds (SEC-65).
func (v *view) fail() {
	v.mu.Lock()
	v.failing = true
	v.failGen++
	v.mu.Unlock()
}

func (v *view) flushLocked() {
	clear(v.byHash)
	clear(v.byID)
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
