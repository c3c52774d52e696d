package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
)

// Defaults of the revocation stream's Config fields, and its bounds.
const (
	defaultRevocationHeartbeat   = 15 * time.Second
	defaultRevocationSubscribers = 1000
	// minRequestedHeartbeat is the shortest heartbeat a client may ask for
	// (each one reads the session store once).
	minRequestedHeartbeat = 250 * time.Millisecond
	// revocationPageSize bounds one read of the feed.
	revocationPageSize = 1000
	// streamRetryAfter is the Retry-After of a refused stream, in seconds.
	streamRetryAfter = "5"
)

// revocation is one entry of the revocation feed, as JSON: in the pages of
// GET /api/v1/revocations and the events of its stream.
type revocation struct {
	Seq int64     `json:"seq"`
	SID string    `json:"sid"`
	At  time.Time `json:"at"`
}

type revocationPage struct {
	Revocations []revocation `json:"revocations"`
	Next        int64        `json:"next"`
}

func revocationsJSON(p *session.RevocationPage) revocationPage {
	out := revocationPage{Revocations: make([]revocation, 0, len(p.Revocations)), Next: p.Next}
	for _, r := range p.Revocations {
		out.Revocations = append(out.Revocations, revocation{Seq: r.Seq, SID: r.SessionID, At: r.Time})
	}
	return out
}

// apiRevocations is GET /api/v1/revocations?since=SEQ, the feed of revoked
// session IDs that other services' verifiers follow (package verify).
// It lists revocations with seq > since, oldest first, at most 1000, and
// next, the since of the following call. since=0 lists every revocation
// the store still holds (a verifier that starts learns the recent ones). A
// since older than the store's retention, or beyond its newest seq, is 410
// Gone: the client must start again from 0.
func (s *Server) apiRevocations(w http.ResponseWriter, r *http.Request) {
	since, err := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	if err != nil || since < 0 {
		s.writeError(w, r, sesame.Errorf(sesame.EInvalid, "since must be a non-negative integer"))
		return
	}
	page, err := s.sessions.Revocations(r.Context(), since, revocationPageSize)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, revocationsJSON(page))
}

// streamCount counts the open revocation streams.
type streamCount struct{ n atomic.Int64 }

// acquire takes a place if fewer than limit are taken.
func (c *streamCount) acquire(limit int) bool {
	if c.n.Add(1) > int64(limit) {
		c.n.Add(-1)
		return false
	}
	return true
}

func (c *streamCount) release() { c.n.Add(-1) }

// apiRevocationStream is GET /api/v1/revocations/stream: the revocation
// feed as Server-Sent Events, pushed as the session manager learns of each
// change (its notifier), for verifiers that must hear of a revocation in
// milliseconds. Its access rules are those of the polling feed.
//
// The client resumes from the position in Last-Event-ID, or ?since= (the
// same position as the polling feed's since; neither means 0: every
// revocation the store holds). It may ask for heartbeats every
// ?heartbeat_ms= milliseconds (at least 250, at most the server's
// RevocationHeartbeat). A position that is not a number is 400; one that
// is not in the feed is 410 before the stream starts, exactly like the
// polling feed; beyond MaxRevocationSubscribers open streams, 503 with
// Retry-After. Then:
//
//	event: revocation
//	id: 12
//	data: {"seq":12,"sid":"...","at":"2026-03-01T12:00:00Z"}
//
//	event: position
//	id: 13
//	data: {"next":13}
//
//	: heartbeat
//
// Each event's id is the feed position after it. A position event ends
// every catch-up: the stream has sent everything up to it. A heartbeat
// comment follows a read of the feed that found nothing new. A stream
// whose feed read fails, or whose position leaves the feed (a reset
// store), ends: the client reconnects with Last-Event-ID and gets 410 or
// 503 like the polling feed.
func (s *Server) apiRevocationStream(w http.ResponseWriter, r *http.Request) {
	since, err := streamPosition(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	heartbeat, err := s.streamHeartbeat(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := s.cfg.MaxRevocationSubscribers
	if limit <= 0 {
		limit = defaultRevocationSubscribers
	}
	if s.drain.streamsEnded() {
		w.Header().Set("Retry-After", streamRetryAfter)
		s.writeError(w, r, errStreamsEnded)
		return
	}
	if !s.streams.acquire(limit) {
		w.Header().Set("Retry-After", streamRetryAfter)
		s.writeError(w, r, sesame.Errorf(sesame.EUnavailable, "too many revocation streams: retry later, or poll /api/v1/revocations"))
		return
	}
	defer s.streams.release()

	ctx := r.Context()
	advanced := s.sessions.FeedAdvanced() // before the first read: nothing is missed
	first, err := s.sessions.Revocations(ctx, since, int(streamPageSize.Load()))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st := &sseWriter{w: w, rc: http.NewResponseController(w), timeout: 2*heartbeat + 10*time.Second}
	// The stream outlives the server's read and write timeouts: no
	// request body is read, and each write has its own deadline.
	_ = st.rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	st.printf("retry: 1000\n\n")
	pos, err := s.streamCatchUp(ctx, st, since, first)
	if err != nil {
		return
	}
	st.position(pos)
	if st.flush() != nil {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		beat := false
		select {
		case <-ctx.Done():
			return
		case <-s.streamsDone(): // the node is shutting down (EndStreams)
			return
		case <-advanced:
		case <-tick.C:
			beat = true
		}
		advanced = s.sessions.FeedAdvanced()
		next, err := s.streamCatchUp(ctx, st, pos, nil)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, session.ErrFeedGone) {
				s.log.Warn("revocation stream ends: the feed cannot be read", "err", err)
			}
			return
		}
		if next != pos {
			st.position(next)
			pos = next
		} else if beat {
			st.printf(": heartbeat\n\n")
		} else {
			continue
		}
		if st.flush() != nil {
			return
		}
	}
}

