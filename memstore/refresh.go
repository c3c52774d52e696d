package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/token"
)

var _ token.Store = (*Store)(nil)

// refreshState is the refresh-token part of the store, guarded by Store.mu.
type refreshState struct {
	byHash    map[[32]byte]*token.Refresh
	byFamily  map[string]map[[32]byte]struct{}
	bySession map[string]map[string]struct{} // session ID → family IDs
}

func (m *Store) refreshLocked() *refreshState {
	if m.refresh == nil {
		m.refresh = &refreshState{
			byHash:    make(map[[32]byte]*token.Refresh),
			byFamily:  make(map[string]map[[32]byte]struct{}),
			bySession: make(map[string]map[string]struct{}),
		}
	}
	return m.refresh
}

func (rs *refreshState) put(r *token.Refresh) {
	rs.byHash[r.Hash] = cloneRefresh(r)
	f := rs.byFamily[r.FamilyID]
	if f == nil {
		f = make(map[[32]byte]struct{})
		rs.byFamily[r.FamilyID] = f
	}
	f[r.Hash] = struct{}{}
	s := rs.bySession[r.SessionID]
	if s == nil {
		s = make(map[string]struct{})
		rs.bySession[r.SessionID] = s
	}
	s[r.FamilyID] = struct{}{}
}

func (rs *refreshState) deleteFamily(id string) {
	for h := range rs.byFamily[id] {
		if r := rs.byHash[h]; r != nil {
			if s := rs.bySession[r.SessionID]; s != nil {
				delete(s, id)
				if len(s) == 0 {
					delete(rs.bySession, r.SessionID)
				}
			}
		}
		delete(rs.byHash, h)
	}
	delete(rs.byFamily, id)
}

// deleteSessionLocked removes the refresh tokens of a deleted session.
func (m *Store) deleteSessionRefreshLocked(sessionID string) {
	if m.refresh == nil {
		return
	}
	for fam := range m.refresh.bySession[sessionID] {
		m.refresh.deleteFamily(fam)
	}
}

// CreateRefresh implements [token.Store].
func (m *Store) CreateRefresh(_ context.Context, r *token.Refresh) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	rs := m.refreshLocked()
	if _, dup := rs.byHash[r.Hash]; dup {
		return sesame.Errorf(sesame.EConflict, "refresh token exists")
	}
	rs.put(r)
	return nil
}

// RefreshByHash implements [token.Store].
func (m *Store) RefreshByHash(_ context.Context, h [32]byte) (*token.Refresh, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.refresh == nil {
		return nil, sesame.ErrNotFound
	}
	r, ok := m.refresh.byHash[h]
	if !ok {
		return nil, sesame.ErrNotFound
	}
	return cloneRefresh(r), nil
}

func cloneRefresh(r *token.Refresh) *token.Refresh {
	c := *r
	c.Audience = slices.Clone(r.Audience)
	return &c
}

// RedeemRefresh implements [token.Store].
func (m *Store) RedeemRefresh(_ context.Context, h [32]byte, at time.Time, next *token.Refresh) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	rs := m.refreshLocked()
	r, ok := rs.byHash[h]
	if !ok {
		return sesame.ErrNotFound
	}
	if !r.UsedAt.IsZero() {
		return sesame.ErrConflict
	}
	if _, dup := rs.byHash[next.Hash]; dup {
		return sesame.Errorf(sesame.EConflict, "refresh token exists")
	}
	r.UsedAt = at
	n := *next
	n.FamilyID = r.FamilyID
	rs.put(&n) // copies n
	return nil
}

// DeleteFamily implements [token.Store].
func (m *Store) DeleteFamily(_ context.Context, familyID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refresh != nil {
		m.refresh.deleteFamily(familyID)
	}
	return nil
}

// deleteExpiredRefreshLocked drops refresh tokens past their expiry.
func (m *Store) deleteExpiredRefreshLocked(now time.Time) {
	if m.refresh == nil {
		return
	}
	for h, r := range m.refresh.byHash {
		if !now.Before(r.ExpiresAt) {
			delete(m.refresh.byHash, h)
			if f := m.refresh.byFamily[r.FamilyID]; f != nil {
				delete(f, h)
				if len(f) == 0 {
					delete(m.refresh.byFamily, r.FamilyID)
					if s := m.refresh.bySession[r.SessionID]; s != nil {
						delete(s, r.FamilyID)
					}
				}
			}
		}
	}
}
