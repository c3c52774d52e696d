package session

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/cookie"
)

// ErrNoPending is the answer of [Manager.CompletePending] to a request
// that carries no session waiting for its second factor (none, expired,
// ended after too many wrong codes, or already completed by a concurrent
// request).
var ErrNoPending = sesame.Errorf(sesame.EUnauthenticated, "no sign-in is waiting for a second factor: sign in again")

// PendingSession returns a copy of the request's session when it is one
// waiting for its second factor ([LoginOptions.Pending]), and false
// otherwise. It is how the second-factor step finds whose code to check:
// such a session has no [sesame.Principal], so nothing else sees it
// (SEC-60). It must run inside [Manager.Middleware].
func PendingSession(ctx context.Context) (*sesame.Session, bool) {
	s := stateFrom(ctx).loaded()
	if s == nil || s.UserID == "" || !s.Pending {
		return nil, false
	}
	return s.Clone(), true
}

// CompleteOptions say how a pending session is completed.
type CompleteOptions struct {
	// Method is the second factor given: sesame.AMROTP,
	// sesame.AMRRecoveryCode, sesame.AMRHardwareKey. Required.
	Method string
	// Tokens makes the successor a token session ([Manager.StartTokenSession]):
	// no session cookie; the pending one is cleared. Default: a cookie
	// session, like [Manager.Login].
	Tokens bool
	// Remember overrides the pending session's remember-me choice when
	// not nil (a token client decides its own).
	Remember *bool
}

// CompletePending ends the request's pending session and starts its
// successor: a new session ID and token (the privilege changes, so the
// credential does too: SEC-10), with the pending session's user, device,
// remember-me choice and data, its AMR with opts.Method appended, level
// sesame.ACRTwoFactors, and FactorTime now. The caller has checked the
// factor (package account or factor): this only changes the session.
//
// It succeeds once per pending session: of two concurrent completions,
// the one that did not end the pending session gets [ErrNoPending], as does
// a request whose pending session expired or was ended.
func (m *Manager) CompletePending(w http.ResponseWriter, r *http.Request, opts CompleteOptions) (*sesame.Session, error) {
	ctx := r.Context()
	p, ok := PendingSession(ctx)
	if !ok || opts.Method == "" {
		return nil, ErrNoPending
	}
	deleted, err := m.Revoke(ctx, p.ID, "second factor given")
	if err != nil {
		return nil, err
	}
	if !deleted {
		return nil, ErrNoPending
	}
	remember := p.Remember
	if opts.Remember != nil {
		remember = *opts.Remember
	}
	dev := p.Device
	lo := LoginOptions{Remember: remember, Device: &dev, AMR: append(slices.Clone(p.Methods()), opts.Method),
		ACR: sesame.ACRTwoFactors}
	s, token, err := m.create(ctx, p.UserID, lo, p.Data)
	if err != nil {
		return nil, err
	}
	if opts.Tokens {
		addVaryCookie(w.Header())
		m.noStore(w)
		if err := cookie.Delete(w, m.cookieSpec()); err != nil {
			return nil, err
		}
		m.setRequestSession(ctx, nil)
		return s, nil
	}
	if err := m.writeCookie(w, token, s, s.CreatedAt); err != nil {
		return nil, err
	}
	m.setRequestSession(ctx, s)
	return s, nil
}

// setRequestSession makes s the request's session for the rest of the
// request (nil: none), dropping pending changes.
func (m *Manager) setRequestSession(ctx context.Context, s *sesame.Session) {
	if st := stateFrom(ctx); st != nil {
		st.mu.Lock()
		st.sess.Store(s)
		st.dirty, st.renew = nil, false
		st.mu.Unlock()
	}
}

// StepUp records that the user of the session with public ID id has just
// proven their password again (AuthTime), and, with factor, their second
// factor too (FactorTime): the step-up that sensitive actions require
// (SEC-14). The caller has checked them (account.Service.Reauthenticate).
// A cookie caller should also [Manager.Renew] its session. A session that
// is not signed in (anonymous, pending, ended) is [ErrSessionRevoked].
func (m *Manager) StepUp(ctx context.Context, id string, factor bool) (*sesame.Session, error) {
	for range maxCommitAttempts {
		s, err := m.store.ByID(ctx, id)
		if errors.Is(err, sesame.ErrNotFound) {
			return nil, ErrSessionRevoked
		}
		if err != nil {
			return nil, unavailable(err)
		}
		if !s.SignedIn() || s.Expired(m.cfg.Clock.Now()) {
			return nil, ErrSessionRevoked
		}
		now := m.cfg.Clock.Now().UTC()
		s.AuthTime = now
		if factor {
			s.FactorTime = now
		}
		switch err := m.store.Update(ctx, s); {
		case err == nil:
			m.view.replace(s)
			m.notify(ctx, Notification{Updated: []string{s.ID}})
			if st := stateFrom(ctx); st != nil {
				st.mu.Lock()
				if cur := st.sess.Load(); cur != nil && cur.ID == s.ID {
					st.sess.Store(s.Clone()) // a later Renew in this request builds on this version
				}
				st.mu.Unlock()
			}
			return s, nil
		case errors.Is(err, sesame.ErrConflict):
			continue
		case errors.Is(err, sesame.ErrNotFound):
			return nil, ErrSessionRevoked
		default:
			return nil, unavailable(err)
		}
	}
	return nil, sesame.Errorf(sesame.EConflict, "session is being changed by too many requests at once; try again")
}
