package verify

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"
)

const (
	// streamMaxFailures is how many connections in a row may break before
	// delivering their catch-up until the verifier falls back to polling.
	streamMaxFailures = 3
	// streamBackoffMin and streamBackoffMax bound the pause before a
	// reconnection (exponential, with jitter).
	streamBackoffMin = 100 * time.Millisecond
	streamBackoffMax = 5 * time.Second
	// streamIdleSlack is added to twice the heartbeat: a stream silent for
	// longer is dropped.
	streamIdleSlack = 500 * time.Millisecond
)

// errStreamLost reports that the stream lost the verifier's position (410
// on reconnection, or a position going backwards): the view is marked lost
// and the next connection primes.
var errStreamLost = errors.New("verify: revocation stream lost the position")

var (
	errStreamTimeout = errors.New("verify: revocation stream did not answer in time")
	errStreamSilent  = errors.New("verify: revocation stream silent")
)

// streamRefusedError is a status meaning that the stream is absent (404,
// 405) or refused (503, or another refusal): the verifier falls back to
// polling for StreamRetry.
type streamRefusedError struct {
	status int
	detail string
}

func (e *streamRefusedError) Error() string {
	if e.detail != "" {
		return "verify: revocation stream refused: " + e.detail
	}
	return fmt.Sprintf("verify: revocation stream answered %d", e.status)
}

// streamState is what the stream client reports, for tests.
type streamState struct {
	mu        sync.Mutex
	polling   bool // fallen back to polling
	connected int  // connections that delivered their catch-up
	lastID    []string
}

func (s *streamState) set(fn func(s *streamState)) {
	s.mu.Lock()
	fn(s)
	s.mu.Unlock()
}

// follow keeps the view in sync after Start with TransportStream: it
// follows the stream, reconnecting with backoff and jitter, and polls
// instead for StreamRetry when the stream is absent, refused or keeps
// breaking. It returns when ctx is done.
func (r *revocationView) follow(ctx context.Context) {
	failures, lost := 0, false
	for ctx.Err() == nil {
		caughtUp, err := r.streamOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		var refused *streamRefusedError
		fallback := false
		wasLost := lost
		lost = errors.Is(err, errStreamLost)
		switch {
		case lost && !wasLost:
			continue // reconnect at once, to prime; twice in a row counts as a failure
		case errors.As(err, &refused):
			fallback = true
		default:
			if caughtUp {
				failures = 0
			}
			failures++
			fallback = failures >= streamMaxFailures
		}
		if fallback {
			r.log.Warn("verify: revocation stream unusable; polling the feed instead",
				"url", r.cfg.StreamURL, "err", err, "retry_in", r.cfg.StreamRetry)
			failures = 0
			r.pollFor(ctx, r.cfg.StreamRetry)
			continue
		}
		d := backoff(failures)
		r.log.Warn("verify: revocation stream broke; reconnecting", "url", r.cfg.StreamURL, "err", err, "in", d)
		sleep(ctx, d)
	}
}

// backoff is the pause before reconnection attempt n (1, 2, ...): doubling
// from streamBackoffMin up to streamBackoffMax, then a random point in its
// upper half, so that verifiers cut at once do not reconnect at once.
func backoff(n int) time.Duration {
	d := streamBackoffMin
	for i := 1; i < n && d < streamBackoffMax; i++ {
		d *= 2
	}
	d = min(d, streamBackoffMax)
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, SEC-08)
	return d/2 + time.Duration(binary.LittleEndian.Uint64(b[:])%uint64(d/2+1))
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// pollFor reads the feed every PollInterval, the first time at once, for
// d.
func (r *revocationView) pollFor(ctx context.Context, d time.Duration) {
	r.stream.set(func(s *streamState) { s.polling = true })
	defer r.stream.set(func(s *streamState) { s.polling = false })
	end := time.NewTimer(d)
	defer end.Stop()
	tick := time.NewTicker(r.cfg.PollInterval)
	defer tick.Stop()
	for {
		_ = r.syncNow(ctx) // logs its failures
		select {
		case <-ctx.Done():
			return
		case <-end.C:
			return
		case <-tick.C:
		}
	}
}

