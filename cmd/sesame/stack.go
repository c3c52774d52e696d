package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/server"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/sqlite"
)

// stack is what every command that touches the database builds: the
// store, the session manager and the account service over it.
type stack struct {
	db       *sqlite.DB
	sessions *session.Manager
	accounts *account.Service
	logger   *slog.Logger
}

// dbFlag registers --db on fs.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", "./sesame.db", "database: a file path or sqlite:PATH (env SESAME_DB)")
}

// sqlitePath turns a --db value into a SQLite file path.
func sqlitePath(db string) (string, error) {
	switch {
	case strings.HasPrefix(db, "sqlite:"):
		db = strings.TrimPrefix(db, "sqlite:")
	case strings.Contains(db, "://"):
		scheme, _, _ := strings.Cut(db, "://")
		return "", usageError("--db: %s databases are not supported yet; use a file path or sqlite:PATH", scheme)
	}
	if db == "" {
		return "", usageError("--db: empty path")
	}
	return db, nil
}

// openStack opens the database and builds the services over it.
func openStack(ctx context.Context, db string, cfg session.Config, logger *slog.Logger) (*stack, error) {
	path, err := sqlitePath(db)
	if err != nil {
		return nil, err
	}
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, failure("open database %s: %v", path, err)
	}
	audit := server.AuditLog{Logger: logger}
	cfg.Events = audit
	cfg.Logger = logger
	mgr, err := session.New(store, cfg)
	if err != nil {
		store.Close()
		return nil, usageError("%v", err)
	}
	acc := &account.Service{Users: store, Sessions: mgr, Hasher: &password.Hasher{}, Events: audit}
	return &stack{db: store, sessions: mgr, accounts: acc, logger: logger}, nil
}

func (s *stack) Close() error { return s.db.Close() }

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
