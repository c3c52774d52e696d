package session

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/cookie"
)

type stateKey struct{}

// state is one request's view of its session. It doubles as the response
// writer wrapper, so that a session change is saved (and a renewed cookie
// set) before the first byte of the response, in one allocation.
//
// The goroutines of one request may use its session data concurrently (and
// make one anonymous session between them): mu guards the fields below it,
// and sess, which is also read without mu, is an atomic pointer.
type state struct {
	w   http.ResponseWriter
	r   *http.Request
	m   *Manager
	ctx context.Context

	sess atomic.Pointer[sesame.Session] // immutable snapshot; nil when the request has no session

	mu    sync.Mutex
	dirty map[string][]byte // pending data changes; a nil value deletes
	renew bool

	committed bool
	started   bool // the response's header has been written: no cookie can be set now
	failed    bool // the commit failed and an error response was written

	sctx stateContext                     // the request context below the middleware
	pr   atomic.Pointer[sesame.Principal] // made on first use, for pr.SessionID's session
}

// stateContext is the request context below the middleware. It answers the
// state's key, and [sesame.PrincipalKey] for a signed-in session, from the
// state's own allocation (no context.WithValue per request).
type stateContext struct {
	context.Context
	st *state
}

// Value implements context.Context.
func (c *stateContext) Value(key any) any {
	switch key {
	case stateKey{}:
		return c.st
	case sesame.PrincipalKey:
		if p := c.st.principal(); p != nil {
			return p
		}
	}
	return c.Context.Value(key)
}

// principal returns the Principal of the request's signed-in session, nil
// without one (an anonymous session has none). It follows the session a
// Login or Logout in the same request switched to.
func (st *state) principal() *sesame.Principal {
	s := st.user()
	if s == nil {
		return nil
	}
	p := st.pr.Load()
	if p == nil || p.SessionID != s.ID {
		// Two goroutines of the request may both make one: either will do.
		p = &sesame.Principal{UserID: s.UserID, SessionID: s.ID, Method: sesame.MethodSession, AuthTime: s.CreatedAt,
			ACR: s.Level(), AMR: s.Methods(), StepUpTime: s.StepUpTime()}
		st.pr.Store(p)
	}
	return p
}

func stateFrom(ctx context.Context) *state {
	st, _ := ctx.Value(stateKey{}).(*state)
	return st
}

// Middleware loads the request's session (if any) into its context, and
// saves session changes before the response is written. A signed-in
// session also gives the request its [sesame.Principal] (method
// [sesame.MethodSession]), which [sesame.RequireAuth] looks for.
//
// A missing, malformed, forged, revoked or expired cookie means no session:
// the request goes on anonymous, and [RequireAuth] decides. A Cookie header
// over 8 KiB is answered 431; a store that cannot answer, 503.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &state{w: w, r: r, m: m}
		sess, err := m.load(r)
		if err != nil {
			m.cfg.ErrorHandler(w, r, err)
			return
		}
		st.sess.Store(sess)
		// What the response says depends on the cookie: shared caches
		// must key on it, and must not store a response for a session.
		addVaryCookie(w.Header())
		if sess != nil {
			m.noStore(w)
		}
		st.sctx = stateContext{Context: r.Context(), st: st}
		st.ctx = &st.sctx // carries the state and the session's Principal
		next.ServeHTTP(st, r.WithContext(st.ctx))
		st.mu.Lock()
		defer st.mu.Unlock()
		if !st.committed {
			if err := st.commitLocked(); err != nil {
				m.cfg.ErrorHandler(w, r, err)
			}
		}
	})
}

// load finds the live session the request's cookie names, or nil.
func (m *Manager) load(r *http.Request) (*sesame.Session, error) {
	tok, err := cookie.Get(r, m.cfg.CookieName)
	if err != nil {
		if errors.Is(err, cookie.ErrHeaderTooLarge) {
			return nil, errCookieTooLarge
		}
		return nil, nil // absent or unparsable: anonymous
	}
	h, ok := hashToken(tok)
	if !ok {
		return nil, nil
	}
	ctx := r.Context()
	s, gen := m.view.get(h)
	fromView := s != nil
	if !fromView {
		if s, err = m.fetch(ctx, h, gen); s == nil || err != nil {
			return nil, err
		}
	}
	return m.check(ctx, s, h, fromView)
}

// fetch reads the session for h from the store and caches it.
func (m *Manager) fetch(ctx context.Context, h [32]byte, gen int64) (*sesame.Session, error) {
	if gen < 0 {
		gen = m.view.generation()
	}
	s, err := m.store.ByToken(ctx, h)
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	m.view.put(s, gen)
	return s, nil
}

// check applies the renewal grace to s, found by hash h, then the one
// liveness rule ([Manager.validate]).
func (m *Manager) check(ctx context.Context, s *sesame.Session, h [32]byte, fromView bool) (*sesame.Session, error) {
	if h != s.TokenHash && !m.cfg.Clock.Now().Before(s.PrevValidUntil) {
		return nil, nil // a pre-renewal token past its grace
	}
	s, err := m.validate(ctx, s, fromView, true)
	if errors.Is(err, ErrSessionRevoked) {
		return nil, nil
	}
	return s, err
}