// streamOnce opens the stream once and applies its events until it ends.
// caughtUp reports that it delivered its catch-up (a first position
// event). A connection that primes (the view is not primed: at start, or
// after a lost position) sends no Last-Event-ID; any other resumes from the
// view's position.
func (r *revocationView) streamOnce(ctx context.Context) (caughtUp bool, err error) {
	r.mu.RLock()
	priming, pos := !r.primed, r.cursor
	r.mu.RUnlock()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	u := *r.cfg.streamURL
	q := u.Query()
	q.Set("heartbeat_ms", strconv.FormatInt(r.cfg.Heartbeat.Milliseconds(), 10))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, fmt.Errorf("verify: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-store")
	req.Header.Set("User-Agent", "sesame-verify")
	lastID := ""
	if !priming {
		lastID = strconv.FormatUint(pos, 10)
		req.Header.Set("Last-Event-ID", lastID)
	}
	r.stream.set(func(s *streamState) { s.lastID = append(s.lastID, lastID) })
	connect := time.AfterFunc(fetchTimeout, func() { cancel(errStreamTimeout) }) // the answer's head, like every fetch
	resp, err := r.streamClient.Do(req)
	connect.Stop()
	if err != nil {
		return false, fmt.Errorf("verify: revocation stream: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusGone && !priming:
		r.markLost(pos)
		return false, errStreamLost
	case resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusMethodNotAllowed,
		resp.StatusCode == http.StatusNotImplemented, resp.StatusCode == http.StatusServiceUnavailable,
		resp.StatusCode >= 400 && resp.StatusCode < 500:
		return false, &streamRefusedError{status: resp.StatusCode}
	case resp.StatusCode != http.StatusOK:
		return false, fmt.Errorf("verify: revocation stream answered %d", resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/event-stream" {
		// Not a stream (an HTML page of a proxy or an app's fallback route).
		return false, &streamRefusedError{status: resp.StatusCode, detail: "not text/event-stream"}
	}

	idle := 2*r.cfg.Heartbeat + streamIdleSlack
	silent := time.AfterFunc(idle, func() { cancel(errStreamSilent) })
	defer silent.Stop()
	// Only a sign of life restarts the silence timer: a heartbeat after the
	// catch-up, a revocation or a position. Bytes alone do not (blank
	// lines, unknown events, a line dribbled a byte at a time): such a
	// connection would otherwise be kept for good while the view goes
	// stale, never reconnecting nor falling back to polling (SEC-65).
	alive := func() {
		if silent.Stop() { // false: already fired, the context is cancelled
			silent.Reset(idle)
		}
	}
	p := newSSEParser(resp.Body)
	for {
		ev, err := p.Next()
		if err != nil {
			switch {
			case errors.Is(context.Cause(ctx), errStreamSilent):
				err = fmt.Errorf("%w for %v", errStreamSilent, idle)
			case err == io.EOF:
				err = errors.New("verify: revocation stream ended")
			}
			return caughtUp, err
		}
		now := r.clock.Now()
		switch {
		case ev.Comment:
			if caughtUp {
				alive()
				r.heard(now)
			}
		case ev.Type == "revocation":
			id, err := strconv.ParseUint(ev.ID, 10, 64)
			if err != nil || (!priming || caughtUp) && id <= pos {
				return caughtUp, fmt.Errorf("verify: revocation stream sent id %q after position %d", ev.ID, pos)
			}
			var e feedEntry
			if err := json.Unmarshal([]byte(ev.Data), &e); err != nil || e.SID == "" {
				return caughtUp, errors.New("verify: revocation stream sent a malformed revocation")
			}
			alive()
			r.applyStreamed(e, id, now)
			pos = id
		case ev.Type == "position":
			var body struct {
				Next *uint64 `json:"next"`
			}
			next, err := strconv.ParseUint(ev.ID, 10, 64)
			if err != nil || json.Unmarshal([]byte(ev.Data), &body) != nil || body.Next == nil || *body.Next != next {
				return caughtUp, fmt.Errorf("verify: revocation stream sent a malformed position (id %q)", ev.ID)
			}
			if next < pos && (!priming || caughtUp) {
				// The issuer's history was reset under the stream.
				r.markLost(pos)
				return caughtUp, errStreamLost
			}
			alive()
			r.position(next, priming && !caughtUp, now)
			pos = next
			if !caughtUp {
				caughtUp = true
				r.stream.set(func(s *streamState) { s.connected++ })
			}
		}
		// Other event types are ignored, for forward compatibility.
	}
}

// markLost records that the feed no longer holds the position pos: every
// token is refused until the view is primed again, which then sets the
// barrier whatever the configuration says (SEC-64).
func (r *revocationView) markLost(pos uint64) {
	r.log.Warn("verify: revocation stream lost the position; failing closed until re-primed",
		"url", r.cfg.StreamURL, "since", pos)
	r.mu.Lock()
	r.primed = false
	r.lost = true
	r.mu.Unlock()
}

// applyStreamed records one revocation of the stream at position id.
func (r *revocationView) applyStreamed(e feedEntry, id uint64, now time.Time) {
	at, err := time.Parse(time.RFC3339Nano, e.At)
	if err != nil || at.After(now) {
		at = now
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.revoked == nil {
		r.revoked = make(map[string]time.Time)
	}
	if old, ok := r.revoked[e.SID]; !ok || at.After(old) {
		r.revoked[e.SID] = at
	}
	if r.primed {
		r.cursor = max(r.cursor, id)
	}
}

// position records a position event: the stream has sent everything up to
// next. The first of a priming connection primes the view, as a poll with
// since=0 does.
func (r *revocationView) position(next uint64, prime bool, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case prime:
		r.cursor = next
		r.primed = true
		if !r.cfg.TrustTokensIssuedBeforePrime || r.lost {
			r.barrier = now.Add(-r.leeway) // as in apply (SEC-64)
			r.lost = false
		}
		r.log.Info("verify: revocation feed primed from the stream", "url", r.cfg.StreamURL, "next", next)
	case r.primed:
		r.cursor = max(r.cursor, next)
	}
	r.heardLocked(now)
}

// heard records a sign of life of a caught-up stream at now.
func (r *revocationView) heard(now time.Time) {
	r.mu.Lock()
	r.heardLocked(now)
	r.mu.Unlock()
}

func (r *revocationView) heardLocked(now time.Time) {
	if !r.primed {
		return
	}
	if now.After(r.lastSuccess) {
		r.lastSuccess = now
	}
	if now.Sub(r.lastPrune) >= time.Minute {
		r.lastPrune = now
		r.pruneLocked(now)
	}
}
