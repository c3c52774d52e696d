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
// by. So indexes are written before their record (Create claims them with
// SET NX, which also refuses duplicates) and deleted after it: a crash
// between the steps leaves an index that resolves to nothing, never a
// token that resolves to a session that should be dead. A refresh token
// whose session is gone reads as not found too, and cannot be redeemed, so
// no refresh token outlives its session even before the cleanup of its
// keys.
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
// Lua scripts, each on one slot: Create's record; Update, a compare-and-
// swap on Version that keeps the later LastSeen; Touch, forward only;
// Delete and DeleteByUser, which remove the records, the per-user index
// entries and the sessions' refresh tokens in one script; CreateRefresh
// and RedeemRefresh (a compare-and-swap on the token's use time: of any
// number of concurrent redemptions exactly one wins); DeleteFamily;
// guard.Store.Fail, one script per counter, pipelined, so that counters
// may sit in different slots. Steps across slots (an index and its
// record, a feed entry and a deletion) are ordered as described here, not
// atomic.
//
// # TTLs
//
// Every key expires, so Redis stays bounded without a cleaner: a session
// record lives until its deadline plus [Options.Slack], moved forward by
// Touch and Update; its indexes until its absolute end plus the slack;
// refresh tokens until their expiry plus the slack, their sets as long as
// their longest member; throttle counters until their Expires plus the
// slack; the change feed [Options.ChangesTTL] after its last append. TTLs
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
