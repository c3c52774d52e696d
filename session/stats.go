package session

import "time"

// ViewStats is a snapshot of a manager's in-process view, for metrics
// (package metrics reads it at each scrape). It holds counts only: no
// session ID, user or token.
type ViewStats struct {
	// Trusted reports whether the view may answer without the store now
	// (SEC-65): primed, in sync with the change feed, and its notifier (if
	// any) listening.
	Trusted bool
	// SinceSync is how long ago the view last caught up with the store's
	// change feed (since the manager was built, before the first sync): a
	// bound on how late a revocation made elsewhere may be seen here.
	SinceSync time.Duration
	// Cached is the number of sessions the view holds.
	Cached int
	// Denylisted is the number of revoked session IDs on the denylist.
	Denylisted int
	// Hits and Misses count the view's lookups since the manager was built
	// (cookie and token paths): a hit answered without the store; a miss
	// (not held, or the view not trusted) went on to read the store.
	Hits, Misses uint64
}

// ViewStats returns a snapshot of the in-process view. It takes the view's
// read lock briefly and allocates nothing; call it at scrape time, not per
// request.
func (m *Manager) ViewStats() ViewStats {
	v := m.view
	v.mu.RLock()
	st := ViewStats{Trusted: v.trustedLocked(), Cached: len(v.byID), Denylisted: len(v.deny)}
	synced := v.syncedAt
	v.mu.RUnlock()
	if synced.IsZero() {
		synced = v.born
	}
	st.SinceSync = time.Since(synced)
	st.Hits, st.Misses = v.hits.Load(), v.misses.Load()
	return st
}

// count records one lookup of a trusted view.
func (v *view) count(hit bool) {
	if hit {
		v.hits.Add(1)
	} else {
		v.misses.Add(1)
	}
}
