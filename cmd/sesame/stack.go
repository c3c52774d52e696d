package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/server"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/sqlite"
	"github.com/sesame-auth/sesame/token"
)

// durableStore keeps what must survive: users and signing keys (SQLite or
// PostgreSQL).
type durableStore interface {
	sesame.UserStore
	keyring.Store
}

// stateStore keeps session state: sessions and their change feed, refresh
// tokens and login throttle counters (the --db database, or Redis).
type stateStore interface {
	session.Store
	token.Store
	guard.Store
}

// stack is what every command that touches the database builds: the
// stores, the session manager and the account service over them.
type stack struct {
	durable  durableStore
	state    stateStore
	notifier session.Notifier // nil: views poll the change feed
	closers  []func() error
	sessions *session.Manager
	accounts *account.Service
	logger   *slog.Logger
}

// storeFlags are --db and --sessions.
type storeFlags struct {
	db, sessions *string
}

// dbFlag registers --db on fs.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", "./sesame.db", "durable database (users, signing keys; and session state unless --sessions): a file path, sqlite:PATH, or postgres://URL (env SESAME_DB)")
}

// addStoreFlags registers --db and --sessions on fs.
func addStoreFlags(fs *flag.FlagSet) storeFlags {
	return storeFlags{
		db:       dbFlag(fs),
		sessions: fs.String("sessions", "", "session state (sessions, refresh tokens, throttle counters) in Redis: redis://HOST:PORT/DB, or redis+cluster://H1:P1,H2:P2,... (env SESAME_SESSIONS; default: the --db database)"),
	}
}

// isPostgres reports whether a --db value names a PostgreSQL database.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// sqlitePath turns a --db value into a SQLite file path.
func sqlitePath(db string) (string, error) {
	switch {
	case strings.HasPrefix(db, "sqlite:"):
		db = strings.TrimPrefix(db, "sqlite:")
	case strings.Contains(db, "://"):
		scheme, _, _ := strings.Cut(db, "://")
		return "", usageError("--db: %s databases are not supported; use a file path, sqlite:PATH or postgres://URL", scheme)
	}
	if db == "" {
		return "", usageError("--db: empty path")
	}
	return db, nil
}

// openStack opens the stores and builds the services over them.
func openStack(ctx context.Context, sf storeFlags, cfg session.Config, logger *slog.Logger) (*stack, error) {
	st := &stack{logger: logger}
	if err := checkSessionsURL(sf.sessionsURL()); err != nil {
		return nil, err // before anything is created
	}
	if err := st.openDurable(ctx, *sf.db); err != nil {
		return nil, err
	}
	if err := st.openState(ctx, sf.sessionsURL()); err != nil {
		st.Close()
		return nil, err
	}
	audit := server.AuditLog{Logger: logger}
	cfg.Events = audit
	cfg.Logger = logger
	cfg.Notifier = st.notifier
	mgr, err := session.New(st.state, cfg)
	if err != nil {
		st.Close()
		return nil, usageError("%v", err)
	}
	st.sessions = mgr
	st.accounts = &account.Service{Users: st.durable, Sessions: mgr, Hasher: &password.Hasher{}, Events: audit}
	return st, nil
}

func (sf storeFlags) sessionsURL() string {
	if sf.sessions == nil {
		return ""
	}
	return *sf.sessions
}

// openDurable opens the --db database.
func (st *stack) openDurable(ctx context.Context, db string) error {
	if isPostgres(db) {
		return st.openPostgres(ctx, db)
	}
	path, err := sqlitePath(db)
	if err != nil {
		return err
	}
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		return failure("open database %s: %v", path, err)
	}
	st.durable, st.state = store, store
	st.closers = append(st.closers, store.Close)
	return nil
}

// openState opens the --sessions store, when it is not the --db database.
func (st *stack) openState(ctx context.Context, url string) error {
	if url == "" {
		return nil
	}
	return st.openRedis(ctx, url)
}

// checkSessionsURL refuses a --sessions value that names no Redis.
func checkSessionsURL(url string) error {
	if url == "" || strings.HasPrefix(url, "redis://") || strings.HasPrefix(url, "rediss://") || strings.HasPrefix(url, "redis+cluster://") {
		return nil
	}
	return usageError("--sessions: want redis://, rediss:// or redis+cluster://, got %q", redactURL(url))
}

// runBackground starts the state store's cleanup loops until ctx ends.
func (st *stack) runBackground(ctx context.Context) {
	if c, ok := st.state.(interface {
		RunCleanup(ctx context.Context, every time.Duration, batch int, keepChanges time.Duration, logger *slog.Logger)
	}); ok {
		go c.RunCleanup(ctx, time.Minute, 1000, time.Hour, st.logger)
	}
	if c, ok := st.state.(guard.Cleaner); ok {
		go guard.RunCleanup(ctx, c, time.Minute, st.logger)
	}
}

// Close closes every store, the last opened first.
func (st *stack) Close() error {
	var first error
	for i := len(st.closers) - 1; i >= 0; i-- {
		if err := st.closers[i](); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// redactURL drops the password of a URL for messages.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return s
}

// applyEnv sets every flag of fs that has a SESAME_<NAME> environment
// variable (dashes become underscores) to that value, so that the command
// line, parsed afterwards, overrides the environment.
func applyEnv(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		key := "SESAME_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(key); ok && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = usageError("%s: %v", key, e)
			}
		}
	})
	return err
}

// newLogger returns the logger for commands: text or JSON on w.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError("--log-format: want text or json, got %q", format)
}

// quietLogger is for one-shot commands: only warnings and errors, on stderr.
func quietLogger(env *Env) *slog.Logger {
	return slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func printf(w io.Writer, format string, a ...any) { fmt.Fprintf(w, format, a...) }

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
