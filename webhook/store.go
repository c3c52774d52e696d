package webhook

import (
	"context"
	"time"
)

// Store is the durable webhook outbox: one [Message] per (event, endpoint).
// It is the deployment's durable store (SQLite or PostgreSQL; memstore
// for tests and single-process library use), never Redis.
//
// Implementations must be safe for concurrent use (and by several
// processes on one database), copy records in and out, read no clock,
// and pass storetest.RunWebhooks.
//
// Errors: a missing record is sesame.ErrNotFound (where said); any other
// error means the store could not answer and nothing was changed.
type Store interface {
	// AddWebhooks stores new messages, all or none. A message whose ID is
	// already stored is an error with code sesame.EConflict, and then
	// none is stored.
	AddWebhooks(ctx context.Context, ms []*Message) error
	// ClaimWebhooks returns at most limit due messages (not dead, DueAt at
	// or before now), earliest DueAt first (ties by ID), after moving
	// each one's DueAt to until and adding one to its Attempts,
	// atomically: two dispatchers (two nodes) never claim the same
	// message at once, and a dispatcher that dies holding a claim gives
	// it back at until.
	ClaimWebhooks(ctx context.Context, now, until time.Time, limit int) ([]*Message, error)
	// RetryWebhook sets a pending message's DueAt and LastError (after a
	// failed attempt). A missing or dead message is not an error and is
	// left as it is.
	RetryWebhook(ctx context.Context, id string, due time.Time, lastError string) error
	// DeleteWebhook removes the message (delivered, or its endpoint
	// removed). Deleting a missing message is not an error.
	DeleteWebhook(ctx context.Context, id string) error
	// KillWebhook dead-letters the message: DeadAt = at, LastError set; a
	// dead message is never claimed. A missing message is not an error.
	KillWebhook(ctx context.Context, id string, at time.Time, lastError string) error
	// ListWebhooks returns the dead messages (dead true) or the pending
	// ones (dead false) whose ID is greater than after, ordered by ID, at
	// most limit.
	ListWebhooks(ctx context.Context, dead bool, after string, limit int) ([]*Message, error)
	// ReviveWebhook makes a dead message pending again, due at due, with
	// Attempts 0 (a new retry schedule). ErrNotFound when there is no
	// dead message with the ID (missing, or pending).
	ReviveWebhook(ctx context.Context, id string, due time.Time) error
	// ReviveDeadWebhooks revives every dead message and returns how many.
	ReviveDeadWebhooks(ctx context.Context, due time.Time) (int, error)
}

// Message is one webhook to deliver to one endpoint. Its ID is the
// webhook-id, the same on every attempt.
type Message struct {
	ID        string // webhook-id: "msg_..." (no ".")
	URL       string // the endpoint
	Type      string // the event type
	Payload   []byte // the body, signed as is
	CreatedAt time.Time
	DueAt     time.Time // next attempt (or end of the current claim)
	Attempts  int       // attempts started (claims) since created or revived
	LastError string    // the last failure, without secrets
	DeadAt    time.Time // zero while pending; set when dead-lettered
}
