// Package redis keeps Sesame's session state in Redis, on a single server
// or, unchanged, on a Redis Cluster. [Store] implements [session.Store],
// [session.Cleaner], [token.Store] and [guard.Store], passes
// storetest.Run and storetest.RunGuard on both, and provides a
// [session.Notifier] over Redis pub/sub.
//
//	st, err := redis.Open(ctx, "redis://127.0.0.1:6379/0", redis.Options{})
//	// or redis.Open(ctx, "redis+cluster://h1:7000,h2:7000,h3:7000", ...)
//	// or redis.OpenCluster(ctx, []string{"h1:7000", "h2:7000"}, ...)
//	if err != nil {
//		return err
//	}
//	defer st.Close()
//	sessions, err := session.New(st, session.Config{Notifier: st.Notifier()})
//	// tokens: st is the token.Store; throttling: st is the guard.Store.
//
// It uses github.com/redis/go-redis/v9, whose goredis.UniversalClient
// covers a single node and a Cluster with one API, including pipelines
// routed by slot, pub/sub and Lua scripting (EVALSHA with a fallback to
// EVAL). It needs Redis 7.0 or later (SET with both NX and GET).
//
// # What Redis holds
//
// Redis holds session state only: sessions, refresh-token families,
// login-throttle counters and the recent revocations (the change feed).
// Durable data (users, signing keys, audit records) lives in SQL; the Store
// implements neither sesame.UserStore nor keyring.Store.
//
// Redis is a cache-grade store here. If it restarts without persistence
// (or loses its data otherwise), every session, refresh token, throttle
// counter and recorded revocation is gone: every user must log in again,
// and throttling starts afresh. Nothing durable is lost. And since the
// revocations are gone together with the sessions they revoked, no revoked
// credential comes back: a revoked session cannot be found because no
// session can. (Deployments that want sessions to survive a restart run
// Redis with AOF persistence; the adapter needs nothing else.)
//
// # Keys
//
// Every key starts with [Options.Prefix] ("sesame:" by default; written P
// below). Every key of one user carries the hash tag {u:<user>}, so it is
// in the user's cluster slot, and every per-user operation is one Lua
// script on that slot (a user ID containing '}', or starting with '~', is
// written as '~' and its hex):
//
//	P{u:<user>}:s:<session>     hash: the session record (authoritative)
//	P{u:<user>}:idx             sorted set: the user's sessions, ordered by
//	                            CreatedAt then ID ("<created> <session>")
//	P{u:<user>}:rt:<hash>       hash: a refresh token record
//	P{u:<user>}:fam:<family>    set: the hashes of a refresh family
//	P{u:<user>}:sf:<session>    set: the refresh families of a session
//	P{u:<user>}:gc              set: index keys whose records are gone and
//	                            which are still to be deleted ("sid:<id>",
//	                            "tok:<hash>", "rt:<hash>", "fam:<family>")
//
// Lookups that start from a token hash or an ID go through index keys in
// other slots, which name the user:
//
//	P tok:<hex hash>            "<user> <session>" for a current or previous
//	                            session token hash
//	P sid:<session>             the session's user
//	P rt:<hex hash>             a refresh token's user
//	P fam:<family>              a refresh family's user
//
// An index that points to a missing record reads as not found, and
// ByToken also checks that the record carries the hash it was looked up
// by, so an index left behind never makes a dead session or token usable.
// A refresh token whose session is gone reads as not found too, and cannot
// be redeemed, so no refresh token outlives its session even before the
// cleanup of its keys. The record is the truth; see Atomicity for the
// order in which records and indexes are written and deleted.
//
// Shared keys, each in its own slot:
//
//	P{feed}:seq, P{feed}:changes   the change feed (below)
//	P{exp}:s, P{exp}:r             cleanup queues: sessions by deadline,
//	                               refresh tokens by expiry
//	P g:<key>                      a throttle counter (its own slot each)
//
// # Atomicity
//
// Every record is written by one Lua script on its user's slot: Create's
// record; Update, a compare-and-swap on Version that keeps the later
// LastSeen; Touch, forward only; Delete and DeleteByUser, which remove the
// records, the per-user index entries and the sessions' refresh tokens;
// CreateRefresh; RedeemRefresh, a compare-and-swap on the token's use time
// that marks it used and inserts its successor (of any number of
// concurrent redemptions exactly one wins); DeleteFamily; the cleaner's
// removals; guard.Store.Fail, one script per counter, pipelined, so that
// counters may sit in different slots. The index keys, the feed and the
// cleanup queues are in other slots, so a write that touches them takes
// several steps, and a process can die between any two (SEC-66). Each
// such write is ordered so that whatever a crash leaves is harmless and
// is finished or undone by the client's retry, a later write, the cleaner
// or a TTL:
//
//   - Creation (Create, CreateRefresh) claims the record's indexes with
//     SET NX, which refuses a duplicate, for claimTTL (one minute) only,
//     then writes the record, then extends the claims to the indexes'
//     lifetime. A crash after the claims leaves claims that resolve to
//     nothing and expire within claimTTL. A crash after the record leaves
//     a record whose creator never answered, so that no client holds its
//     token: once the claims expire no lookup reaches it; a session of
//     this kind still appears in ListByUser until its idle deadline (when
//     the cleaner removes it, or its TTL does) or until DeleteByUser, and
//     cannot be deleted by its ID. Nothing blocks a retry, which is a new
//     login with new random IDs.
//   - Redemption (RedeemRefresh) claims nothing: the script marks the
//     token used, records its successor's hash in it and inserts the
//     successor, then the successor's index is written with a plain SET,
//     which is idempotent, then its cleanup entry. A crash between the two
//     leaves a successor without an index; the client's retry reads the
//     used token (RefreshByHash), which writes the missing index (SET NX)
//     when the recorded successor exists, so the retry within the grace
//     gets that successor's pair, as every later retry within the grace
//     does; after the grace it is reuse (SEC-29). Successors are derived
//     from the token, so there is never a second one.
//   - Deletion (Delete, DeleteByUser, DeleteFamily, the cleaner) records
//     the revocations in the feed first (below), then deletes the records
//     in one script that also adds the names of their index keys to the
//     user's pending-unindex set P{u:<user>}:gc, then deletes those indexes
//     (tok: and rt: first; sid:, fam: and the cleanup entries, through
//     which a retry finds the work again, second, together with removing
//     the names from the set). A crash after the script leaves indexes that
//     resolve to nothing and are still listed: a retry of the deletion, any
//     later deletion or update for the user, or the cleaner (which reaches
//     the user through the cleanup entry) finishes them.
//   - Update claims the new token hashes for claimTTL, then runs the
//     compare-and-swap, which also lists the hashes the record no longer
//     carries as pending unindexing, then appends the change to the feed,
//     then extends the claims and the indexes' lifetime, then finishes the
//     user's pending unindexing. A crash before the compare-and-swap
//     leaves claims that expire; a crash after it leaves an index of a
//     dropped hash, which ByToken refuses because the record no longer
//     carries it, until the next deletion or update for the user removes
//     it; the new token, which no client received, is unreachable once its
//     claim expires, while the previous one still works within the renewal
//     grace. A crash between the compare-and-swap and the feed append
//     leaves the update unannounced: processes that cached the earlier
//     version keep it until they next read the session.
//
// Every step is idempotent, so a step repeated by a retry changes nothing
// that the first run did. A race with a concurrent deletion can leave an
// index that a write or repair re-created after its record was deleted;
// like every leftover above it resolves to nothing and expires with its
// TTL. Steps across slots are ordered as described here, not atomic.
//
// # TTLs
//
// Every key expires, so Redis stays bounded without a cleaner: a session
// record lives until its deadline plus [Options.Slack], moved forward by
// Touch and Update; its indexes until its absolute end plus the slack;
// refresh tokens until their expiry plus the slack, their sets as long as
// their longest member; throttle counters until their Expires plus the
// slack; the change feed [Options.ChangesTTL] after its last append; a
// user's pending-unindex set as long as the indexes it lists; a creation's
// index claims claimTTL until they are extended. TTLs
// are durations computed from the caller's times (the remaining lifetime
// from LastSeen, from the token's creation, from the failure's now), so
// Redis's clock never decides what a store call returns: expiry and
// Expires are compared with the caller's now, as the store contracts say.
// The one key without a TTL is the feed's Seq counter.
//
// # Change feed
//
// One sorted set, P{feed}:changes, scored by Seq, with the counter
// P{feed}:seq beside it in the same slot: appending (INCR, ZADD, trim to
// [Options.MaxChanges]) is one script, so a Seq becomes visible together
// with its entry. Changes reads entries and oldest in one script.
// DeleteExpired trims entries older than keepChanges.
//
// On a Cluster a session (its user's slot) and the feed (its own slot)
// cannot change in one transaction, so a deletion appends its revocation
// first and deletes second: a crash in between leaves a revocation notice
// for a session that still exists, never a revoked session whose
// revocation nobody hears of. Update appends its change after the
// compare-and-swap, so a reader that sees the change reads the new record.
// The cleaner records an expired session's revocation before deleting it
// too, and deletes only if the record is unchanged since it checked its
// deadline.
//
// # Notifier
//
// [Store.Notifier] publishes on the channel "<prefix>changes" and
// subscribes to it. Subscribe calls connected(true) when the server
// confirms SUBSCRIBE; on any receive error, or when a PING on a silent
// connection goes unanswered for one health-check period, it calls
// connected(false) at once and subscribes again on a new connection, with
// a delay growing to 2 s, calling connected(true) again on success. On a
// Cluster, PUBLISH and SUBSCRIBE (not the sharded variants) reach every
// node's subscribers.
//
// # Concurrency
//
// A Store is safe for concurrent use, also by many processes on one Redis:
// every invariant is kept by the scripts and orderings above, none by
// process-local state.
package redis
