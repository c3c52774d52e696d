package session

import (
	"context"
	"errors"
	"strings"
)

// Notifier carries change notifications from the process that made a
// change to every other process at once (Redis pub/sub, PostgreSQL
// LISTEN/NOTIFY), so that a revocation reaches every node's view in
// milliseconds rather than at its next poll.
//
// A notification names the sessions it is about (see [Notification]); a
// receiving view applies it on receipt, before any feed read, then syncs
// with the store's change feed, which stays the one source of truth. A
// notification that is lost costs latency only while the connection
// stays up; a lost connection, or a payload the view cannot read, makes
// the view distrust itself until it has synced (SEC-65).
//
// Implementations must be safe for concurrent use, and deliver payloads
// of up to [MaxNotificationBytes] bytes unchanged.
type Notifier interface {
	// Notify sends payload to every subscriber, in every process. The
	// manager calls it after each revocation or update it makes, with a
	// payload from [Notification.Encode]. An error is logged; the change
	// is in the feed regardless.
	Notify(ctx context.Context, payload string) error

	// Subscribe delivers notifications until ctx ends, reconnecting by
	// itself after failures. It calls connected(true) once it is listening
	// (and again after every reconnection) and connected(false) as soon as
	// it knows it may miss notifications. It calls changed(payload) for each
	// notification. It returns when ctx ends.
	Subscribe(ctx context.Context, changed func(payload string), connected func(bool)) error
}

// MaxNotificationBytes bounds one notification's payload (PostgreSQL's
// NOTIFY takes under 8000 bytes).
const MaxNotificationBytes = 4000

// Notification is what a change notification announces: the sessions that
// were revoked and those whose record changed.
type Notification struct {
	Revoked []string
	Updated []string
}

// Encode returns the notification as payloads of at most
// MaxNotificationBytes each: "r <id>" and "u <id>" items separated by
// spaces, after the version tag "s1".
func (n Notification) Encode() []string {
	var out []string
	var b strings.Builder
	add := func(kind byte, id string) {
		if b.Len() > 0 && b.Len()+3+len(id) > MaxNotificationBytes {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() == 0 {
			b.WriteString("s1")
		}
		b.WriteByte(' ')
		b.WriteByte(kind)
		b.WriteByte(' ')
		b.WriteString(id)
	}
	for _, id := range n.Revoked {
		add('r', id)
	}
	for _, id := range n.Updated {
		add('u', id)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

var errBadNotification = errors.New("session: unreadable change notification")

// parseNotification reads a payload made by Encode. Anything else (an
// empty payload from an older version, a truncated or foreign message) is
// an error: the receiver cannot tell what changed.
func parseNotification(p string) (Notification, error) {
	var n Notification
	f := strings.Fields(p)
	if len(f) < 3 || f[0] != "s1" || len(f)%2 != 1 || len(p) > MaxNotificationBytes {
		return n, errBadNotification
	}
	for i := 1; i < len(f); i += 2 {
		id := f[i+1]
		if !validID(id) {
			return Notification{}, errBadNotification
		}
		switch f[i] {
		case "r":
			n.Revoked = append(n.Revoked, id)
		case "u":
			n.Updated = append(n.Updated, id)
		default:
			return Notification{}, errBadNotification
		}
	}
	return n, nil
}

// validID reports whether id looks like a session ID: 1 to 64 base64url
// characters.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
