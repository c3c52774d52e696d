package memstore

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/factor"
)

var _ factor.Store = (*Store)(nil)

// recoveryCode is one stored recovery code hash.
type recoveryCode struct {
	createdAt time.Time
	usedAt    time.Time // zero: unused
}

// factorTable is a Store's second factors, recovery codes and per-user
// requirements, under its own mutex.
type factorTable struct {
	mu       sync.Mutex
	factors  map[string]*factor.Factor           // by ID
	recovery map[string]map[string]*recoveryCode // user ID → string(hash) → code
	required map[string]bool                     // user ID → switch
}

func (m *Store) factorState() *factorTable {
	m.factorOnce.Do(func() {
		m.factorTab = &factorTable{factors: make(map[string]*factor.Factor),
			recovery: make(map[string]map[string]*recoveryCode), required: make(map[string]bool)}
	})
	return m.factorTab
}

func copyFactor(f *factor.Factor) *factor.Factor {
	x := *f
	x.Secret = slices.Clone(f.Secret)
	return &x
}

func (t *factorTable) own(userID, id string) (*factor.Factor, error) {
	x, ok := t.factors[id]
	if !ok || x.UserID != userID {
		return nil, sesame.ErrNotFound
	}
	return x, nil
}

// AddFactor implements [factor.Store].
func (m *Store) AddFactor(_ context.Context, f *factor.Factor) error {
	t := m.factorState()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.factors[f.ID]; dup {
		return sesame.Errorf(sesame.EConflict, "factor exists")
	}
	t.factors[f.ID] = copyFactor(f)
	return nil
}

// Factor implements [factor.Store].
func (m *Store) Factor(_ context.Context, userID, id string) (*factor.Factor, error) {
	t := m.factorState()
	t.mu.Lock()
	defer t.mu.Unlock()
	x, err := t.own(userID, id)
	if err != nil {
		return nil, err
	}
	return copyFactor(x), nil
}

// Factors implements [factor.Store].
func (m *Store) Factors(_ context.Context, userID string) ([]*factor.Factor, error) {
	t := m.factorState()
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*factor.Factor
	for _, x := range t.factors {
		if x.UserID == userID {
			out = append(out, copyFactor(x))
		}
	}
	slices.SortFunc(out, func(a, b *factor.Factor) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// UseFactorStep implements [factor.Store].
func (m *Store) UseFactorStep(_ context.Context, userID, id string, step int64, at time.Time, confirm bool) (bool, error) {
	t := m.factorState()
	t.mu.Lock()
	defer t.mu.Unlock()
	x, err := t.own(userID, id)
	if err != nil {
		return false, err
	}
	if step <= x.LastStep {
		return false, nil
	}
	x.LastStep, x.LastUsedAt = step, at
	if confirm && x.ConfirmedAt.IsZero() {
		x.ConfirmedAt = at
	}
	return true, nil
}

// DeleteFactor implements [factor.Store].
func (m *Store) DeleteFactor(_ context.Context, userID, id string) error {
	t := m.factorState()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := t.own(userID, id); err != nil {
		return err
	}
	delete(t.factors, id)
	return nil
}

// DeleteUnconfirmedFactors implements [factor.Store].
func (m *Store) DeleteUnconfirmedFactors(_ context.Context, cutoff time.Time) (int, error) {
	t := m.factorState()
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for id, x := range t.factors {
		if x.ConfirmedAt.IsZero() && x.CreatedAt.Before(cutoff) {
			delete(t.factors, id)
			n++
		}
	}
	return n, nil
}

// ReplaceRecoveryCodes implements [factor.Store].
func (m *Store) ReplaceRecoveryCodes(_ context.Context, userID string, hashes [][]byte, at time.Time) error {
	t := m.factorState()
	t.mu.Lock()
	defer t.mu.Unlock()
	set := make(map[string]*recoveryCode, len(hashes))
	for _, h := range hashes {
		set[string(h)] = &recoveryCode{createdAt: at}
	}
	if len(set) == 0 {
		delete(t.recovery, userID)
		return nil
	}
	t.recovery[userID] = set
	return nil
}

// UseRecoveryCode implements [factor.Store].
func (m *Store) UseRecoveryCode(_ context.Context, userID string, hash []byte, at time.Time) (bool, error) {
	t := m.factorState()
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.recovery[userID][string(hash)]
	if !ok || !c.usedAt.IsZero() {
		return false, nil
	}
	c.usedAt = at
	return true, nil
}

// RecoveryCodes implements [factor.Store].
func (m *Store) RecoveryCodes(_ context.Context, userID string) (factor.RecoveryState, error) {
	t := m.factorState()
	t.mu.Lock()
	defer t.mu.Unlock()
	var st factor.RecoveryState
	for _, c := range t.recovery[userID] {
		st.Total++
		if c.usedAt.IsZero() {
			st.Unused++
		} else if c.usedAt.After(st.LastUsedAt) {
			st.LastUsedAt = c.usedAt
		}
		if st.CreatedAt.IsZero() || c.createdAt.Before(st.CreatedAt) {
			st.CreatedAt = c.createdAt
		}
	}
	return st, nil
}

// DeleteUserFactors implements [factor.Store].
func (m *Store) DeleteUserFactors(_ context.Context, userID string) (int, error) {
	t := m.factorState()
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for id, x := range t.factors {
		if x.UserID == userID {
			delete(t.factors, id)
			n++
		}
	}
	delete(t.recovery, userID)
	return n, nil
}

// FactorRequired implements [factor.Store].
func (m *Store) FactorRequired(_ context.Context, userID string) (bool, error) {
	t := m.factorState()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.required[userID], nil
}

// SetFactorRequired implements [factor.Store].
func (m *Store) SetFactorRequired(_ context.Context, userID string, required bool) error {
	t := m.factorState()
	t.mu.Lock()
	defer t.mu.Unlock()
	if required {
		t.required[userID] = true
	} else {
		delete(t.required, userID)
	}
	return nil
}
