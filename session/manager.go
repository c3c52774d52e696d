package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/cookie"
)

// Manager creates, loads, renews and revokes sessions. It is safe for
// concurrent use. Call [Manager.Start] to keep its in-process view in sync
// with the store; until then (or while the store's change feed cannot be
// read) every request reads the store.
type Manager struct {
	store        Store
	cfg          Config
	view         *view
	cacheControl []string // the Cache-Control value, built once; nil to leave it alone
}

// New returns a Manager over store. It returns an error for a configuration
// that would weaken the session cookie.
func New(store Store, cfg Config) (*Manager, error) {
	cfg.setDefaults()
	if cfg.SameSite == http.SameSiteNoneMode {
		return nil, errors.New("session: SameSite=None is not allowed for the session cookie")
	}
	if cfg.Lifetime > cookie.MaxMaxAge || cfg.RememberLifetime > cookie.MaxMaxAge {
		return nil, errors.New("session: a lifetime over 400 days cannot be carried by a cookie (browsers cap Max-Age there)")
	}
	m := &Manager{store: store, cfg: cfg}
	if err := m.cookieSpec().Validate(); err != nil {
		return nil, fmt.Errorf("session: the session cookie: %w", err) // e.g. a __Host- name with CookieDomain
	}
	if cfg.CacheControl != "-" {
		m.cacheControl = []string{cfg.CacheControl}
	}
	m.view = newView(store, cfg.Logger, cfg.CacheSize, cfg.SyncInterval, cfg.DenylistTTL)
	return m, nil
}

// Config returns the manager's configuration with defaults filled in.
func (m *Manager) Config() Config { return m.cfg }

// Start keeps the in-process view in sync with the store's change feed
// until ctx ends. It returns after the first sync attempt, so that a
// manager whose store is reachable serves from its view at once.
func (m *Manager) Start(ctx context.Context) {
	if n := m.cfg.Notifier; n != nil {
		m.view.mu.Lock()
		m.view.deaf = true // until the notifier says it is listening
		m.view.mu.Unlock()
		go n.Subscribe(ctx, m.view.notified, m.view.connected)
	}
	m.view.sync(ctx) // an error here is logged by the loop's next attempt
	go m.view.run(ctx)
}

// notify tells other processes which sessions changed; they apply it on
// receipt and then read the change feed.
func (m *Manager) notify(ctx context.Context, n Notification) {
	nt := m.cfg.Notifier
	if nt == nil {
		return
	}
	for _, p := range n.Encode() {
		if err := nt.Notify(ctx, p); err != nil {
			m.cfg.Logger.Warn("session: could not notify other processes; they will see the change at their next poll", "err", err)
			return
		}
	}
}

// Sync applies the store's pending changes to the in-process view now.
// Tests and tools use it; servers rely on Start.
func (m *Manager) Sync(ctx context.Context) error { return m.view.sync(ctx) }

// LoginOptions are the choices made at login.
type LoginOptions struct {
	// Remember makes the session a "remember me" session: a persistent
	// cookie and the longer Remember timeouts.
	Remember bool
	// Device describes the client. Default: the request's User-Agent
	// (truncated to 256 bytes) and the IP of its RemoteAddr.
	Device *sesame.Device
	// AMR lists the factors the user gave (sesame.AMRPassword, ...).
	// Default: the password alone.
	AMR []string
	// ACR is the session's level. Default: sesame.ACRTwoFactors when AMR
	// holds two factors or more, else sesame.ACROneFactor.
	ACR string
	// Pending starts a session that waits for its second factor: it lives
	// Config.PendingLifetime, has no Principal, carries no token and
	// reaches only the second-factor step and logout (SEC-60); see
	// [PendingSession] and [Manager.CompletePending].
	Pending bool
}

