package memstore

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/passkey"
)

var _ passkey.Store = (*Store)(nil)

// passkeyTable is a Store's passkeys, user handles and ceremony state,
// under its own mutex.
type passkeyTable struct {
	mu         sync.Mutex
	creds      map[string]*passkey.Credential // by ID
	handles    map[string][]byte              // user ID → handle
	challenges map[string]*passkey.Challenge  // by key
}

func (m *Store) passkeyState() *passkeyTable {
	m.passkeyOnce.Do(func() {
		m.passkeyTab = &passkeyTable{creds: make(map[string]*passkey.Credential), handles: make(map[string][]byte),
			challenges: make(map[string]*passkey.Challenge)}
	})
	return m.passkeyTab
}

func copyCredential(c *passkey.Credential) *passkey.Credential {
	x := *c
	x.CredentialID = slices.Clone(c.CredentialID)
	x.Transports = slices.Clone(c.Transports)
	x.Data = slices.Clone(c.Data)
	return &x
}

// PasskeyHandle implements [passkey.Store].
func (m *Store) PasskeyHandle(_ context.Context, userID string, fresh []byte) ([]byte, error) {
	t := m.passkeyState()
	t.mu.Lock()
	defer t.mu.Unlock()
	if h, ok := t.handles[userID]; ok {
		return slices.Clone(h), nil
	}
	t.handles[userID] = slices.Clone(fresh)
	return slices.Clone(fresh), nil
}

// PasskeyUserByHandle implements [passkey.Store].
func (m *Store) PasskeyUserByHandle(_ context.Context, h []byte) (string, error) {
	t := m.passkeyState()
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, x := range t.handles {
		if bytes.Equal(x, h) {
			return id, nil
		}
	}
	return "", sesame.ErrNotFound
}

// AddPasskey implements [passkey.Store].
func (m *Store) AddPasskey(_ context.Context, c *passkey.Credential) error {
	t := m.passkeyState()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, x := range t.creds {
		if x.ID == c.ID || bytes.Equal(x.CredentialID, c.CredentialID) {
			return sesame.Errorf(sesame.EConflict, "passkey exists")
		}
	}
	t.creds[c.ID] = copyCredential(c)
	return nil
}

// Passkeys implements [passkey.Store].
func (m *Store) Passkeys(_ context.Context, userID string) ([]*passkey.Credential, error) {
	t := m.passkeyState()
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*passkey.Credential
	for _, x := range t.creds {
		if x.UserID == userID {
			out = append(out, copyCredential(x))
		}
	}
	slices.SortFunc(out, func(a, b *passkey.Credential) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

func (t *passkeyTable) own(userID, id string) (*passkey.Credential, error) {
	x, ok := t.creds[id]
	if !ok || x.UserID != userID {
		return nil, sesame.ErrNotFound
	}
	return x, nil
}

// UsePasskey implements [passkey.Store].
func (m *Store) UsePasskey(_ context.Context, userID, id string, u passkey.Use) error {
	t := m.passkeyState()
	t.mu.Lock()
	defer t.mu.Unlock()
	x, err := t.own(userID, id)
	if err != nil {
		return err
	}
	x.LastUsedAt = u.At
	x.SignCount = max(x.SignCount, u.SignCount)
	x.CloneWarning = x.CloneWarning || u.CloneWarning
	x.BackupState = u.BackupState
	return nil
}

// RenamePasskey implements [passkey.Store].
func (m *Store) RenamePasskey(_ context.Context, userID, id, name string) error {
	t := m.passkeyState()
	t.mu.Lock()
	defer t.mu.Unlock()
	x, err := t.own(userID, id)
	if err != nil {
		return err
	}
	x.Name = name
	return nil
}

// DeletePasskey implements [passkey.Store].
func (m *Store) DeletePasskey(_ context.Context, userID, id string) error {
	t := m.passkeyState()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := t.own(userID, id); err != nil {
		return err
	}
	delete(t.creds, id)
	return nil
}

// PutPasskeyChallenge implements [passkey.Store].
func (m *Store) PutPasskeyChallenge(_ context.Context, c *passkey.Challenge) error {
	t := m.passkeyState()
	t.mu.Lock()
	defer t.mu.Unlock()
	x := *c
	x.Data = slices.Clone(c.Data)
	t.challenges[c.Key] = &x
	return nil
}

// TakePasskeyChallenge implements [passkey.Store].
func (m *Store) TakePasskeyChallenge(_ context.Context, key string, now time.Time) (*passkey.Challenge, error) {
	t := m.passkeyState()
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, x := range t.challenges {
		if x.ExpiresAt.Before(now) {
			delete(t.challenges, k)
		}
	}
	x, ok := t.challenges[key]
	if !ok {
		return nil, sesame.ErrNotFound
	}
	delete(t.challenges, key)
	return x, nil
}
