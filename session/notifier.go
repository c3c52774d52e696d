package session

import "context"

// Notifier carries "the change feed has new entries" from the process
// that wrote them to every other process at once, so that a revocation
// reaches every node's view in milliseconds rather than at its next poll
// (Redis pub/sub, PostgreSQL LISTEN/NOTIFY). It carries no data: the
// store's change feed stays the one source of truth, so a lost
// notification only costs latency, never correctness.
//
// Implementations must be safe for concurrent use.
type Notifier interface {
	// Notify tells every subscriber, in every process, that the feed has
	// new entries. The manager calls it after each revocation or update it
	// makes. An error is logged; the change is in the feed regardless.
	Notify(ctx context.Context) error

	// Subscribe delivers notifications until ctx ends, reconnecting by
	// itself after failures. It calls connected(true) once it is listening
	// (and again after every reconnection) and connected(false) as soon as
	// it knows it may miss notifications. It calls changed() for each
	// notification. It returns when ctx ends.
	Subscribe(ctx context.Context, changed func(), connected func(bool)) error
}