// Login starts a new session for userID and sets its cookie on w.
//
// It always issues a fresh token and session ID and destroys any session
// the request already carried (session fixation defence, SEC-09/SEC-10): a
// token planted in the browser before login is never adopted. The data of
// a live anonymous session (and what this request stored before Login) is
// carried into the new session, unless [AnonymousConfig.DropOnLogin]; a
// signed-in session's data never is. userID must not be empty.
func (m *Manager) Login(w http.ResponseWriter, r *http.Request, userID string, opts LoginOptions) (*sesame.Session, error) {
	if userID == "" {
		return nil, errNoUser
	}
	ctx := r.Context()
	oldID, data, err := m.carried(ctx, r)
	if err != nil {
		return nil, err
	}
	if oldID != "" {
		if _, err := m.Revoke(ctx, oldID, "login"); err != nil {
			return nil, err
		}
	}
	if opts.Device == nil {
		dev := deviceOf(r)
		opts.Device = &dev
	}
	s, token, err := m.create(ctx, userID, opts, data)
	if err != nil {
		return nil, err
	}
	if err := m.writeCookie(w, token, s, s.CreatedAt); err != nil {
		return nil, err
	}
	if st := stateFrom(ctx); st != nil {
		st.mu.Lock()
		st.sess.Store(s)
		st.dirty, st.renew = nil, false
		st.mu.Unlock()
	}
	return s, nil
}

// StartTokenSession starts a session for a client that will not carry it in a
// cookie (an API or mobile client holding access and refresh tokens bound
// to the session's ID). No cookie is written and the session's own token is
// discarded: the session can only be used through tokens bound to it, and
// ends like any other (logout, revoke, block, timeouts).
//
// userID must not be empty: no token is ever bound to an anonymous session.
func (m *Manager) StartTokenSession(ctx context.Context, userID string, opts LoginOptions) (*sesame.Session, error) {
	if userID == "" {
		return nil, errNoUser
	}
	s, _, err := m.create(ctx, userID, opts, nil)
	return s, err
}

// create stores a new session with data; an empty userID makes an
// anonymous session, with the anonymous timeouts, no device and no event.
func (m *Manager) create(ctx context.Context, userID string, opts LoginOptions, data map[string][]byte) (*sesame.Session, string, error) {
	now := m.cfg.Clock.Now().UTC()
	idle, life := m.cfg.IdleTimeout, m.cfg.Lifetime
	authTime := now
	switch {
	case userID == "":
		idle, life = m.cfg.Anonymous.IdleTimeout, m.cfg.Anonymous.Lifetime
		opts, authTime = LoginOptions{}, time.Time{}
	case opts.Pending:
		idle, life = m.cfg.PendingLifetime, m.cfg.PendingLifetime
	case opts.Remember:
		idle, life = m.cfg.RememberIdleTimeout, m.cfg.RememberLifetime
	}
	var dev sesame.Device
	if opts.Device != nil {
		dev = *opts.Device
	}
	token, hash := newToken()
	s := &sesame.Session{
		ID: newID(), UserID: userID, TokenHash: hash,
		CreatedAt: now, LastSeen: now, AuthTime: authTime,
		IdleTimeout: idle, ExpiresAt: now.Add(life),
		Remember: opts.Remember, Device: dev, Data: data,
	}
	if userID != "" {
		s.AMR, s.ACR, s.Pending = authMethods(opts)
		if len(s.AMR) > 1 {
			s.FactorTime = now
		}
	}
	wctx := m.withEvent(ctx, sesame.EventSessionCreated, s, "")
	if err := m.store.Create(wctx, s); err != nil {
		return nil, "", unavailable(err)
	}
	m.view.replace(s)
	m.emit(wctx, sesame.EventSessionCreated, s, "")
	return s, token, nil
}

// authMethods returns the AMR, ACR and pending state of a new signed-in
// session from opts.
func authMethods(opts LoginOptions) (amr []string, acr string, pending bool) {
	amr = slices.Clone(opts.AMR)
	if len(amr) == 0 {
		amr = []string{sesame.AMRPassword}
	}
	acr = opts.ACR
	if acr == "" {
		acr = sesame.ACROneFactor
		if len(amr) > 1 {
			acr = sesame.ACRTwoFactors
		}
	}
	return amr, acr, opts.Pending
}

