package app

import (
	"context"
	"time"
)

// keysPayload is the notification a key rotation sends. It is written as a
// session change notification ("s1 u <id>") about an ID no session has, so
// that every node's session view, which receives it too, reads it as a
// harmless update of an unknown session rather than as an unreadable
// payload (which would make the view distrust itself until its next sync).
const keysPayload = "s1 u sesame-signing-keys-changed"

// payloadNotifier is a notifier that carries payloads (Redis pub/sub,
// PostgreSQL LISTEN/NOTIFY).
type payloadNotifier interface {
	Notify(ctx context.Context, payload string) error
	Subscribe(ctx context.Context, changed func(payload string), connected func(bool)) error
}

// KeysChanged tells every running node that the signing keys changed (a
// rotation), so that each reloads them at once rather than at its next
// refresh (every 5 s). It reports whether a notification was sent: without
// a notifier (SQLite) the nodes only poll.
func (a *App) KeysChanged(ctx context.Context) (bool, error) {
	n, ok := a.notifier.(payloadNotifier)
	if !ok {
		return false, nil
	}
	return true, n.Notify(ctx, keysPayload)
}

// followKeys reloads the signing keys whenever a node announces a change,
// at most once per second.
func (a *App) followKeys(ctx context.Context) {
	n, ok := a.notifier.(payloadNotifier)
	if !ok {
		return
	}
	kick := make(chan struct{}, 1)
	a.spawn(func() {
		n.Subscribe(ctx, func(p string) {
			if p == keysPayload {
				select {
				case kick <- struct{}{}:
				default:
				}
			}
		}, func(bool) {})
	})
	a.spawn(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
			}
			if err := a.ring.Reload(ctx); err != nil && ctx.Err() == nil {
				a.logger.Warn("keyring: reload after a key change notification failed; the periodic refresh retries", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	})
}
