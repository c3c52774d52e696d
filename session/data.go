package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sesame-auth/sesame"
)

// Session data is a map from string keys to JSON-encoded values, read and
// written through the typed Get and Put.
//
// Concurrent requests: each request records only the keys it changed, and
// saves them with a version check. When another request saved the session
// in the meantime, the manager re-reads the record, re-applies this
// request's changed keys on top and tries again. So two requests that change
// different keys both keep their change. Two requests that change the same
// key: the one that saves last wins for that key (its value is the one
// stored), and no other key is affected.

// ErrNoSession is returned by Put and Remove when the request has no
// session and anonymous sessions are off (see [AnonymousConfig]).
var ErrNoSession = sesame.Errorf(sesame.EUnauthenticated, "no session")

// errStarted is returned by Put when it would create an anonymous session
// after the response has started: its cookie could no longer be set.
var errStarted = errors.New("session: the response has started; no new session can be created")

// maxCommitAttempts bounds the re-read-and-retry loop of a save.
const maxCommitAttempts = 8

// Get decodes the value stored under key into a T. ok is false when the key
// is absent or the request has no session. Get, Put and Remove may be
// called from several goroutines of one request.
func Get[T any](ctx context.Context, key string) (v T, ok bool, err error) {
	st := stateFrom(ctx)
	if st == nil {
		return v, false, nil
	}
	st.mu.Lock()
	raw, changed := st.dirty[key]
	st.mu.Unlock()
	if !changed {
		s := st.sess.Load()
		if s == nil {
			return v, false, nil
		}
		if raw, ok = s.Data[key]; !ok {
			return v, false, nil
		}
	} else if raw == nil {
		return v, false, nil // removed in this request
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, false, fmt.Errorf("session: decode %q: %w", key, err)
	}
	return v, true, nil
}

// Put stores v (JSON-encoded) under key in the request's session. The
// change is saved before the response is written.
//
// A request without a session gets an anonymous one when
// [AnonymousConfig] is enabled (created, and its cookie set, when the
// response starts; an error once it has started); otherwise Put returns
// ErrNoSession.
func Put(ctx context.Context, key string, v any) error {
	st := stateFrom(ctx)
	if st == nil {
		return ErrNoSession
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("session: encode %q: %w", key, err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.sess.Load() == nil {
		if !st.m.cfg.Anonymous.Enabled {
			return ErrNoSession
		}
		if st.started {
			return errStarted
		}
	}
	st.change(key, raw)
	return nil
}

// Remove deletes key from the request's session. Without a session it is
// ErrNoSession, or nothing to do when anonymous sessions are enabled.
func Remove(ctx context.Context, key string) error {
	st := stateFrom(ctx)
	if st == nil {
		return ErrNoSession
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.sess.Load() == nil && !st.m.cfg.Anonymous.Enabled {
		return ErrNoSession
	}
	st.change(key, nil)
	return nil
}

// change records a pending change; st.mu is held.
func (st *state) change(key string, raw []byte) {
	if st.dirty == nil {
		st.dirty = make(map[string][]byte)
	}
	st.dirty[key] = raw
	st.committed = false
}

// pendingData returns the values the request stored (not the removals),
// or nil; st.mu is held.
func (st *state) pendingData() map[string][]byte {
	var data map[string][]byte
	for k, v := range st.dirty {
		if v == nil {
			continue
		}
		if data == nil {
			data = make(map[string][]byte, len(st.dirty))
		}
		data[k] = v
	}
	return data
}

// commitLocked saves the request's pending changes (data and renewal),
// creating an anonymous session for data stored without one. It runs once
// before the response starts, or after the handler when it wrote nothing;
// st.mu is held.
func (st *state) commitLocked() error {
	st.committed = true
	if st.sess.Load() == nil {
		return st.createAnonymousLocked()
	}
	if len(st.dirty) == 0 && !st.renew {
		return nil
	}
	m := st.m
	ctx := st.ctx
	now := m.cfg.Clock.Now().UTC()
	var token string
	var hash [32]byte
	if st.renew {
		token, hash = newToken()
	}
	base := st.sess.Load()
	for range maxCommitAttempts {
		next := base.Clone()
		if next.Data == nil && len(st.dirty) > 0 {
			next.Data = make(map[string][]byte, len(st.dirty))
		}
		for k, v := range st.dirty {
			if v == nil {
				delete(next.Data, k)
			} else {
				next.Data[k] = v
			}
		}
		if st.renew {
			next.PrevTokenHash, next.PrevValidUntil = [32]byte{}, now
			if m.cfg.RenewGrace > 0 {
				next.PrevTokenHash, next.PrevValidUntil = base.TokenHash, now.Add(m.cfg.RenewGrace)
			}
			// A renewal is no proof of anything: AuthTime and FactorTime
			// move only by Manager.StepUp (SEC-14).
			next.TokenHash = hash
		}
		err := m.store.Update(ctx, next)
		switch {
		case err == nil:
			m.view.replace(next)
			m.notify(ctx, Notification{Updated: []string{next.ID}})
			st.sess.Store(next)
			st.dirty = nil
			if st.renew {
				st.renew = false
				if err := m.writeCookie(st.w, token, next, now); err != nil {
					return err
				}
				m.emit(ctx, sesame.EventSessionRenewed, next, "")
			}
			return nil
		case errors.Is(err, sesame.ErrConflict):
			fresh, err := m.store.ByID(ctx, base.ID)
			if errors.Is(err, sesame.ErrNotFound) {
				m.view.forget(base.ID)
				return errUnauthenticated // revoked meanwhile: nothing to save into
			}
			if err != nil {
				return unavailable(err)
			}
			base = fresh
		case errors.Is(err, sesame.ErrNotFound):
			m.view.forget(base.ID)
			return errUnauthenticated
		default:
			return unavailable(err)
		}
	}
	return sesame.Errorf(sesame.EConflict, "session is being changed by too many requests at once; try again")
}
