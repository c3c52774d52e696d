package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-auth/sesame"
)

const (
	// maxFeedBytes bounds one page of the revocation feed (1000 entries
	// are about 100 KiB).
	maxFeedBytes = 4 << 20
	// maxFeedPages bounds the pages read by one sync; a verifier further
	// behind catches up over several polls.
	maxFeedPages = 100
)

// revocationView follows the revocation feed and holds the revoked session
// IDs. Safe for concurrent use.
type revocationView struct {
	cfg     *revSettings
	client  *http.Client
	clock   sesame.Clock
	log     *slog.Logger
	leeway  time.Duration
	started *atomic.Bool
	flight  flight

	lastAttempt time.Time // guarded by flight.mu

	streamClient *http.Client // HTTPClient without its overall timeout
	stream       streamState

	mu          sync.RWMutex
	primed      bool
	cursor      uint64
	lastSuccess time.Time            // start of the last sync that caught up
	barrier     time.Time            // tokens issued before are refused
	lost        bool                 // the feed lost our position: the next prime sets the barrier whatever the config says
	revoked     map[string]time.Time // sid → revocation time
	lastPrune   time.Time            // by the stream
}

// feedPage is one response of the feed.
type feedPage struct {
	Revocations []feedEntry `json:"revocations"`
	Next        *uint64     `json:"next"`
}

type feedEntry struct {
	Seq uint64 `json:"seq"`
	SID string `json:"sid"`
	At  string `json:"at"`
}

// check refuses c when its session is revoked, when it was issued before
// the feed was primed, or, failing closed, when the feed is stale.
func (r *revocationView) check(ctx context.Context, c *Claims, now time.Time) error {
	if fresh, age := r.freshness(now); !fresh {
		if call := r.flight.begin(ctx, r.sync, r.allowLazy(now)); call != nil {
			_ = call.wait(ctx) // sync logs its failures
		}
		if fresh, _ := r.freshness(r.clock.Now()); !fresh {
			return errFeedStale
		}
	} else if age >= r.cfg.PollInterval {
		r.flight.begin(ctx, r.sync, r.allowLazy(now))
	}
	r.mu.RLock()
	_, revoked := r.revoked[c.SessionID]
	barrier := r.barrier
	r.mu.RUnlock()
	switch {
	case revoked:
		return errRevoked
	case c.IssuedAt.Before(barrier):
		return errBeforePrime
	}
	return nil
}

// allowLazy permits a request-driven sync when Start is not polling and
// none was attempted within the poll interval.
func (r *revocationView) allowLazy(now time.Time) func() bool {
	return func() bool {
		if r.started.Load() || (!r.lastAttempt.IsZero() && now.Sub(r.lastAttempt) < r.cfg.PollInterval) {
			return false
		}
		r.lastAttempt = now
		return true
	}
}

// freshness reports whether the view may be used at now, and how old it is.
func (r *revocationView) freshness(now time.Time) (fresh bool, age time.Duration) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	age = now.Sub(r.lastSuccess)
	return r.primed && !r.lastSuccess.IsZero() && age <= r.cfg.MaxStaleness, age
}

// syncNow reads the feed until caught up, or joins a sync in flight.
func (r *revocationView) syncNow(ctx context.Context) error {
	now := r.clock.Now()
	return r.flight.begin(ctx, r.sync, func() bool {
		r.lastAttempt = now
		return true
	}).wait(ctx)
}

// sync runs in the flight: it reads pages until one is empty, priming
// first when needed and re-priming after 410 Gone.
func (r *revocationView) sync(ctx context.Context) error {
	start := r.clock.Now()
	err := r.readPages(ctx, start)
	if err != nil {
		r.log.Warn("verify: revocation feed read failed", "url", r.cfg.URL, "err", err)
		return err
	}
	r.mu.Lock()
	r.lastSuccess = start
	r.pruneLocked(r.clock.Now())
	r.mu.Unlock()
	return nil
}

