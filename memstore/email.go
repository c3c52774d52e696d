package memstore

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/email"
	"github.com/sesame-auth/sesame/mail"
)

var (
	_ email.Store = (*Store)(nil)
	_ mail.Store  = (*Store)(nil)
)

// emailTable holds a Store's addresses, email tokens, known devices and
// mail outbox, under its own mutex.
type emailTable struct {
	mu      sync.Mutex
	addrs   map[string]email.Address            // by user ID
	byKey   map[string]string                   // email.Key → user ID
	tokens  map[string]email.Token              // by string(hash)
	devices map[string]map[string]*email.Device // by user ID, then string(hash)
	outbox  map[string]*mail.Message
}

func (m *Store) emailState() *emailTable {
	m.emailOnce.Do(func() {
		m.emailTab = &emailTable{addrs: map[string]email.Address{}, byKey: map[string]string{},
			tokens: map[string]email.Token{}, devices: map[string]map[string]*email.Device{}, outbox: map[string]*mail.Message{}}
	})
	return m.emailTab
}

// SetEmail implements [email.Store].
func (m *Store) SetEmail(_ context.Context, a *email.Address) error {
	t := m.emailState()
	t.mu.Lock()
	defer t.mu.Unlock()
	if a.Email != "" {
		if id, ok := t.byKey[email.Key(a.Email)]; ok && id != a.UserID {
			return sesame.Errorf(sesame.EConflict, "email address is taken")
		}
	}
	if old, ok := t.addrs[a.UserID]; ok {
		delete(t.byKey, email.Key(old.Email))
		delete(t.addrs, a.UserID)
	}
	if a.Email != "" {
		t.addrs[a.UserID] = *a
		t.byKey[email.Key(a.Email)] = a.UserID
	}
	return nil
}

// EmailOf implements [email.Store].
func (m *Store) EmailOf(_ context.Context, userID string) (*email.Address, error) {
	t := m.emailState()
	t.mu.Lock()
	defer t.mu.Unlock()
	a, ok := t.addrs[userID]
	if !ok {
		return nil, sesame.ErrNotFound
	}
	return &a, nil
}

// UserIDByEmail implements [email.Store].
func (m *Store) UserIDByEmail(_ context.Context, key string) (string, error) {
	t := m.emailState()
	t.mu.Lock()
	defer t.mu.Unlock()
	id, ok := t.byKey[key]
	if !ok {
		return "", sesame.ErrNotFound
	}
	return id, nil
}

// PutEmailToken implements [email.Store].
func (m *Store) PutEmailToken(_ context.Context, tok *email.Token) error {
	t := m.emailState()
	t.mu.Lock()
	defer t.mu.Unlock()
	for h, x := range t.tokens {
		if x.UserID == tok.UserID && x.Purpose == tok.Purpose {
			delete(t.tokens, h)
		}
	}
	c := *tok
	c.Hash = slices.Clone(tok.Hash)
	t.tokens[string(tok.Hash)] = c
	return nil
}

// TakeEmailToken implements [email.Store].
func (m *Store) TakeEmailToken(_ context.Context, hash []byte, purpose string, now time.Time) (*email.Token, error) {
	t := m.emailState()
	t.mu.Lock()
	defer t.mu.Unlock()
	x, ok := t.tokens[string(hash)]
	if !ok || x.Purpose != purpose {
		return nil, sesame.ErrNotFound
	}
	delete(t.tokens, string(hash))
	if !now.Before(x.ExpiresAt) {
		return nil, sesame.ErrNotFound
	}
	return &x, nil
}

// DeleteEmailTokens implements [email.Store].
func (m *Store) DeleteEmailTokens(_ context.Context, userID, purpose string) error {
	t := m.emailState()
	t.mu.Lock()
	defer t.mu.Unlock()
	for h, x := range t.tokens {
		if x.UserID == userID && x.Purpose == purpose {
			delete(t.tokens, h)
		}
	}
	return nil
}

// SeeDevice implements [email.Store].
func (m *Store) SeeDevice(_ context.Context, userID string, hash []byte, at time.Time, userAgent string) (bool, int, error) {
	t := m.emailState()
	t.mu.Lock()
	defer t.mu.Unlock()
	ds := t.devices[userID]
	if ds == nil {
		ds = map[string]*email.Device{}
		t.devices[userID] = ds
	}
	if d := ds[string(hash)]; d != nil {
		if at.After(d.LastSeen) {
			d.LastSeen = at
		}
		d.UserAgent = userAgent
		return false, len(ds), nil
	}
	ds[string(hash)] = &email.Device{UserID: userID, Hash: slices.Clone(hash), FirstSeen: at, LastSeen: at, UserAgent: userAgent}
	return true, len(ds) - 1, nil
}

// Devices implements [email.Store].
func (m *Store) Devices(_ context.Context, userID string) ([]*email.Device, error) {
	t := m.emailState()
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*email.Device
	for _, d := range t.devices[userID] {
		c := *d
		c.Hash = slices.Clone(d.Hash)
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *email.Device) int {
		return cmp.Or(b.LastSeen.Compare(a.LastSeen), bytes.Compare(a.Hash, b.Hash))
	})
	return out, nil
}

// DeleteStale implements [email.Store].
func (m *Store) DeleteStale(_ context.Context, now time.Time, r email.Retention) (int, error) {
	t := m.emailState()
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for h, x := range t.tokens {
		if !x.ExpiresAt.After(now) {
			delete(t.tokens, h)
			n++
		}
	}
	for user, ds := range t.devices {
		for h, d := range ds {
			if d.LastSeen.Before(now.Add(-r.Devices)) {
				delete(ds, h)
				n++
			}
		}
		if len(ds) == 0 {
			delete(t.devices, user)
		}
	}
	for id, x := range t.outbox {
		if x.CreatedAt.Before(now.Add(-r.Mail)) {
			delete(t.outbox, id)
			n++
		}
	}
	return n, nil
}

// AddMail implements [mail.Store].
func (m *Store) AddMail(_ context.Context, msg *mail.Message) error {
	t := m.emailState()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.outbox[msg.ID]; dup {
		return sesame.Errorf(sesame.EConflict, "mail message id exists")
	}
	c := *msg
	c.Body = slices.Clone(msg.Body)
	t.outbox[msg.ID] = &c
	return nil
}

// ClaimMail implements [mail.Store].
func (m *Store) ClaimMail(_ context.Context, now, until time.Time, limit int) ([]*mail.Message, error) {
	t := m.emailState()
	t.mu.Lock()
	defer t.mu.Unlock()
	var due []*mail.Message
	for _, x := range t.outbox {
		if !x.DueAt.After(now) {
			due = append(due, x)
		}
	}
	slices.SortFunc(due, func(a, b *mail.Message) int { return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.ID, b.ID)) })
	due = due[:min(len(due), max(limit, 0))]
	out := make([]*mail.Message, len(due))
	for i, x := range due {
		x.DueAt = until
		x.Attempts++
		c := *x
		c.Body = slices.Clone(x.Body)
		out[i] = &c
	}
	return out, nil
}

// RetryMail implements [mail.Store].
func (m *Store) RetryMail(_ context.Context, id string, due time.Time, lastError string) error {
	t := m.emailState()
	t.mu.Lock()
	defer t.mu.Unlock()
	if x, ok := t.outbox[id]; ok {
		x.DueAt, x.LastError = due, lastError
	}
	return nil
}

// DeleteMail implements [mail.Store].
func (m *Store) DeleteMail(_ context.Context, id string) error {
	t := m.emailState()
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.outbox, id)
	return nil
}