// ErrSessionRevoked is returned by [Manager.CheckLive] and [Manager.TouchForRefresh] for a
// session that was revoked, has expired or never existed, or is anonymous
// (a token is never bound to, nor accepted for, an anonymous session).
var ErrSessionRevoked = sesame.Errorf(sesame.EUnauthenticated, "session is no longer valid")

// CheckLive reports whether the session with public ID sid may still be used by
// a token bound to it: nil when it may, ErrSessionRevoked when it may not.
// It is the token path's liveness check and the same rule as the cookie
// path's (SEC-64: an allowlist): the session must be in the in-process view
// or in the store, and live by [Manager.validate]. While the view is in
// sync a held session costs no store round-trip; a miss reads the store,
// whose "not found" is a refusal, and a store that does not answer is an
// error with code EUnavailable (fail closed).
func (m *Manager) CheckLive(ctx context.Context, sid string) error {
	_, err := m.LiveSession(ctx, sid)
	return err
}

// LiveSession is [Manager.CheckLive] returning the session: the token path's
// way to show the session a token is bound to, with no store round-trip
// while the view holds it. The record is shared: do not modify it.
func (m *Manager) LiveSession(ctx context.Context, sid string) (*sesame.Session, error) {
	s, gen := m.view.getID(sid)
	fromView := s != nil
	if !fromView {
		var err error
		if s, err = m.fetchID(ctx, sid, gen); err != nil {
			return nil, err
		}
	}
	if !s.SignedIn() {
		return nil, ErrSessionRevoked // anonymous or pending: never a token's session (SEC-60)
	}
	return m.validate(ctx, s, fromView, true)
}

// TouchForRefresh returns the live session with public ID sid for a token client that
// is refreshing its tokens, read from the store (a refresh is rare and
// decides a new credential), and records that it was seen. A revoked,
// expired or unknown session is ErrSessionRevoked.
func (m *Manager) TouchForRefresh(ctx context.Context, sid string) (*sesame.Session, error) {
	s, err := m.fetchID(ctx, sid, -1)
	if err != nil {
		return nil, err
	}
	if !s.SignedIn() {
		return nil, ErrSessionRevoked // anonymous or pending: never a token's session (SEC-60)
	}
	return m.validate(ctx, s, false, true)
}

// fetchID reads the session with id from the store and caches it; a
// missing session is ErrSessionRevoked.
func (m *Manager) fetchID(ctx context.Context, id string, gen int64) (*sesame.Session, error) {
	if gen < 0 {
		gen = m.view.generation()
	}
	s, err := m.store.ByID(ctx, id)
	if errors.Is(err, sesame.ErrNotFound) {
		m.view.forget(id)
		return nil, ErrSessionRevoked
	}
	if err != nil {
		return nil, unavailable(err)
	}
	m.view.put(s, gen)
	return s, nil
}

// validate is the one liveness rule of every path (cookie, token, refresh,
// lookup): it returns the session to use, or ErrSessionRevoked. s comes
// from the view (fromView) or was just read from the store. A session this
// process has seen revoked is refused; one past its absolute end is
// expired; one past its idle deadline is re-read from the store when it
// came from the view (another node may have seen it more recently) and
// expired if it is idle there too. With touch, a use is recorded at most
// once per TouchInterval.
func (m *Manager) validate(ctx context.Context, s *sesame.Session, fromView, touch bool) (*sesame.Session, error) {
	now := m.cfg.Clock.Now()
	if !fromView && m.view.denied(s.ID) {
		// A store read may still find a record whose revocation is known
		// (its record may linger a moment). The view itself never holds a
		// denied session: a revocation removes it, and put refuses it.
		return nil, ErrSessionRevoked
	}
	if !now.Before(s.ExpiresAt) {
		m.expire(ctx, s, "absolute timeout")
		return nil, ErrSessionRevoked
	}
	if !now.Before(s.IdleDeadline()) {
		if fromView {
			fresh, err := m.fetchID(ctx, s.ID, -1)
			if err != nil {
				return nil, err
			}
			return m.validate(ctx, fresh, false, touch)
		}
		m.expire(ctx, s, "idle timeout")
		return nil, ErrSessionRevoked
	}
	if touch && now.Sub(s.LastSeen) >= m.cfg.TouchInterval {
		s = m.touch(ctx, s, now)
	}
	return s, nil
}

