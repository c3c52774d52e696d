package session

import (
	"context"
	"time"

	"github.com/sesame-auth/sesame"
)

// Store keeps session records. Implementations must be safe for concurrent
// use. Every implementation passes storetest.Run.
//
// Errors: a missing record is [sesame.ErrNotFound]; a lost version race is
// [sesame.ErrConflict]; any other error means the store could not answer and
// nothing was changed (the manager answers 503 and accepts no credential it
// cannot check).
//
// A record with an empty UserID is an anonymous session (see
// [AnonymousConfig]): every method handles it like any other, except that
// ListByUser and DeleteByUser never return or remove it (an empty userID
// matches nothing), so anonymous sessions are nobody's devices.
//
// Records are returned even when their deadlines have passed; the manager
// decides expiry with its own clock. Stores may delete expired records at
// any time after [sesame.Session.Deadline] (see [Cleaner]).
type Store interface {
	// Create inserts s. Its ID and TokenHash are new; a duplicate ID or
	// token hash is an error.
	Create(ctx context.Context, s *sesame.Session) error

	// ByToken returns the session whose TokenHash or PrevTokenHash equals h.
	ByToken(ctx context.Context, h [32]byte) (*sesame.Session, error)

	// ByID returns the session with the given public ID.
	ByID(ctx context.Context, id string) (*sesame.Session, error)

	// Update replaces the record with s.ID if its stored Version equals
	// s.Version, and stores s with Version+1; on success s.Version is
	// incremented too. A different stored version is ErrConflict; a missing
	// record is ErrNotFound. Every field except ID, UserID and CreatedAt
	// may change.
	Update(ctx context.Context, s *sesame.Session) error

	// Touch sets LastSeen of the session with id to t if t is later than
	// the stored value, without changing Version. A missing record is not
	// an error.
	Touch(ctx context.Context, id string, t time.Time) error

	// Delete removes the session with id and records its revocation in the
	// change feed. Deleting a missing record is not an error; deleted
	// reports whether a record was removed.
	Delete(ctx context.Context, id string) (deleted bool, err error)

	// ListByUser returns the user's sessions ordered by CreatedAt, oldest
	// first; none for an empty userID.
	ListByUser(ctx context.Context, userID string) ([]*sesame.Session, error)

	// DeleteByUser removes every session of the user except the one with ID
	// except ("" keeps none), records each revocation, and returns the IDs
	// it removed; an empty userID removes nothing.
	DeleteByUser(ctx context.Context, userID, except string) ([]string, error)

	// Changes returns the change records with Seq > after, in Seq order, at
	// most limit of them, and oldest: the lowest Seq the store still holds,
	// or, when it holds none, the Seq its next change will get. A reader
	// whose cursor is below oldest-1 has missed changes the store no longer
	// has. Seqs are positive, increase strictly and are never reused. A
	// store that can lose its feed (Redis without persistence) must number
	// a feed it begins again past every Seq it gave before, so that a
	// reader's position then lies in a gap and the reader knows changes
	// were lost (SEC-64).
	Changes(ctx context.Context, after int64, limit int) (changes []Change, oldest int64, err error)
}

// ChangeKind says what happened to a session.
type ChangeKind uint8

// The change kinds.
const (
	ChangeRevoked ChangeKind = 1 // deleted: logout, revoke, block, expiry
	ChangeUpdated ChangeKind = 2 // data or token changed (Update)
)

// Change is one entry of a store's change feed. The feed is how a process
// learns that another process revoked or changed a session it may hold in
// its in-process view.
type Change struct {
	Seq       int64
	Kind      ChangeKind
	SessionID string
	UserID    string
	Time      time.Time
}

// Cleaner is implemented by stores that need their expired records removed
// in batches. DeleteExpired removes at most limit sessions whose deadline is
// at or before now, and change records older than keepChanges before now,
// and reports how many sessions it removed.
type Cleaner interface {
	DeleteExpired(ctx context.Context, now time.Time, keepChanges time.Duration, limit int) (int, error)
}
