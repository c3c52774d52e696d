package mail

import (
	"context"
	"time"
)

// Message is one stored outbox message. Body is sealed ([Outbox] seals
// and opens it); the store never sees a recipient, subject or link.
type Message struct {
	ID        string    // random, unique
	Body      []byte    // sealed Rendered
	CreatedAt time.Time // UTC
	DueAt     time.Time // not claimed before this time
	Attempts  int       // claims so far
	LastError string    // the latest failure, without the message's content
}

// Store is the durable outbox. Implementations (memstore, sqlite,
// postgres) pass storetest's mail suite. Every method is safe for
// concurrent use, across processes sharing the store.
type Store interface {
	// AddMail stores a new message. A message whose ID is already stored
	// is an error with code sesame.EConflict.
	AddMail(ctx context.Context, m *Message) error
	// ClaimMail returns at most limit due messages (DueAt at or before
	// now), earliest DueAt first, after moving each one's DueAt to until
	// and adding one to its Attempts, atomically: two senders never claim
	// a message at once, and a sender that dies holding a claim gives it
	// back at until.
	ClaimMail(ctx context.Context, now, until time.Time, limit int) ([]*Message, error)
	// RetryMail sets a message's DueAt and LastError after a failed
	// attempt. A missing message is not an error.
	RetryMail(ctx context.Context, id string, due time.Time, lastError string) error
	// DeleteMail removes a message (sent, or given up). A missing message
	// is not an error.
	DeleteMail(ctx context.Context, id string) error
}
