// Package memstore keeps sessions and users in process memory. It is for
// tests, examples and single-process use where losing everything on restart
// is acceptable. It passes storetest.Run, RunKeys, RunGuard and RunOAuth.
package memstore

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
)

// maxChanges is how many change records the feed keeps.
const maxChanges = 10000

// Store implements [session.Store], [session.Cleaner], [token.Store],
// [sesame.UserStore], keyring.Store, guard.Store, oauth.Store, passkey.Store and factor.Store. The zero
// value is not usable; call New. It is safe for concurrent use. Records
// are copied in and out, so callers never share memory with the store.
type Store struct {
	mu       sync.RWMutex
	sessions map[string]*sesame.Session // by ID
	byHash   map[[32]byte]string        // token hash (current or previous) → ID
	byUser   map[string]map[string]struct{}
	changes  []session.Change
	seq      int64

	users       map[string]*sesame.User
	usersByName map[string]string

	refresh *refreshState

	keysOnce sync.Once
	keyTab   *keyTable // signing keys (keys.go), under their own mutex

	throttleOnce sync.Once
	throttleTab  *throttleTable // login throttle counters (guard.go), under their own mutex

	oauthOnce sync.Once
	oauthTab  *oauthTable // OAuth provider state (oauth.go), under its own mutex

	auditOnce sync.Once
	auditTab  *auditTable // the audit log (audit.go), under its own mutex

	webhookOnce sync.Once
	webhookTab  *webhookTable // webhook outbox (webhooks.go), under its own mutex

	passkeyOnce sync.Once
	passkeyTab  *passkeyTable // passkeys and their ceremonies (passkeys.go), under its own mutex

	emailOnce sync.Once
	emailTab  *emailTable // addresses, email tokens, devices and the mail outbox (email.go), under its own mutex

	factorOnce sync.Once
	factorTab  *factorTable // second factors, recovery codes and requirements (factors.go), under its own mutex
}

// New returns an empty store.
func New() *Store {
	return &Store{
		sessions:    make(map[string]*sesame.Session),
		byHash:      make(map[[32]byte]string),
		byUser:      make(map[string]map[string]struct{}),
		users:       make(map[string]*sesame.User),
		usersByName: make(map[string]string),
	}
}

var _ session.Store = (*Store)(nil)
var _ session.Cleaner = (*Store)(nil)
var _ sesame.UserStore = (*Store)(nil)

// Create implements [session.Store].
func (m *Store) Create(_ context.Context, s *sesame.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.sessions[s.ID]; dup {
		return sesame.Errorf(sesame.EConflict, "session id exists")
	}
	if _, dup := m.byHash[s.TokenHash]; dup {
		return sesame.Errorf(sesame.EConflict, "session token exists")
	}
	m.putLocked(s.Clone())
	return nil
}

func (m *Store) putLocked(s *sesame.Session) {
	m.sessions[s.ID] = s
	m.byHash[s.TokenHash] = s.ID
	if s.PrevTokenHash != ([32]byte{}) {
		m.byHash[s.PrevTokenHash] = s.ID
	}
	if s.UserID == "" {
		return // anonymous: nobody's device, in no user index
	}
	u := m.byUser[s.UserID]
	if u == nil {
		u = make(map[string]struct{})
		m.byUser[s.UserID] = u
	}
	u[s.ID] = struct{}{}
}

func (m *Store) unhashLocked(s *sesame.Session) {
	delete(m.byHash, s.TokenHash)
	if s.PrevTokenHash != ([32]byte{}) {
		delete(m.byHash, s.PrevTokenHash)
	}
}

// ByToken implements [session.Store].
func (m *Store) ByToken(_ context.Context, h [32]byte) (*sesame.Session, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	id, ok := m.byHash[h]
	if !ok {
		return nil, sesame.ErrNotFound
	}
	return m.sessions[id].Clone(), nil
}

