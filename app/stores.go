package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/mongo"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/postgres"
	"github.com/sesame-auth/sesame/redis"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/sqlite"
	"github.com/sesame-auth/sesame/token"
)

// DurableStore keeps what must survive: users, signing keys, the
// deployment's identity and the OAuth provider's state (registered
// clients, codes, consents, the back-channel logout outbox) (SQLite or
// PostgreSQL).
type DurableStore interface {
	sesame.UserStore
	keyring.Store
	oauth.Store
}

// StateStore keeps session state: sessions and their change feed, refresh
// tokens and login throttle counters (the durable database, Redis or
// MongoDB).
type StateStore interface {
	session.Store
	token.Store
	guard.Store
}

// NoDatabaseError is returned to a command that would create a database:
// the path is probably a typo.
type NoDatabaseError struct {
	DB string // the db setting, redacted
}

func (e *NoDatabaseError) Error() string {
	return fmt.Sprintf("no Sesame database at %s (run `sesame serve` once, or pass --create)", e.DB)
}

// StoreError is a store that could not be opened or reached: one line,
// without the driver's internals or any password.
type StoreError struct {
	What string // "database" or "sessions store"
	Err  error
}

func (e *StoreError) Error() string { return fmt.Sprintf("open %s: %v", e.What, e.Err) }
func (e *StoreError) Unwrap() error { return e.Err }

func init() {
	// go-redis logs connection failures on its own; Sesame reports them as
	// one error instead.
	goredis.SetLogger(quietRedis{})
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// openState opens the sessions store when it is Redis or MongoDB.
func (a *App) openState(ctx context.Context) error {
	if a.cfg.Sessions == "" {
		return nil
	}
	if config.IsMongo(a.cfg.Sessions) {
		m, err := mongo.Open(ctx, a.cfg.Sessions, mongo.Options{})
		if err != nil {
			return &StoreError{What: "sessions store " + config.RedactURL(a.cfg.Sessions), Err: errors.New(a.cfg.Redact(oneLine(err)))}
		}
		a.state, a.notifier = m, m.Notifier()
		a.closers = append(a.closers, m.Close)
		return nil
	}
	r, err := redis.Open(ctx, a.cfg.Sessions, redis.Options{})
	if err != nil {
		return &StoreError{What: "sessions store " + config.RedactURL(a.cfg.Sessions), Err: errors.New(a.cfg.Redact(oneLine(err)))}
	}
	a.state, a.notifier = r, r.Notifier()
	a.closers = append(a.closers, r.Close)
	return nil
}

// openDurable opens the db database, refusing to create one for a command.
func (a *App) openDurable(ctx context.Context) error {
	if config.IsPostgres(a.cfg.DB) {
		return a.openPostgres(ctx)
	}
	path, err := config.SQLitePath(a.cfg.DB)
	if err != nil {
		return err
	}
	_, statErr := os.Stat(path)
	isNew := errors.Is(statErr, os.ErrNotExist)
	if isNew && a.opts.command && !a.opts.create {
		return &NoDatabaseError{DB: path}
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		if isNew {
			removeSQLite(path)
		}
		return &StoreError{What: "database " + path, Err: errors.New(oneLine(err))}
	}
	if isNew {
		a.created = append(a.created, func() { removeSQLite(path) })
	}
	a.durable = db
	if a.state == nil {
		a.state = db
	}
	a.closers = append(a.closers, db.Close)
	return nil
}

func removeSQLite(path string) {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		os.Remove(p)
	}
}

func (a *App) openPostgres(ctx context.Context) error {
	what := "database " + config.RedactURL(a.cfg.DB)
	if a.opts.command && !a.opts.create {
		exists, err := postgresHasSchema(ctx, a.cfg.DB)
		if err != nil {
			return &StoreError{What: what, Err: errors.New(a.cfg.Redact(oneLine(err)))}
		}
		if !exists {
			return &NoDatabaseError{DB: config.RedactURL(a.cfg.DB)}
		}
	}
	pg, err := postgres.Open(ctx, a.cfg.DB)
	if err != nil {
		return &StoreError{What: what, Err: errors.New(a.cfg.Redact(oneLine(err)))}
	}
	a.durable = pg
	if a.state == nil {
		a.state, a.notifier = pg, pg.Notifier()
	}
	a.closers = append(a.closers, pg.Close)
	return nil
}

// postgresHasSchema reports whether Sesame's tables exist in the database.
func postgresHasSchema(ctx context.Context, url string) (bool, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return false, errors.New("cannot parse the database URL")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	var exists bool
	err = conn.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists)
	return exists, err
}

// oneLine is the first line of an error's text.
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// masterKeyFile is the key file of cfg: master_key_file, or next to a
// SQLite database, or sesame.key in the working directory.
func masterKeyFile(cfg *config.Config) string {
	if cfg.MasterKeyFile != "" {
		return cfg.MasterKeyFile
	}
	path, err := config.SQLitePath(cfg.DB)
	if err != nil || path == "" {
		return "sesame.key"
	}
	file := strings.TrimSuffix(path, filepath.Ext(path)) + ".key"
	if file == path {
		file += ".key"
	}
	return file
}

// MasterKeyFile is the key file the configuration names (or its default).
func MasterKeyFile(cfg *config.Config) string { return masterKeyFile(cfg) }

// openMasterKey loads the master key; a server creates the key file on
// first start.
func (a *App) openMasterKey(ctx context.Context) error {
	file := masterKeyFile(a.cfg)
	env := a.cfg.MasterKey.Reveal()
	var (
		m   *keyring.MasterKey
		err error
	)
	if a.opts.command && !a.opts.create {
		m, err = keyring.LoadMasterKey(env, file)
	} else {
		_, statErr := os.Stat(file)
		m, err = keyring.LoadOrCreateMasterKey(ctx, env, file, a.durable, a.logger)
		if err == nil && env == "" && errors.Is(statErr, os.ErrNotExist) {
			a.created = append(a.created, func() { os.Remove(file) })
		}
	}
	if err != nil {
		return errors.New(a.cfg.Redact(strings.TrimPrefix(err.Error(), "keyring: ")))
	}
	a.master = m
	return nil
}

// runCleanup starts the state store's cleanup loops until ctx ends.
// Each round of the state store's loop is timed through ctx
// (cleanupContext); each throttle cleanup by meter.
func runCleanup(ctx context.Context, state StateStore, logger *slog.Logger, spawn func(func()), meter func(time.Time, error)) {
	if c, ok := state.(interface {
		RunCleanup(ctx context.Context, every time.Duration, batch int, keepChanges time.Duration, logger *slog.Logger)
	}); ok {
		spawn(func() { c.RunCleanup(ctx, time.Minute, 1000, time.Hour, logger) })
	}
	if c, ok := state.(guard.Cleaner); ok {
		spawn(func() { guard.RunCleanup(ctx, meteredThrottleCleaner{c, meter}, time.Minute, logger) })
	}
}

// meteredThrottleCleaner times each DeleteStaleThrottles.
type meteredThrottleCleaner struct {
	guard.Cleaner
	meter func(time.Time, error)
}

func (c meteredThrottleCleaner) DeleteStaleThrottles(ctx context.Context, now time.Time) (int, error) {
	t := time.Now()
	n, err := c.Cleaner.DeleteStaleThrottles(ctx, now)
	c.meter(t, err)
	return n, err
}
