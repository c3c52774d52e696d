// Package postgres stores Sesame's data in PostgreSQL, through
// jackc/pgx/v5 and its pool. [DB] implements [session.Store],
// [session.Cleaner], [sesame.UserStore], [token.Store], [keyring.Store],
// [guard.Store], [guard.Cleaner] and [oauth.Store], and passes
// storetest.Run, RunKeys, RunGuard and RunOAuth against a real server. [DB.Notifier] carries change-feed
// notifications between processes with LISTEN/NOTIFY.
//
//	db, err := postgres.Open(ctx, "postgres://sesame@db.internal/sesame")
//	if err != nil {
//		return err
//	}
//	defer db.Close()
//	go db.RunCleanup(ctx, time.Minute, 500, 24*time.Hour, logger)
//	go guard.RunCleanup(ctx, db, time.Minute, logger)
//	sessions, err := session.New(db, session.Config{Notifier: db.Notifier()})
//	// users, keys, refresh tokens, throttle counters: db too.
//
// Several nodes share one database: that is what this adapter is for.
//
// # Schema
//
// [Open] applies the migrations embedded from migrations/NNNN_name.sql, all
// pending ones in one transaction that first takes a transaction-scoped
// advisory lock (pg_advisory_xact_lock) with a fixed key: nodes starting at
// once migrate one after the other, and PostgreSQL's transactional DDL
// leaves the schema at the old version or the new one, never between. It
// refuses a schema newer than this program knows. To change the schema,
// add the next numbered file. The tables live in the first schema of the
// search_path; [OpenSchema] puts them in a schema of their own.
//
// Times are bigint unix nanoseconds, so they read back exactly, to the
// nanosecond (timestamptz keeps only microseconds); instants outside
// 1678-2262 are clamped to those ends and the zero time.Time reads back as
// zero. The indexes keep every request-path statement a probe of a few
// index entries however large the tables grow:
//
//   - sessions: primary key id; unique token_hash; a partial index on
//     prev_token_hash (only sessions that have been renewed); (user_id,
//     created_at, id) for listing and revoking a user's sessions in order;
//     deadline, a STORED generated column (the earlier of last_seen +
//     idle_timeout and expires_at), for batched expiry cleanup.
//   - session_changes: primary key seq (an identity column), time for
//     trimming.
//   - refresh_tokens: primary key hash; family_id; session_id (for the ON
//     DELETE CASCADE from sessions); expires_at for cleanup.
//   - users: primary key id; unique username (collation "C": exact and
//     bytewise). signing_keys: primary key kid. throttle: primary key key;
//     expires_at for cleanup.
//   - The OAuth provider (oauth_*): clients by id (collation "C", listed
//     in order); codes by hash, expires_at for cleanup; consents by (user,
//     client), client_id for deleting a client; logout targets by
//     (session_id, client_id) (collation "C", walked in order by
//     LogoutTargets), a partial index on due_at for claims, client_id;
//     used client-assertion keys by key, expires_at for cleanup.
//
// Text columns cannot hold NUL or invalid UTF-8: a write of such text is an
// *sesame.Error with code [sesame.EInvalid], and a lookup by such a key
// finds nothing. Device fields, token hashes and session data are bytea.
//
// # The change feed
//
// session_changes is written by triggers in the transaction of the UPDATE
// (of version) or DELETE it records: every removal of a session row,
// whoever makes it, is a revocation other processes hear about (TRUNCATE
// bypasses triggers: do not truncate sessions on a live deployment). The
// triggers take a transaction-scoped advisory lock before drawing the seq
// and hold it until commit, so changes commit in seq order and a reader's
// cursor never passes a change that becomes visible later. This
// serialises the commits of updates and deletions of sessions (not
// Create, Touch or reads) across the database; each holds the lock for one
// commit.
//
// # Concurrency
//
// A DB is safe for concurrent use, and any number of processes may use one
// database. Every compare-and-swap is one statement (Update on version,
// RedeemRefresh and RedeemCode on used_at, UseOnce on its primary key,
// each throttle upsert), so it holds under READ COMMITTED from any number
// of nodes: exactly one of concurrent callers wins. Expiry cleanup and
// ClaimLogouts take their rows with FOR UPDATE SKIP LOCKED, so cleaners and
// back-channel logout dispatchers on several nodes share the work, never
// take the same row and never wait for requests.
//
// # Durability
//
// A write that returned nil is committed: with the server's default
// synchronous_commit=on it survives a crash of the database server, and
// with synchronous replication, the loss of the primary. What an error
// means: nothing was changed (each call is one statement or one
// transaction), except that a connection lost during COMMIT leaves the
// outcome unknown to the caller, as with any client.
//
// # Notifications
//
// [DB.Notifier] is best-effort, as [session.Notifier] allows: NOTIFY is
// delivered to connections listening at the time, and a listener that is
// reconnecting misses what was sent meanwhile. It reports that through
// connected(false), and the session view then reads the store per request
// until it has reconnected and caught up from the feed. The feed is the
// truth; notifications only make other nodes read it sooner.
package postgres