// streamPageSize bounds one read of the feed by a stream (a variable for
// tests).
var streamPageSize atomic.Int64

func init() { streamPageSize.Store(revocationPageSize) }

// streamCatchUp writes the revocations after since, page by page (first,
// when not nil, is the first page, already read), until the feed has no
// more, and returns the position reached. Only then may the caller send
// the position event: a verifier takes it as "caught up" and counts itself
// fresh from it (SEC-65), so a position in the middle of a long catch-up
// would hide the revocations after it until the next heartbeat. A write
// that fails ends it (the error is the writer's).
func (s *Server) streamCatchUp(ctx context.Context, st *sseWriter, since int64, first *session.RevocationPage) (int64, error) {
	p := first
	for {
		if p == nil {
			var err error
			if p, err = s.sessions.Revocations(ctx, since, int(streamPageSize.Load())); err != nil {
				return since, err
			}
		}
		for _, rv := range p.Revocations {
			data, _ := json.Marshal(revocation{Seq: rv.Seq, SID: rv.SessionID, At: rv.Time})
			st.printf("event: revocation\nid: %d\ndata: %s\n\n", rv.Seq, data)
		}
		more := p.More && p.Next != since
		since, p = p.Next, nil
		if st.err != nil {
			return since, st.err
		}
		if !more {
			return since, nil
		}
	}
}

// streamPosition reads the resume position: Last-Event-ID, else ?since=,
// else 0.
func streamPosition(r *http.Request) (int64, error) {
	raw, field := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if raw == "" {
		raw, field = r.URL.Query().Get("since"), "since"
	}
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 {
		return 0, sesame.Errorf(sesame.EInvalid, "%s must be a non-negative integer (a position of the revocation feed)", field)
	}
	return n, nil
}

// streamHeartbeat is the heartbeat interval of a stream: the configured
// one, or a shorter one the client asks for.
func (s *Server) streamHeartbeat(r *http.Request) (time.Duration, error) {
	hb := s.cfg.RevocationHeartbeat
	if hb <= 0 {
		hb = defaultRevocationHeartbeat
	}
	raw := r.URL.Query().Get("heartbeat_ms")
	if raw == "" {
		return hb, nil
	}
	ms, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || ms <= 0 {
		return 0, sesame.Errorf(sesame.EInvalid, "heartbeat_ms must be a positive integer")
	}
	asked := time.Duration(min(ms, int64(time.Hour/time.Millisecond))) * time.Millisecond
	return min(hb, max(asked, min(hb, minRequestedHeartbeat))), nil
}

// sseWriter writes events, remembering the first write error.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	err     error
}

func (st *sseWriter) printf(format string, args ...any) {
	if st.err != nil {
		return
	}
	_ = st.rc.SetWriteDeadline(time.Now().Add(st.timeout)) // unsupported by some writers: then none
	_, st.err = fmt.Fprintf(st.w, format, args...)
}

// position writes the position event: the stream has sent everything up
// to next.
func (st *sseWriter) position(next int64) {
	st.printf("event: position\nid: %d\ndata: {\"next\":%d}\n\n", next, next)
}

func (st *sseWriter) flush() error {
	if st.err == nil {
		st.err = st.rc.Flush()
	}
	return st.err
}
