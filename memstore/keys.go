package memstore

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/keyring"
)

var _ keyring.Store = (*Store)(nil)

// keyTable is a Store's signing keys, guarded by its own mutex: keys are
// read and written rarely and never together with sessions.
type keyTable struct {
	mu    sync.Mutex
	byKID map[string]*keyring.Record
}

func (m *Store) keys() *keyTable {
	m.keysOnce.Do(func() { m.keyTab = &keyTable{byKID: make(map[string]*keyring.Record)} })
	return m.keyTab
}

// InsertKey implements [keyring.Store].
func (m *Store) InsertKey(_ context.Context, r *keyring.Record) error {
	t := m.keys()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.byKID[r.KID]; dup {
		return sesame.Errorf(sesame.EConflict, "signing key id exists")
	}
	t.byKID[r.KID] = r.Clone()
	return nil
}

// ListKeys implements [keyring.Store]: ordered by CreatedAt, then KID.
func (m *Store) ListKeys(context.Context) ([]*keyring.Record, error) {
	t := m.keys()
	t.mu.Lock()
	out := make([]*keyring.Record, 0, len(t.byKID))
	for _, r := range t.byKID {
		out = append(out, r.Clone())
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b *keyring.Record) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.KID, b.KID)
	})
	return out, nil
}

// RetireKey implements [keyring.Store]: retirement only ever moves earlier.
func (m *Store) RetireKey(_ context.Context, kid string, at time.Time) error {
	if at.IsZero() {
		return sesame.Errorf(sesame.EInvalid, "retire at the zero time")
	}
	t := m.keys()
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.byKID[kid]
	if !ok {
		return sesame.ErrNotFound
	}
	if r.RetiredAt.IsZero() || at.Before(r.RetiredAt) {
		r.RetiredAt = at
	}
	return nil
}

// DeleteKey implements [keyring.Store]. Deleting a missing kid is not an
// error.
func (m *Store) DeleteKey(_ context.Context, kid string) error {
	t := m.keys()
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byKID, kid)
	return nil
}
