package memstore

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/oauth"
)

var _ oauth.Store = (*Store)(nil)

// oauthTable is a Store's OAuth provider state, guarded by its own mutex:
// it is never read or written together with sessions.
type oauthTable struct {
	mu       sync.Mutex
	clients  map[string]*oauth.Client
	codes    map[[32]byte]*oauth.Code
	consents map[[2]string]*oauth.Consent      // (user, client)
	targets  map[[2]string]*oauth.LogoutTarget // (session, client)
	cursors  map[string]int64
	used     map[string]time.Time // UseOnce key → exp
}

func (m *Store) oauthState() *oauthTable {
	m.oauthOnce.Do(func() {
		m.oauthTab = &oauthTable{
			clients:  make(map[string]*oauth.Client),
			codes:    make(map[[32]byte]*oauth.Code),
			consents: make(map[[2]string]*oauth.Consent),
			targets:  make(map[[2]string]*oauth.LogoutTarget),
			cursors:  make(map[string]int64),
			used:     make(map[string]time.Time),
		}
	})
	return m.oauthTab
}

// storedClient is the copy of c the store keeps: FromConfig is not stored.
func storedClient(c *oauth.Client) *oauth.Client {
	d := c.Clone()
	d.FromConfig = false
	return d
}

// CreateClient implements [oauth.Store].
func (m *Store) CreateClient(_ context.Context, c *oauth.Client) error {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.clients[c.ID]; dup {
		return sesame.Errorf(sesame.EConflict, "client id exists")
	}
	t.clients[c.ID] = storedClient(c)
	return nil
}

// UpdateClient implements [oauth.Store].
func (m *Store) UpdateClient(_ context.Context, c *oauth.Client) error {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.clients[c.ID]; !ok {
		return sesame.ErrNotFound
	}
	t.clients[c.ID] = storedClient(c)
	return nil
}

// Client implements [oauth.Store].
func (m *Store) Client(_ context.Context, id string) (*oauth.Client, error) {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.clients[id]
	if !ok {
		return nil, sesame.ErrNotFound
	}
	return c.Clone(), nil
}

// ListClients implements [oauth.Store].
func (m *Store) ListClients(_ context.Context) ([]*oauth.Client, error) {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*oauth.Client, 0, len(t.clients))
	for _, c := range t.clients {
		out = append(out, c.Clone())
	}
	slices.SortFunc(out, func(a, b *oauth.Client) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// DeleteClient implements [oauth.Store].
func (m *Store) DeleteClient(_ context.Context, id string) error {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.clients, id)
	for k := range t.consents {
		if k[1] == id {
			delete(t.consents, k)
		}
	}
	for k := range t.targets {
		if k[1] == id {
			delete(t.targets, k)
		}
	}
	return nil
}

func cloneCode(c *oauth.Code) *oauth.Code {
	d := *c
	d.Resources = slices.Clone(c.Resources)
	d.AMR = slices.Clone(c.AMR)
	return &d
}

// CreateCode implements [oauth.Store].
func (m *Store) CreateCode(_ context.Context, c *oauth.Code) error {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.codes[c.Hash]; dup {
		return sesame.Errorf(sesame.EConflict, "authorization code exists")
	}
	t.codes[c.Hash] = cloneCode(c)
	return nil
}

// RedeemCode implements [oauth.Store].
func (m *Store) RedeemCode(_ context.Context, h [32]byte, at time.Time) (*oauth.Code, error) {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.codes[h]
	if !ok {
		return nil, sesame.ErrNotFound
	}
	if !c.UsedAt.IsZero() {
		return cloneCode(c), sesame.ErrConflict
	}
	c.UsedAt = at
	return cloneCode(c), nil
}

func cloneConsent(c *oauth.Consent) *oauth.Consent {
	d := *c
	d.Scopes = slices.Clone(c.Scopes)
	return &d
}

// SaveConsent implements [oauth.Store].
func (m *Store) SaveConsent(_ context.Context, c *oauth.Consent) error {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.consents[[2]string{c.UserID, c.ClientID}] = cloneConsent(c)
	return nil
}

// Consent implements [oauth.Store].
func (m *Store) Consent(_ context.Context, userID, clientID string) (*oauth.Consent, error) {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.consents[[2]string{userID, clientID}]
	if !ok {
		return nil, sesame.ErrNotFound
	}
	return cloneConsent(c), nil
}

