package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-auth/sesame"
)

// DB is a Sesame store in one PostgreSQL database (or one schema of it).
// It implements [session.Store], [session.Cleaner], [sesame.UserStore],
// [token.Store], [keyring.Store], [guard.Store] and [guard.Cleaner]; its
// [DB.Notifier] is a [session.Notifier]. It is safe for concurrent use, by
// any number of goroutines and of processes on one database.
type DB struct {
	pool *pgxpool.Pool
	// events: the webhook outbox rows of writes, in their transaction
	// (events.go).
	events eventState
}

// Open connects to the PostgreSQL database at url (a postgres:// URL or a
// keyword/value string, as pgx parses it) and brings its schema up to date.
// It refuses a database whose schema is newer than this program knows.
//
// The tables live in the first schema of the connection's search_path,
// which a search_path URL parameter sets (or see [OpenSchema]). The pool's
// size and lifetimes follow pgxpool's URL parameters (pool_max_conns,
// default the larger of 4 and the number of CPUs). Statements are prepared
// and cached per connection; behind a transaction-pooling proxy such as
// PgBouncer, add default_query_exec_mode=exec.
//
// Close the DB when done.
func Open(ctx context.Context, url string) (*DB, error) {
	return open(ctx, url, "")
}

// OpenSchema is [Open] with every table in schema, which is created if it
// does not exist: the connection's search_path is schema alone. Several
// deployments (or tests) can share one database this way, each in its own
// schema.
func OpenSchema(ctx context.Context, url, schema string) (*DB, error) {
	if schema == "" || !storableText(schema) {
		return nil, fmt.Errorf("postgres: open: invalid schema name %q", schema)
	}
	return open(ctx, url, schema)
}

func open(ctx context.Context, url, schema string) (*DB, error) {
	ms, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, errors.New("postgres: open: cannot parse the database URL")
	}
	if schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "sesame"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := migrate(ctx, pool, ms, schema); err != nil {
		pool.Close()
		return nil, err
	}
	return &DB{pool: pool}, nil
}

// Close closes every connection of the pool, waiting for the ones in use
// to be released. A write that returned before Close is committed (see the
// package documentation on durability). Close always returns nil; its
// error result lets it sit in a list of closers.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Pool returns the connection pool, for tables added by this package's
// migrations and for operational queries. Its connections have the DB's
// search_path.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// PostgreSQL error codes the adapter branches on.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeBadEncoding         = "22021" // character_not_in_repertoire: invalid UTF-8 or NUL in text
)

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// readErr maps pgx.ErrNoRows to [sesame.ErrNotFound] and wraps any other
// error.
func readErr(what string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return sesame.ErrNotFound
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// writeErr wraps err; text PostgreSQL cannot store (invalid UTF-8, NUL) is
// the caller's mistake, an *sesame.Error with code [sesame.EInvalid], not
// an outage.
func writeErr(what string, err error) error {
	if pgCode(err) == codeBadEncoding {
		return sesame.Wrap(sesame.EInvalid, fmt.Errorf("postgres: %s: %w", what, err), "text is not valid UTF-8 or contains NUL")
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}