func (r *revocationView) readPages(ctx context.Context, start time.Time) error {
	for range maxFeedPages {
		r.mu.RLock()
		since, priming := r.cursor, !r.primed
		r.mu.RUnlock()
		if priming {
			since = 0
		}
		page, gone, err := r.fetch(ctx, since)
		if err != nil {
			return err
		}
		if gone || *page.Next < since {
			if priming {
				return errors.New("verify: revocation feed refused to prime (since=0)")
			}
			// Revocations after our position are lost: refuse every token
			// until re-primed.
			r.log.Warn("verify: revocation feed position lost; failing closed until re-primed",
				"url", r.cfg.URL, "since", since, "gone", gone)
			r.mu.Lock()
			r.primed = false
			r.lost = true
			r.mu.Unlock()
			continue
		}
		// next 0 is the position of a feed that never had a revocation: valid
		// only as the answer to since=0 with nothing listed.
		if (*page.Next == 0 && (since != 0 || len(page.Revocations) > 0)) || (len(page.Revocations) > 0 && !priming && *page.Next <= since) {
			return fmt.Errorf("verify: revocation feed answered next %d for since %d", *page.Next, since)
		}
		r.apply(page, priming, start)
		if len(page.Revocations) == 0 {
			return nil
		}
	}
	return fmt.Errorf("verify: revocation feed not caught up after %d pages", maxFeedPages)
}

// fetch reads one page; gone reports 410 Gone.
func (r *revocationView) fetch(ctx context.Context, since uint64) (page *feedPage, gone bool, err error) {
	u := *r.cfg.url
	q := u.Query()
	q.Set("since", strconv.FormatUint(since, 10))
	u.RawQuery = q.Encode()
	status, body, err := get(ctx, r.client, u.String(), maxFeedBytes)
	switch {
	case err != nil:
		return nil, false, err
	case status == http.StatusGone:
		return nil, true, nil
	case status != http.StatusOK:
		return nil, false, fmt.Errorf("verify: revocation feed answered %d", status)
	}
	page, err = parseFeedPage(body)
	return page, false, err
}

// parseFeedPage reads {"revocations":[{"seq","sid","at"}],"next"}: next is
// required; unknown members are ignored for forward compatibility.
func parseFeedPage(body []byte) (*feedPage, error) {
	var p feedPage
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, errors.New("verify: revocation feed page is not the expected JSON object")
	}
	if p.Next == nil {
		return nil, errors.New("verify: revocation feed page has no next")
	}
	return &p, nil
}

// apply records a page. An entry without a readable time counts as revoked
// at the start of this sync, which keeps it at least as long.
func (r *revocationView) apply(p *feedPage, priming bool, start time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.revoked == nil {
		r.revoked = make(map[string]time.Time)
	}
	for _, e := range p.Revocations {
		if e.SID == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, e.At)
		if err != nil || at.After(start) {
			at = start
		}
		if old, ok := r.revoked[e.SID]; !ok || at.After(old) {
			r.revoked[e.SID] = at
		}
	}
	r.cursor = *p.Next
	if priming {
		r.primed = true
		if !r.cfg.TrustTokensIssuedBeforePrime || r.lost {
			// After the response: a session revoked later has a seq at or
			// after next and will be seen. A lost position (410: the feed
			// was trimmed past us, or the issuer's store lost its data and
			// began a new feed) always sets it: revocations, and sessions
			// the store no longer holds, may be missing (SEC-64).
			r.barrier = r.clock.Now().Add(-r.leeway)
			r.lost = false
		}
		r.log.Info("verify: revocation feed primed", "url", r.cfg.URL, "next", *p.Next)
	}
}

// pruneLocked forgets sessions revoked longer ago than any token lives.
func (r *revocationView) pruneLocked(now time.Time) {
	keep := r.cfg.MaxTokenLifetime + r.leeway
	for sid, at := range r.revoked {
		if now.Sub(at) > keep {
			delete(r.revoked, sid)
		}
	}
}