// destroyCarried deletes the session the request carries, if any: the
// loaded one, or whatever the cookie names.
func (m *Manager) destroyCarried(ctx context.Context, r *http.Request, reason string) error {
	var id string
	if s := stateFrom(ctx).loaded(); s != nil {
		id = s.ID
	} else if tok, err := cookie.Get(r, m.cfg.CookieName); err == nil {
		if h, ok := hashToken(tok); ok {
			s, err := m.store.ByToken(ctx, h)
			switch {
			case err == nil:
				id = s.ID
			case !errors.Is(err, sesame.ErrNotFound):
				return unavailable(err)
			}
		}
	}
	if id == "" {
		return nil
	}
	_, err := m.Revoke(ctx, id, reason)
	return err
}

// Logout destroys the request's session, clears its cookie and asks the
// browser to clear site data (SEC-12). It is not an error when the request
// carries no session.
func (m *Manager) Logout(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s := stateFrom(ctx).loaded()
	if err := m.destroyCarried(ctx, r, "logout"); err != nil {
		return err
	}
	if st := stateFrom(ctx); st != nil {
		st.mu.Lock()
		st.sess.Store(nil)
		st.dirty, st.renew = nil, false
		st.mu.Unlock()
	}
	h := w
	addVaryCookie(h.Header())
	m.noStore(h)
	if err := cookie.Delete(h, m.cookieSpec()); err != nil {
		return err
	}
	h.Header().Set("Clear-Site-Data", `"cache", "cookies", "storage"`)
	if s != nil {
		m.emit(ctx, sesame.EventLogout, s, "")
	}
	return nil
}

// Renew gives the request's session a new token, keeping its data, for use
// after a privilege change (SEC-10). The old token stays usable for
// RenewGrace, for requests already in flight, then dies. The new cookie is
// written with the response.
func (m *Manager) Renew(r *http.Request) error {
	st := stateFrom(r.Context())
	if st.loaded() == nil {
		return errUnauthenticated
	}
	st.mu.Lock()
	st.renew = true
	st.mu.Unlock()
	return nil
}

// Revoke ends the session with the given public ID. It is not an error
// when there is no such session; revoked reports whether there was.
func (m *Manager) Revoke(ctx context.Context, id, reason string) (revoked bool, err error) {
	s, _ := m.store.ByID(ctx, id) // for the event only
	wctx := ctx
	if s != nil {
		wctx = m.withEvent(ctx, sesame.EventSessionRevoked, s, reason)
	}
	deleted, err := m.store.Delete(wctx, id)
	if err != nil {
		return false, unavailable(err)
	}
	m.view.revoked(id)
	if deleted {
		m.notify(ctx, Notification{Revoked: []string{id}})
	}
	if deleted && s != nil {
		m.emit(wctx, sesame.EventSessionRevoked, s, reason)
	}
	return deleted, nil
}