// ByID implements [session.Store].
func (m *Store) ByID(_ context.Context, id string) (*sesame.Session, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.sessions[id]
	if !ok {
		return nil, sesame.ErrNotFound
	}
	return s.Clone(), nil
}

// Update implements [session.Store].
func (m *Store) Update(_ context.Context, s *sesame.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.sessions[s.ID]
	if !ok {
		return sesame.ErrNotFound
	}
	if old.Version != s.Version {
		return sesame.ErrConflict
	}
	next := s.Clone()
	next.UserID, next.CreatedAt = old.UserID, old.CreatedAt
	if old.LastSeen.After(next.LastSeen) {
		next.LastSeen = old.LastSeen
	}
	next.Version++
	m.unhashLocked(old)
	m.putLocked(next)
	m.logLocked(session.ChangeUpdated, next)
	s.Version++
	return nil
}

// Touch implements [session.Store].
func (m *Store) Touch(_ context.Context, id string, t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[id]; ok && t.After(s.LastSeen) {
		c := *s // replace, never mutate: ByToken callers hold clones, but keep the rule simple
		c.LastSeen = t
		m.sessions[id] = &c
	}
	return nil
}

// Delete implements [session.Store].
func (m *Store) Delete(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deleteLocked(id), nil
}

func (m *Store) deleteLocked(id string) bool {
	s, ok := m.sessions[id]
	if !ok {
		return false
	}
	m.unhashLocked(s)
	delete(m.sessions, id)
	if u := m.byUser[s.UserID]; u != nil {
		delete(u, id)
		if len(u) == 0 {
			delete(m.byUser, s.UserID)
		}
	}
	m.deleteSessionRefreshLocked(id)
	m.logLocked(session.ChangeRevoked, s)
	return true
}

func (m *Store) logLocked(kind session.ChangeKind, s *sesame.Session) {
	m.seq++
	m.changes = append(m.changes, session.Change{Seq: m.seq, Kind: kind, SessionID: s.ID, UserID: s.UserID, Time: time.Now().UTC()})
	if len(m.changes) > maxChanges {
		m.changes = append(m.changes[:0:0], m.changes[len(m.changes)-maxChanges/2:]...)
	}
}

// ListByUser implements [session.Store].
func (m *Store) ListByUser(_ context.Context, userID string) ([]*sesame.Session, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*sesame.Session, 0, len(m.byUser[userID]))
	for id := range m.byUser[userID] {
		out = append(out, m.sessions[id].Clone())
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// DeleteByUser implements [session.Store].
func (m *Store) DeleteByUser(_ context.Context, userID, except string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id := range m.byUser[userID] {
		if id != except {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		m.deleteLocked(id)
	}
	return ids, nil
}

// Changes implements [session.Store].
func (m *Store) Changes(_ context.Context, after int64, limit int) ([]session.Change, int64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	oldest := m.seq + 1
	if len(m.changes) > 0 {
		oldest = m.changes[0].Seq
	}
	i := sort.Search(len(m.changes), func(i int) bool { return m.changes[i].Seq > after })
	end := min(len(m.changes), i+limit)
	return append([]session.Change(nil), m.changes[i:end]...), oldest, nil
}

// DeleteExpired implements [session.Cleaner]. Besides sessions, it removes
// refresh tokens past their expiry and, through
// [Store.DeleteExpiredOAuth], expired authorization codes and used
// client-assertion keys.
func (m *Store) DeleteExpired(ctx context.Context, now time.Time, keepChanges time.Duration, limit int) (int, error) {
	m.DeleteExpiredOAuth(ctx, now) // never fails

	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id, s := range m.sessions {
		if len(ids) == limit {
			break
		}
		if s.Expired(now) {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		m.deleteLocked(id)
	}
	m.deleteExpiredRefreshLocked(now)
	cut := now.Add(-keepChanges)
	i := 0
	for i < len(m.changes) && m.changes[i].Time.Before(cut) {
		i++
	}
	if i > 0 {
		m.changes = append(m.changes[:0:0], m.changes[i:]...)
	}
	return len(ids), nil
}
