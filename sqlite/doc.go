// Package sqlite stores Sesame's sessions and users in one SQLite file,
// through modernc.org/sqlite (pure Go, no cgo). [DB] implements
// [session.Store], [session.Cleaner], [sesame.UserStore], [token.Store],
// keyring.Store, guard.Store and [oauth.Store], and passes storetest.Run,
// RunKeys, RunGuard and RunOAuth.
//
//	db, err := sqlite.Open(ctx, "sesame.db")
//	if err != nil {
//		return err
//	}
//	defer db.Close()
//	go db.RunCleanup(ctx, time.Minute, 500, 24*time.Hour, logger)
//	sessions, err := session.New(db, session.Config{})
//	// users: db is a sesame.UserStore too.
//
// # Schema
//
// [Open] applies the migrations embedded from migrations/NNNN_name.sql in
// order, each in its own transaction with its row in schema_migrations, so
// opening twice, or from two processes at once, is safe. It refuses a file
// whose schema is newer than this program knows. To change the schema, add
// the next numbered file.
//
// Times are stored as INTEGER unix nanoseconds, so they read back exactly
// (in UTC); instants outside 1678-2262 are clamped to those ends and the
// zero time.Time reads back as zero. A session's deadline (the earlier of
// LastSeen+IdleTimeout and ExpiresAt) is a generated, indexed column, so
// that cleanup deletes by an index and the column can never disagree with
// the fields it derives from. The change feed (session_changes) is written
// by triggers in the transaction of the UPDATE or DELETE it records: every
// removal of a session row is a revocation, whoever made it.
//
// # Concurrency
//
// A DB is safe for concurrent use. It holds two connection pools on the
// file: one writer connection, through which every write goes, and several
// read-only (query_only) connections for reads. In WAL mode readers never
// wait for the writer nor block it. Writers of one process queue for the
// writer connection in Go, honouring their contexts, instead of racing for
// SQLite's write lock and sleeping in its busy handler; so under concurrent
// use a write never fails with SQLITE_BUSY and none waits longer than the
// writes queued before it. Every statement is prepared once per connection,
// at Open, so no call parses SQL.
//
// Another process writing the same file (the sesame CLI while the server
// runs) competes for the write lock through SQLite: every transaction on
// the writer begins with BEGIN IMMEDIATE, taking the write lock up front so
// it cannot fail halfway on a lock upgrade, and waits up to 5 s
// (busy_timeout) for the other process; only a write that waits longer
// fails. Writes are single statements or short transactions, so that limit
// is far away.
//
// Reads see every write that returned before them: each read starts a new
// WAL snapshot.
//
// The compare-and-swaps (RedeemRefresh, RedeemCode, UseOnce) and
// ClaimLogouts are each one BEGIN IMMEDIATE transaction, so they hold
// across processes too: of concurrent redemptions exactly one wins, and
// two back-channel logout dispatchers never claim the same target.
//
// # Durability
//
// The file runs in WAL mode with synchronous=NORMAL. A write that returned
// nil is in the WAL file: it survives the process being killed (kill -9, a
// panic, OOM) and is there when the file is opened again. An operating
// system crash or power loss may lose the last transactions committed
// before it, but never corrupts the file nor keeps half a transaction.
// Applications that must keep every acknowledged write through power loss
// need synchronous=FULL, at the cost of an fsync per commit.
package sqlite
