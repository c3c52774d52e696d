package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/audit"
)

var _ audit.Provider = (*Store)(nil)

// auditTable is a Store's audit log, under its own mutex, in Seq order.
type auditTable struct {
	mu   sync.Mutex
	recs []audit.Record
	seq  int64
}

func (m *Store) auditState() *auditTable {
	m.auditOnce.Do(func() { m.auditTab = &auditTable{} })
	return m.auditTab
}

// AuditLog is the Store's audit log.
func (m *Store) AuditLog() audit.Log { return m.auditState() }

// Append implements [audit.Log].
func (t *auditTable) Append(_ context.Context, events []sesame.Event) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range events {
		t.seq++
		r := audit.FromEvent(e)
		r.Seq = t.seq
		t.recs = append(t.recs, r)
	}
	return nil
}

// Recent implements [audit.Log].
func (t *auditTable) Recent(_ context.Context, f audit.Filter) ([]audit.Record, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []audit.Record
	for i := len(t.recs) - 1; i >= 0 && len(out) < f.EffectiveLimit(); i-- {
		r := t.recs[i]
		if (f.Before > 0 && r.Seq >= f.Before) || (f.Type != "" && r.Type != f.Type) || (f.Username != "" && r.Username != f.Username) {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// Prune implements [audit.Log].
func (t *auditTable) Prune(_ context.Context, olderThan time.Time) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	kept := t.recs[:0]
	for _, r := range t.recs {
		if !r.At.Before(olderThan) {
			kept = append(kept, r)
		}
	}
	n := len(t.recs) - len(kept)
	clear(t.recs[len(kept):])
	t.recs = kept
	return n, nil
}