// DeleteConsent implements [oauth.Store].
func (m *Store) DeleteConsent(_ context.Context, userID, clientID string) error {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.consents, [2]string{userID, clientID})
	return nil
}

// AddLogoutTarget implements [oauth.Store].
func (m *Store) AddLogoutTarget(_ context.Context, x *oauth.LogoutTarget) error {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	k := [2]string{x.SessionID, x.ClientID}
	if _, ok := t.targets[k]; !ok {
		c := *x
		t.targets[k] = &c
	}
	return nil
}

// SessionsEnded implements [oauth.Store].
func (m *Store) SessionsEnded(_ context.Context, sessionIDs []string, at time.Time) (int, error) {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	ended := make(map[string]bool, len(sessionIDs))
	for _, id := range sessionIDs {
		ended[id] = true
	}
	n := 0
	for k, x := range t.targets {
		if ended[k[0]] && x.DueAt.IsZero() {
			x.DueAt = at
			n++
		}
	}
	return n, nil
}

// compareTargets orders targets by SessionID, then ClientID.
func compareTargets(a, b *oauth.LogoutTarget) int {
	return cmp.Or(cmp.Compare(a.SessionID, b.SessionID), cmp.Compare(a.ClientID, b.ClientID))
}

// ClaimLogouts implements [oauth.Store].
func (m *Store) ClaimLogouts(_ context.Context, now, until time.Time, limit int) ([]*oauth.LogoutTarget, error) {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	var due []*oauth.LogoutTarget
	for _, x := range t.targets {
		if !x.DueAt.IsZero() && !x.DueAt.After(now) {
			due = append(due, x)
		}
	}
	slices.SortFunc(due, func(a, b *oauth.LogoutTarget) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), compareTargets(a, b))
	})
	out := make([]*oauth.LogoutTarget, 0, min(len(due), max(limit, 0)))
	for _, x := range due[:min(len(due), max(limit, 0))] {
		x.DueAt = until
		x.Attempts++
		c := *x
		out = append(out, &c)
	}
	return out, nil
}

// RetryLogout implements [oauth.Store].
func (m *Store) RetryLogout(_ context.Context, sessionID, clientID string, due time.Time, lastError string) error {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	if x, ok := t.targets[[2]string{sessionID, clientID}]; ok {
		x.DueAt, x.LastError = due, lastError
	}
	return nil
}

// DeleteLogout implements [oauth.Store].
func (m *Store) DeleteLogout(_ context.Context, sessionID, clientID string) error {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.targets, [2]string{sessionID, clientID})
	return nil
}

// LogoutTargets implements [oauth.Store].
func (m *Store) LogoutTargets(_ context.Context, after string, limit int) ([]*oauth.LogoutTarget, error) {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*oauth.LogoutTarget
	for k, x := range t.targets {
		if k[0] > after && x.DueAt.IsZero() {
			c := *x
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, compareTargets)
	return out[:min(len(out), max(limit, 0))], nil
}

// Cursor implements [oauth.Store].
func (m *Store) Cursor(_ context.Context, name string) (int64, error) {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cursors[name], nil
}

// SetCursor implements [oauth.Store].
func (m *Store) SetCursor(_ context.Context, name string, pos int64) error {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cursors[name] = pos
	return nil
}

// UseOnce implements [oauth.Store]. A recorded key stays a replay until
// DeleteExpiredOAuth removes it (the store reads no clock).
func (m *Store) UseOnce(_ context.Context, key string, exp time.Time) error {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.used[key]; dup {
		return sesame.Errorf(sesame.EConflict, "assertion already used")
	}
	t.used[key] = exp
	return nil
}

// DeleteExpiredOAuth implements [oauth.Store]: codes and keys whose expiry
// is at or before now. [Store.DeleteExpired] calls it too.
func (m *Store) DeleteExpiredOAuth(_ context.Context, now time.Time) error {
	t := m.oauthState()
	t.mu.Lock()
	defer t.mu.Unlock()
	for h, c := range t.codes {
		if !c.ExpiresAt.After(now) {
			delete(t.codes, h)
		}
	}
	for k, exp := range t.used {
		if !exp.After(now) {
			delete(t.used, k)
		}
	}
	return nil
}
