// Package audit is the durable audit log: the lifecycle events
// (sesame.Event) kept in the durable store for the admin audit view
// (GET /admin/audit, GET /api/v1/admin/audit), written asynchronously by
// [Sink] and pruned after [Retention].
//
// A record keeps the event's type, time, user ID, username, public session
// ID, IP address and reason. An event carries no secret (see
// sesame.Event), so neither does a record; the user agent is not kept.
package audit

import (
	"context"
	"time"

	"github.com/sesame-auth/sesame"
)

// Retention is how long the audit log keeps an event: the periodic cleanup
// prunes older ones.
const Retention = 90 * 24 * time.Hour

// MaxLimit is the most records one Recent call returns.
const MaxLimit = 500

// EventTypes are the event types the audit view offers as filters: every
// [sesame.EventType], in the order they are documented.
var EventTypes = sesame.EventTypes

// Record is one stored event. Seq orders the records: a later Append has a
// higher Seq.
type Record struct {
	Seq       int64
	Type      sesame.EventType
	At        time.Time // UTC
	UserID    string
	Username  string
	SessionID string
	IP        string
	Reason    string
}

// Filter selects records for Recent. Zero fields select all.
type Filter struct {
	Type     sesame.EventType // exact event type
	Username string           // exact username
	Before   int64            // only records with Seq < Before (keyset paging); 0: the newest
	Limit    int              // at most this many (<= 0 or > MaxLimit: MaxLimit)
}

// Log is a durable audit log. Implementations are safe for concurrent use.
type Log interface {
	// Append stores the events, in order, in one write.
	Append(ctx context.Context, events []sesame.Event) error
	// Recent returns the records f selects, newest (highest Seq) first.
	Recent(ctx context.Context, f Filter) ([]Record, error)
	// Prune deletes the records whose time is before olderThan and
	// returns how many it deleted.
	Prune(ctx context.Context, olderThan time.Time) (int, error)
}

// Provider is a store that keeps an audit log (sqlite, postgres, memstore).
type Provider interface {
	AuditLog() Log
}

// FromEvent is the record of e (Seq unset): the time in UTC, each text
// field cut to at most 512 bytes.
func FromEvent(e sesame.Event) Record {
	return Record{Type: sesame.EventType(cut(string(e.Type))), At: e.Time.UTC(), UserID: cut(e.UserID),
		Username: cut(e.Username), SessionID: cut(e.SessionID), IP: cut(e.IP), Reason: cut(e.Reason)}
}

// EffectiveLimit is f.Limit bounded to 1..MaxLimit.
func (f Filter) EffectiveLimit() int {
	if f.Limit <= 0 || f.Limit > MaxLimit {
		return MaxLimit
	}
	return f.Limit
}

func cut(s string) string {
	if len(s) > 512 {
		s = s[:512]
	}
	return s
}
