// Package mongo keeps Sesame's session state in MongoDB, or in a server
// that speaks its wire protocol (FerretDB, which the tests run). [Store]
// implements [session.Store], [session.Cleaner], [token.Store],
// [guard.Store] and [guard.Cleaner], passes storetest.Run,
// storetest.RunGuard and storetest.RunCrash, and provides a
// [session.Notifier].
//
//	st, err := mongo.Open(ctx, "mongodb://127.0.0.1:27017/sesame", mongo.Options{})
//	if err != nil {
//		return err
//	}
//	defer st.Close()
//	sessions, err := session.New(st, session.Config{Notifier: st.Notifier()})
//	// tokens: st is the token.Store; throttling: st is the guard.Store.
//
// It uses go.mongodb.org/mongo-driver/v2. It keeps session state only
// (the session-state role of `sesame serve --sessions mongodb://...`):
// users, keys and the OAuth provider's state stay in SQL.
//
// # Only single-document atomicity
//
// The adapter relies on nothing but what FerretDB 1.x does atomically: an
// insert under a unique key (the _id, or a unique index) and a delete.
// FerretDB has no multi-document transactions, and none of its updates is
// atomic: findAndModify and update read the document, apply the operators
// in FerretDB's process and write the whole document back, so two
// concurrent $inc can both count 1, and a compare-and-swap filter is no
// guard. So every compare-and-swap is an insert that only one writer can
// make, and no two writers ever update one document concurrently:
//
//   - Update claims the next version by inserting "<session>|<version+1>"
//     into session_versions; the winner alone writes the record.
//   - Touch writes LastSeen into session_seen, never into the record
//     (whose write-back would undo a concurrent Update); reads take the
//     later of the two.
//   - RedeemRefresh inserts the token's redemption (with the successor's
//     document) into refresh_used, keyed by the token's hash; the winner
//     then inserts the successor.
//   - A throttle counter is a chain of documents "<key>|<n>", each
//     computed from the one before it: exactly one writer inserts link
//     n+1, and each Fail gets its own Count.
//   - The change feed is a collection keyed by Seq; a writer walks to the
//     first missing Seq after the newest entry it knows of (or after the
//     trimmed floor) and inserts under it, walking on after a duplicate.
//
// FerretDB's SQLite backend also serves only one filter from an index:
// _id equal to a string. Any other filter is a scan of the collection. So
// every lookup on a request's path is by string _id: session_tokens maps
// a token hash (hex) to its session, refresh tokens and redemptions are
// keyed by the hash's hex, feed entries by their Seq as 20 digits, and a
// throttle counter's links by "<key>|<n>" from a hint document.
//
// On MongoDB itself the same code is correct (these are stronger
// guarantees than it needs) but does more round trips than one built on
// MongoDB's atomic findAndModify would.
//
// # Change feed
//
// An entry is only ever inserted right after one that exists (or right
// after the floor, the last Seq trimmed, kept in the meta collection), so
// the feed has no gaps and a reader's cursor never passes an entry that
// appears later: there is nothing to detect or wait for. Changes reads the
// entries, then the floor, and answers oldest = floor+1, so a trim between
// the two reads makes a reader believe it missed changes, never the
// reverse. The cleaner raises the floor before it deletes entries (one
// cleaner at a time, under an inserted lock), and a writer whose Seq a
// trim passed starts over, so no Seq is given twice.
// A feed whose documents were lost begins after the current time in
// microseconds, past every Seq given before (SEC-64). Concurrent writers
// contend for each Seq: a busy deployment pays a retry per collision.
//
// # Crash safety (SEC-66)
//
// Each multi-step write is ordered so that a crash between steps leaves
// a harmless state: Delete and DeleteByUser record the revocation before
// deleting the record, then delete the refresh tokens (a token whose
// session is gone reads as not found); Update appends its change after the
// write (a crash in between leaves the update unannounced, as on Redis),
// and a crash between its claim and its write leaves the session unable
// to change until it ends; RedeemRefresh's redemption record carries the
// successor, which RefreshByHash of the redeemed token inserts if the
// redeemer died before it; DeleteFamily deletes redemptions before tokens.
//
// # Expiry
//
// Documents carry a ttl date (the absolute end, or the expiry, plus
// [Options.Slack]) and TTL indexes are created where the server has them
// (FerretDB 1.x answers NotImplemented; the adapter then goes on without).
// TTL deletion is lazy (about once a minute on MongoDB) and records no
// revocation, so reads never rely on it: the manager decides a session's
// expiry with its own clock, Get treats an expired counter as zero, and
// the cleaner ([Store.RunCleanup], guard.RunCleanup; `sesame serve` runs
// both) removes idle-expired sessions with their revocations in the feed.
//
// # Notifier
//
// [Store.Notifier] watches the feed collection with a change stream where
// the server has them (a replica set), and otherwise reads the feed every
// [Options.PollInterval] (100 ms by default): a revocation on one node
// then reaches the others within about one interval plus a query. Notify
// sends nothing, since the change is in the feed already.
package mongo
