package session

import (
	"context"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
)

// Revocation is one entry of the revocation feed: the session with
// SessionID was revoked (logout, revoke, block, expiry) at Time, and Seq is
// its position in the feed.
type Revocation struct {
	Seq       int64
	SessionID string
	Time      time.Time
}

// RevocationPage is one read of the revocation feed.
type RevocationPage struct {
	// Revocations are the revocations after the position read from,
	// oldest first.
	Revocations []Revocation
	// Next is the position to read from next. It may be past the last
	// revocation listed: the feed also numbers changes that are not
	// revocations.
	Next int64
	// More reports that the read stopped at its limit: the feed may hold
	// more after Next.
	More bool
}

// ErrFeedGone is returned by [Manager.Revocations] for a position that is
// not one of the feed: older than what the store still holds, or beyond its
// newest (a reader of another database, or of a feed that was reset). The
// reader may have missed revocations and must start again from 0. Its code
// is [sesame.EGone].
var ErrFeedGone = &sesame.Error{Code: sesame.EGone, Message: "since is not a position of this feed: start again from 0"}

// Revocations returns the revocations after position since, oldest first,
// at most limit changes of the feed read (so possibly fewer revocations),
// for the other services that follow them (package verify). since 0 lists
// every revocation the store still holds. A since that is not a position
// of the feed is [ErrFeedGone]; a store that does not answer is an error
// with code [sesame.EUnavailable]. It always reads the store.
func (m *Manager) Revocations(ctx context.Context, since int64, limit int) (*RevocationPage, error) {
	if since < 0 {
		return nil, ErrFeedGone
	}
	limit = max(limit, 1)
	changes, oldest, err := m.store.Changes(ctx, since, limit)
	if err != nil {
		return nil, unavailable(err)
	}
	gone := since > 0 && oldest > since+1 // older than the retention
	if since > 0 && len(changes) == 0 && oldest-1 != since {
		// Nothing after since: valid only if since is the newest seq, i.e.
		// the change numbered since is still held. A since beyond the
		// newest seq must not read as "nothing new" forever.
		probe, _, err := m.store.Changes(ctx, since-1, 1)
		if err != nil {
			return nil, unavailable(err)
		}
		gone = gone || len(probe) == 0 || probe[0].Seq != since
	}
	if gone {
		return nil, ErrFeedGone
	}
	page := &RevocationPage{Revocations: []Revocation{}, Next: max(since, oldest-1), More: len(changes) == limit}
	for _, c := range changes {
		if c.Kind == ChangeRevoked {
			page.Revocations = append(page.Revocations, Revocation{Seq: c.Seq, SessionID: c.SessionID, Time: c.Time.UTC()})
		}
		page.Next = c.Seq
	}
	return page, nil
}

// FeedAdvanced returns a channel that is closed when the revocation feed
// may have advanced past what a [Manager.Revocations] read made after this
// call returns. A follower of the feed calls it, reads, and reads again
// once the channel is closed: it misses nothing and reads the store only
// when something changed.
//
// The channel closes when this manager revokes a session, when a
// notification from another process arrives ([Config.Notifier]: within
// milliseconds of a change anywhere), and when the view's sync finds new
// changes in the feed (every [Config.SyncInterval] after [Manager.Start],
// which is how changes made elsewhere are seen without a notifier). While
// the view is not in sync (not started, or its store or notifier is
// failing) the channel also closes after SyncInterval, so that followers
// read the store themselves at that interval. It may close when nothing
// changed. Safe for concurrent use.
func (m *Manager) FeedAdvanced() <-chan struct{} {
	v := m.view
	v.mu.RLock()
	trusted := v.trustedLocked()
	v.mu.RUnlock()
	return v.feed.wait(!trusted, v.interval)
}

// Health reports whether the session store answers: nil, or an error with
// code [sesame.EUnavailable].
func (m *Manager) Health(ctx context.Context) error {
	if _, _, err := m.store.Changes(ctx, 1<<62, 1); err != nil {
		return unavailable(err)
	}
	return nil
}

// feedSignal wakes every waiter at once: wait returns the current channel,
// fire closes it and starts a new one. The zero value is ready to use.
type feedSignal struct {
	mu    sync.Mutex
	ch    chan struct{}
	timer *time.Timer // the fallback wake-up, while one is pending
}

// wait returns the channel the next fire closes. With fallback, a fire
// is also scheduled after d, unless one is already pending.
func (f *feedSignal) wait(fallback bool, d time.Duration) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ch == nil {
		f.ch = make(chan struct{})
	}
	if fallback && f.timer == nil {
		f.timer = time.AfterFunc(d, f.fire)
	}
	return f.ch
}

// fire wakes every waiter.
func (f *feedSignal) fire() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ch != nil {
		close(f.ch)
		f.ch = nil
	}
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
}
