package memstore

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/sesame-auth/sesame"
)

// CreateUser implements [sesame.UserStore].
func (m *Store) CreateUser(_ context.Context, u *sesame.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.usersByName[u.Username]; dup {
		return sesame.Errorf(sesame.EConflict, "username is taken")
	}
	if _, dup := m.users[u.ID]; dup {
		return sesame.Errorf(sesame.EConflict, "user id exists")
	}
	groups, _, err := sesame.GroupChange{Replace: true, Add: u.Groups}.Apply(nil)
	if err != nil {
		return err
	}
	c := *u
	c.Groups = groups
	m.users[u.ID] = &c
	m.usersByName[u.Username] = u.ID
	return nil
}

// UserByID implements [sesame.UserStore].
func (m *Store) UserByID(_ context.Context, id string) (*sesame.User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	u, ok := m.users[id]
	if !ok {
		return nil, sesame.ErrNotFound
	}
	return copyUser(u), nil
}

// copyUser returns a copy of u that shares no slice with it.
func copyUser(u *sesame.User) *sesame.User {
	c := *u
	c.Groups = slices.Clone(u.Groups)
	return &c
}

// UserByName implements [sesame.UserStore].
func (m *Store) UserByName(ctx context.Context, name string) (*sesame.User, error) {
	m.mu.RLock()
	id, ok := m.usersByName[name]
	m.mu.RUnlock()
	if !ok {
		return nil, sesame.ErrNotFound
	}
	return m.UserByID(ctx, id)
}

// UpdateUser implements [sesame.UserStore].
func (m *Store) UpdateUser(_ context.Context, u *sesame.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.users[u.ID]
	if !ok {
		return sesame.ErrNotFound
	}
	c := *old
	c.PasswordHash, c.Admin, c.Blocked, c.SessionsNotBefore, c.UpdatedAt = u.PasswordHash, u.Admin, u.Blocked, u.SessionsNotBefore, u.UpdatedAt
	m.users[u.ID] = &c
	return nil
}

// ListUsers implements [sesame.UserStore].
func (m *Store) ListUsers(_ context.Context) ([]*sesame.User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*sesame.User, 0, len(m.users))
	for _, u := range m.users {
		out = append(out, copyUser(u))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out, nil
}

// SearchUsers implements [sesame.UserStore]. The memory store has no
// index: it looks at every user (it is for tests and development).
func (m *Store) SearchUsers(_ context.Context, prefix, after string, limit int) ([]*sesame.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []*sesame.User
	for _, u := range m.users {
		if strings.HasPrefix(u.Username, prefix) && u.Username > after {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	out = out[:min(len(out), limit)]
	for i, u := range out {
		out[i] = copyUser(u)
	}
	return out, nil
}

// ChangeGroups implements [sesame.UserStore].
func (m *Store) ChangeGroups(_ context.Context, userID string, ch sesame.GroupChange) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.users[userID]
	if !ok {
		return nil, sesame.ErrNotFound
	}
	groups, changed, err := ch.Apply(old.Groups)
	if err != nil {
		return nil, err
	}
	if changed {
		c := *old
		c.Groups = groups
		if !ch.At.IsZero() {
			c.UpdatedAt = ch.At
		}
		m.users[userID] = &c
	}
	return slices.Clone(groups), nil
}
