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
// session.
var ErrNoSession = sesame.Errorf(sesame.EUnauthenticated, "no session")

// maxCommitAttempts bounds the re-read-and-retry loop of a save.
const maxCommitAttempts = 8

// Get decodes the value stored under key into a T. ok is false when the key
// is absent or the request has no session.
func Get[T any](ctx context.Context, key string) (v T, ok bool, err error) {
	st := stateFrom(ctx)
	if st == nil || st.sess == nil {
		return v, false, nil
	}
	raw, changed := st.dirty[key]
	if !changed {
		raw, ok = st.sess.Data[key]
		if !ok {
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
func Put(ctx context.Context, key string, v any) error {
	st := stateFrom(ctx)
	if st == nil || st.sess == nil {
		return ErrNoSession
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("session: encode %q: %w", key, err)
	}
	st.change(key, raw)
	return nil
}

// Remove deletes key from the request's session.
func Remove(ctx context.Context, key string) error {
	st := stateFrom(ctx)
	if st == nil || st.sess == nil {
		return ErrNoSession
	}
	st.change(key, nil)
	return nil
}

func (st *state) change(key string, raw []byte) {
	if st.dirty == nil {
		st.dirty = make(map[string][]byte)
	}
	st.dirty[key] = raw
	st.committed = false
}

// commit saves the request's pending changes (data and renewal). It runs
// once before the response starts, or after the handler when it wrote
// nothing.
func (st *state) commit() error {
	st.committed = true
	if st.sess == nil || (len(st.dirty) == 0 && !st.renew) {
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
	base := st.sess
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
			next.TokenHash = hash
			next.AuthTime = now
		}
		err := m.store.Update(ctx, next)
		switch {
		case err == nil:
			m.view.replace(next)
			m.notify(ctx, Notification{Updated: []string{next.ID}})
			st.sess, st.dirty = next, nil
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
