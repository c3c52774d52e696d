package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"time"

	msqlite "modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// busyTimeoutMillis is how long a connection waits for another process's
// write lock before failing with SQLITE_BUSY. Within one process writes never
// wait for it: they queue for the single writer connection instead.
const busyTimeoutMillis = 5000

// DB is a Sesame store in one SQLite file. It implements [session.Store],
// [session.Cleaner] and [sesame.UserStore]. It is safe for concurrent use;
// see the package documentation for how reads and writes are scheduled.
type DB struct {
	w  *sql.DB // one connection: every write, in BEGIN IMMEDIATE transactions
	r  *sql.DB // several query_only connections: every read
	st statements
	// events: the webhook outbox rows of writes, in their transaction
	// (events.go).
	events eventState
}

// Open opens the database file at path, creating it if needed, and brings
// its schema up to date. It refuses a database whose schema is newer than
// this binary knows. path is a file name, not a URI; ":memory:" is refused
// because every connection would see a different database.
//
// Close the DB when done.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: open %q: a database file path is required", path)
	}
	ms, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	db := &DB{}
	if db.w, err = openPool(path, writerParams, 1); err != nil {
		return nil, err
	}
	// The writer connection is opened (and the file created, in WAL mode)
	// before any reader, whose query_only connections could not do it.
	if err := retryBusy(ctx, func() error {
		if err := db.w.PingContext(ctx); err != nil {
			return fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		return migrate(ctx, db.w, ms)
	}); err != nil {
		db.w.Close()
		return nil, err
	}
	if db.r, err = openPool(path, readerParams, max(4, runtime.GOMAXPROCS(0))); err != nil {
		db.w.Close()
		return nil, err
	}
	if err := db.st.prepare(ctx, db.w, db.r); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// The connection settings, as modernc.org/sqlite DSN parameters.
//   - WAL: readers never block the writer nor each other.
//   - synchronous=NORMAL: in WAL mode a commit survives a crash of the
//     process; only an operating-system crash or power loss may lose the
//     last commits (never corrupting the file).
//   - _txlock=immediate: every transaction on the writer takes the write
//     lock at BEGIN, so it can never fail to upgrade a read lock halfway
//     (SQLITE_BUSY_SNAPSHOT, which busy_timeout does not retry).
//   - query_only on readers: a write sent to the wrong pool fails instead of
//     racing the writer.
var (
	writerParams = fmt.Sprintf("_busy_timeout=%d&_foreign_keys=on&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate", busyTimeoutMillis)
	readerParams = fmt.Sprintf("_busy_timeout=%d&_foreign_keys=on&_query_only=on", busyTimeoutMillis)
)

// openPool opens a pool of at most n long-lived connections, so that the
// statements prepared on each are kept.
func openPool(path, params string, n int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", fileURI(path)+"?"+params)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// fileURI returns path as an SQLite "file:" URI, escaping the characters
// that would end the path.
func fileURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// Close closes the database. Writes that returned before Close are durable
// as described in the package documentation. Close is not safe to call
// concurrently with other methods.
func (db *DB) Close() error {
	errs := []error{db.st.close()}
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	// optimize keeps the query planner's statistics fresh; it is cheap when
	// nothing changed.
	_, err := db.w.Exec("PRAGMA optimize")
	errs = append(errs, err, db.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// SQL returns the writer pool: a single connection whose transactions
// begin with BEGIN IMMEDIATE. It is for tables added by this package's
// migrations (for example, the server's signing keys).
//
// Because the pool has one connection, a caller must finish each
// transaction or result set before calling any writing method of db, or
// both wait for each other forever.
func (db *DB) SQL() *sql.DB { return db.w }

// retryBusy runs f until it succeeds, fails with anything but SQLITE_BUSY,
// or about 10 s have passed. Switching a new file to WAL mode while another
// process opens it can fail with SQLITE_BUSY at once, without waiting for
// busy_timeout (SQLite does not call the busy handler there), so two
// processes starting together retry here instead of failing.
func retryBusy(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(10 * time.Second)
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(min(attempt, 20)) * 10 * time.Millisecond):
		}
	}
}

func isBusy(err error) bool {
	var e *msqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// createPrivate creates the database file with mode 0600 if it does not
// exist: it holds password hashes and session state, and SQLite gives its
// -wal and -shm files the database file's mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	return f.Close()
}