// touch records that s was seen at now, at most once per TouchInterval.
// A failed write is logged and ignored: the session stays valid, and its
// idle deadline simply does not move.
func (m *Manager) touch(ctx context.Context, s *sesame.Session, now time.Time) *sesame.Session {
	now = now.UTC()
	if err := m.store.Touch(ctx, s.ID, now); err != nil {
		m.cfg.Logger.Warn("session: could not record last seen", "session", s.ID, "err", err)
		return s
	}
	t := *s // snapshots are immutable, so sharing Data is safe
	t.LastSeen = now
	m.view.replace(&t)
	return &t
}

func (m *Manager) expire(ctx context.Context, s *sesame.Session, reason string) {
	deleted, err := m.store.Delete(ctx, s.ID)
	m.view.revoked(s.ID)
	if err != nil {
		m.cfg.Logger.Warn("session: could not delete an expired session", "session", s.ID, "err", err)
		return
	}
	if deleted {
		m.notify(ctx, Notification{Revoked: []string{s.ID}})
		m.emit(ctx, sesame.EventSessionExpired, s, reason)
	}
}

// RequireAuth is the session's form of [sesame.RequireAuth]: it answers a
// request without a [sesame.Principal] (no signed-in session, and no
// access token from a token middleware): browser requests (accepting
// text/html) are redirected to the login page, GET and HEAD with the path
// to come back to; anything else gets 401 JSON. It must run inside
// [Manager.Middleware].
func (m *Manager) RequireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sesame.PrincipalFrom(r.Context()) != nil {
			next.ServeHTTP(w, r)
			return
		}
		if wantsHTML(r) {
			target := m.cfg.LoginPath
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				target += "?next=" + url.QueryEscape(r.URL.Path)
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		w.Header().Set("WWW-Authenticate", `Cookie realm="sesame"`)
		m.cfg.ErrorHandler(w, r, errUnauthenticated)
	})
}

func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// loaded returns the request's session record, anonymous or not (shared:
// never modify it), or nil.
func (st *state) loaded() *sesame.Session {
	if st == nil {
		return nil
	}
	return st.sess.Load()
}

// user returns the request's signed-in session record (shared: never
// modify it), or nil: neither an anonymous session nor one waiting for its
// second factor is signed in ([sesame.Session.SignedIn]). It is the cookie
// path's one "who is calling" decision: the Principal, [Current] and every
// handler behind [sesame.RequireAuth] go through it (SEC-60).
func (st *state) user() *sesame.Session {
	if st == nil {
		return nil
	}
	if s := st.sess.Load(); s != nil && s.SignedIn() {
		return s
	}
	return nil
}

// Header, Write and WriteHeader make state an http.ResponseWriter that
// commits session changes before the response starts.

func (st *state) Header() http.Header { return st.w.Header() }

func (st *state) WriteHeader(code int) {
	if st.before() {
		st.w.WriteHeader(code)
	}
}

func (st *state) Write(p []byte) (int, error) {
	if !st.before() {
		return len(p), nil // an error response replaced this one
	}
	return st.w.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (st *state) Unwrap() http.ResponseWriter { return st.w }

// Flush commits, then flushes the underlying writer if it can.
func (st *state) Flush() {
	if st.before() {
		http.NewResponseController(st.w).Flush()
	}
}

// before commits pending changes once; it reports false when the commit
// failed and an error response was written instead. After it the response
// has started.
func (st *state) before() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.committed {
		if err := st.commitLocked(); err != nil {
			st.failed = true
			st.m.cfg.ErrorHandler(st.w, st.r, err)
		}
	}
	st.started = true
	return !st.failed
}

// noStore sets the configured Cache-Control on a response that reads or
// sets the session cookie, unless the handler chose one already. The
// header's value slice is built once (the hot path allocates nothing).
func (m *Manager) noStore(w http.ResponseWriter) {
	if m.cacheControl == nil {
		return
	}
	h := w.Header()
	if len(h["Cache-Control"]) == 0 {
		h["Cache-Control"] = m.cacheControl
	}
}

// varyCookie is the shared value of a Vary header that lists only Cookie.
// Header.Add and Header.Set never write into an existing value slice (it
// is full, so Add copies), so sharing it is safe.
var varyCookie = []string{"Cookie"}

// addVaryCookie adds Cookie to the Vary header unless it is already
// listed (or "*" is).
func addVaryCookie(h http.Header) {
	vals := h["Vary"]
	if len(vals) == 0 {
		h["Vary"] = varyCookie[:1:1]
		return
	}
	for _, line := range vals {
		for _, f := range strings.Split(line, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, "Cookie") {
				return
			}
		}
	}
	h.Add("Vary", "Cookie")
}
