package session

import (
	"context"
	"errors"
	"net/http"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/cookie"
)

// errNoUser refuses a login or session creation without a user: a session
// with an empty user ID is anonymous, and only the middleware makes those.
var errNoUser = errors.New("session: a session needs a user ID (anonymous sessions are made by Put)")

// createAnonymousLocked creates the anonymous session for the data the
// request stored without a session, and sets its cookie. A request that
// stored nothing (or only removed keys) costs nothing: no store write, no
// cookie. st.mu is held.
func (st *state) createAnonymousLocked() error {
	data := st.pendingData()
	st.dirty, st.renew = nil, false
	if data == nil {
		return nil
	}
	m := st.m
	s, token, err := m.create(st.ctx, "", LoginOptions{}, data)
	if err != nil {
		return err
	}
	st.sess.Store(s)
	return m.writeCookie(st.w, token, s, s.CreatedAt)
}

// carried is what a login finds in the request: the ID of the session it
// carries (to revoke), and the data to take into the new session (a live
// anonymous session's, with the request's pending changes on top, unless
// DropOnLogin).
func (m *Manager) carried(ctx context.Context, r *http.Request) (id string, data map[string][]byte, err error) {
	var s *sesame.Session
	var pending map[string][]byte
	st := stateFrom(ctx)
	if st != nil {
		st.mu.Lock()
		s = st.sess.Load()
		if s == nil || s.UserID == "" {
			pending = st.dirty
		}
		st.mu.Unlock()
	}
	if s == nil {
		// No live session loaded: whatever the cookie names is revoked;
		// its data is carried only when no middleware ran (the
		// middleware already found it dead or unknown).
		cs, err := m.cookieSession(ctx, r)
		if err != nil {
			return "", nil, err
		}
		if cs != nil {
			id = cs.ID
			if st == nil {
				s = cs
			}
		}
	} else {
		id = s.ID
	}
	if !m.cfg.Anonymous.Enabled || m.cfg.Anonymous.DropOnLogin || (s != nil && s.UserID != "") {
		return id, nil, nil // never carry a signed-in session's data to another login
	}
	if s != nil && len(s.Data) > 0 {
		data = make(map[string][]byte, len(s.Data)+len(pending))
		for k, v := range s.Data {
			data[k] = v
		}
	}
	for k, v := range pending {
		switch {
		case v == nil:
			delete(data, k)
		case data == nil:
			data = map[string][]byte{k: v}
		default:
			data[k] = v
		}
	}
	return id, data, nil
}

// cookieSession finds the session the request's cookie names without the
// middleware (a Login called outside it): the live session, or a dead one
// (to revoke, never to carry data from: its data is dropped), or nil.
func (m *Manager) cookieSession(ctx context.Context, r *http.Request) (*sesame.Session, error) {
	tok, err := cookie.Get(r, m.cfg.CookieName)
	if err != nil {
		return nil, nil
	}
	h, ok := hashToken(tok)
	if !ok {
		return nil, nil
	}
	s, err := m.store.ByToken(ctx, h)
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	now := m.cfg.Clock.Now()
	if s.Expired(now) || (h != s.TokenHash && !now.Before(s.PrevValidUntil)) || m.view.denied(s.ID) {
		dead := *s
		dead.Data = nil
		return &dead, nil
	}
	return s, nil
}
