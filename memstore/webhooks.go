package memstore

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/webhook"
)

var _ webhook.Store = (*Store)(nil)

// webhookTable is a Store's webhook outbox, under its own mutex.
type webhookTable struct {
	mu   sync.Mutex
	msgs map[string]*webhook.Message
}

func (m *Store) webhookState() *webhookTable {
	m.webhookOnce.Do(func() {
		m.webhookTab = &webhookTable{msgs: make(map[string]*webhook.Message)}
	})
	return m.webhookTab
}

func copyMessage(x *webhook.Message) *webhook.Message {
	c := *x
	c.Payload = slices.Clone(x.Payload)
	return &c
}

// AddWebhooks implements [webhook.Store].
func (m *Store) AddWebhooks(_ context.Context, ms []*webhook.Message) error {
	t := m.webhookState()
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := make(map[string]bool, len(ms))
	for _, x := range ms {
		if _, dup := t.msgs[x.ID]; dup || seen[x.ID] {
			return sesame.Errorf(sesame.EConflict, "webhook message id exists")
		}
		seen[x.ID] = true
	}
	for _, x := range ms {
		t.msgs[x.ID] = copyMessage(x)
	}
	return nil
}

// ClaimWebhooks implements [webhook.Store].
func (m *Store) ClaimWebhooks(_ context.Context, now, until time.Time, limit int) ([]*webhook.Message, error) {
	t := m.webhookState()
	t.mu.Lock()
	defer t.mu.Unlock()
	var due []*webhook.Message
	for _, x := range t.msgs {
		if x.DeadAt.IsZero() && !x.DueAt.After(now) {
			due = append(due, x)
		}
	}
	slices.SortFunc(due, func(a, b *webhook.Message) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.ID, b.ID))
	})
	due = due[:min(len(due), max(limit, 0))]
	out := make([]*webhook.Message, len(due))
	for i, x := range due {
		x.DueAt = until
		x.Attempts++
		out[i] = copyMessage(x)
	}
	return out, nil
}

// RetryWebhook implements [webhook.Store].
func (m *Store) RetryWebhook(_ context.Context, id string, due time.Time, lastError string) error {
	t := m.webhookState()
	t.mu.Lock()
	defer t.mu.Unlock()
	if x, ok := t.msgs[id]; ok && x.DeadAt.IsZero() {
		x.DueAt, x.LastError = due, lastError
	}
	return nil
}

// DeleteWebhook implements [webhook.Store].
func (m *Store) DeleteWebhook(_ context.Context, id string) error {
	t := m.webhookState()
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.msgs, id)
	return nil
}

// KillWebhook implements [webhook.Store].
func (m *Store) KillWebhook(_ context.Context, id string, at time.Time, lastError string) error {
	t := m.webhookState()
	t.mu.Lock()
	defer t.mu.Unlock()
	if x, ok := t.msgs[id]; ok {
		x.DeadAt, x.LastError = at, lastError
	}
	return nil
}

// ListWebhooks implements [webhook.Store].
func (m *Store) ListWebhooks(_ context.Context, dead bool, after string, limit int) ([]*webhook.Message, error) {
	t := m.webhookState()
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*webhook.Message
	for id, x := range t.msgs {
		if id > after && x.DeadAt.IsZero() != dead {
			out = append(out, copyMessage(x))
		}
	}
	slices.SortFunc(out, func(a, b *webhook.Message) int { return cmp.Compare(a.ID, b.ID) })
	return out[:min(len(out), max(limit, 0))], nil
}

// ReviveWebhook implements [webhook.Store].
func (m *Store) ReviveWebhook(_ context.Context, id string, due time.Time) error {
	t := m.webhookState()
	t.mu.Lock()
	defer t.mu.Unlock()
	x, ok := t.msgs[id]
	if !ok || x.DeadAt.IsZero() {
		return sesame.ErrNotFound
	}
	x.DeadAt, x.DueAt, x.Attempts = time.Time{}, due, 0
	return nil
}

// ReviveDeadWebhooks implements [webhook.Store].
func (m *Store) ReviveDeadWebhooks(_ context.Context, due time.Time) (int, error) {
	t := m.webhookState()
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, x := range t.msgs {
		if !x.DeadAt.IsZero() {
			x.DeadAt, x.DueAt, x.Attempts = time.Time{}, due, 0
			n++
		}
	}
	return n, nil
}