// RevokeUser ends every session of userID except the one with ID except
// ("" ends all) and returns the IDs it ended. An empty userID names no user
// and ends nothing: anonymous sessions belong to no user.
func (m *Manager) RevokeUser(ctx context.Context, userID, except, reason string) ([]string, error) {
	if userID == "" {
		return nil, nil
	}
	wctx := ctx
	if m.cfg.Events != nil {
		var te *sesame.TxEvents
		wctx, te = sesame.WithTxEvents(ctx)
		now := m.cfg.Clock.Now().UTC()
		te.Revoked = func(id string) sesame.Event {
			return sesame.Event{Type: sesame.EventSessionRevoked, Time: now, UserID: userID, SessionID: id, Reason: reason}
		}
	}
	ids, err := m.store.DeleteByUser(wctx, userID, except)
	if err != nil {
		return nil, unavailable(err)
	}
	for _, id := range ids {
		m.view.revoked(id)
		m.emit(wctx, sesame.EventSessionRevoked, &sesame.Session{ID: id, UserID: userID}, reason)
	}
	if len(ids) > 0 {
		m.notify(ctx, Notification{Revoked: ids})
	}
	return ids, nil
}

// List returns the live sessions of userID, oldest first. An empty userID
// lists nothing: anonymous sessions are never anyone's devices.
func (m *Manager) List(ctx context.Context, userID string) ([]*sesame.Session, error) {
	if userID == "" {
		return nil, nil
	}
	all, err := m.store.ListByUser(ctx, userID)
	if err != nil {
		return nil, unavailable(err)
	}
	now := m.cfg.Clock.Now()
	live := all[:0]
	for _, s := range all {
		if !s.Expired(now) {
			live = append(live, s)
		}
	}
	return live, nil
}

// Lookup returns the live session with the given public ID, or
// sesame.ErrNotFound.
func (m *Manager) Lookup(ctx context.Context, id string) (*sesame.Session, error) {
	s, err := m.fetchID(ctx, id, -1)
	if err == nil {
		s, err = m.validate(ctx, s, false, false)
	}
	if errors.Is(err, ErrSessionRevoked) {
		return nil, sesame.ErrNotFound
	}
	return s, err
}

func (m *Manager) cookieSpec() cookie.Cookie {
	return cookie.Cookie{Name: m.cfg.CookieName, Domain: m.cfg.CookieDomain, SameSite: m.cfg.SameSite, Insecure: m.cfg.InsecureCookie}
}

// writeCookie sets the session cookie. A remember-me session gets a
// persistent cookie whose Max-Age is the remaining absolute lifetime, never
// more (SEC-05); any other session gets a browser-session cookie.
func (m *Manager) writeCookie(w http.ResponseWriter, token string, s *sesame.Session, now time.Time) error {
	addVaryCookie(w.Header())
	m.noStore(w)
	c := m.cookieSpec()
	c.Value = token
	if s.Remember {
		c.MaxAge = s.ExpiresAt.Sub(now).Truncate(time.Second)
		if c.MaxAge < time.Second {
			c.MaxAge = time.Second
		}
	}
	return cookie.Write(w, c)
}

// emit sends a lifecycle event; anonymous sessions have none (their
// visitors are no one to audit).
func (m *Manager) emit(ctx context.Context, t sesame.EventType, s *sesame.Session, reason string) {
	if m.cfg.Events == nil || s.UserID == "" {
		return
	}
	m.cfg.Events.Emit(ctx, m.event(t, s, reason))
}

func (m *Manager) event(t sesame.EventType, s *sesame.Session, reason string) sesame.Event {
	return sesame.Event{Type: t, Time: m.cfg.Clock.Now().UTC(),
		UserID: s.UserID, SessionID: s.ID, IP: s.Device.IP, UserAgent: s.Device.UserAgent, Reason: reason}
}

// withEvent is ctx carrying the event of the store write about to be
// made ([sesame.TxEvents]): a SQL store queues its webhooks in the
// write's transaction. Pass it to that one write, and to emit.
func (m *Manager) withEvent(ctx context.Context, t sesame.EventType, s *sesame.Session, reason string) context.Context {
	if m.cfg.Events == nil || s.UserID == "" {
		return ctx
	}
	ctx, _ = sesame.WithTxEvents(ctx, m.event(t, s, reason))
	return ctx
}

func deviceOf(r *http.Request) sesame.Device {
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return sesame.Device{UserAgent: ua, IP: ip}
}
