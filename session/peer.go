package session

import (
	"context"
	"time"

	"github.com/sesame-auth/sesame"
)

// RevokeAsPeer ends the session with public ID id the way another node of
// the deployment would: it deletes the record in the store (which writes
// the change feed) and sends the change notification when there is a
// notifier, but does not tell this process's in-process view. It then
// waits, at most wait, until this process's view has seen the revocation
// (through the notifier or its next sync of the change feed) and returns
// how long that took, measured from the store's answer. seen is false when
// the view had not seen it within wait. It is the explainer page's live
// demonstration of how a revocation reaches every node.
func (m *Manager) RevokeAsPeer(ctx context.Context, id, reason string, wait time.Duration) (took time.Duration, seen bool, err error) {
	s, _ := m.store.ByID(ctx, id)
	wctx := ctx
	if s != nil {
		wctx = m.withEvent(ctx, sesame.EventSessionRevoked, s, reason)
	}
	deleted, err := m.store.Delete(wctx, id)
	if err != nil {
		return 0, false, unavailable(err)
	}
	start := time.Now()
	if deleted {
		m.notify(ctx, Notification{Revoked: []string{id}})
	}
	if deleted && s != nil {
		m.emit(wctx, sesame.EventSessionRevoked, s, reason)
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for !m.view.denied(id) {
		select {
		case <-tick.C:
		case <-deadline.C:
			return time.Since(start), false, nil
		case <-ctx.Done():
			return time.Since(start), false, ctx.Err()
		}
	}
	return time.Since(start), true, nil
}
