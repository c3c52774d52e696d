package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
)

// storeKeys are the configuration keys every command that acts on the
// deployment takes as flags; the others come from --config and SESAME_*.
var storeKeys = []string{"db", "db_file", "sessions", "sessions_file", "master_key_file"}

// deployFlags are --config, the store flags and, where allowed, --create.
type deployFlags struct {
	flags  *config.Flags
	create *bool
}

// addDeployFlags registers the flags of a command that opens the
// deployment. withCreate adds --create, for the commands that may make a
// new database.
func addDeployFlags(fs *flag.FlagSet, withCreate bool) *deployFlags {
	d := &deployFlags{flags: config.AddFlags(fs, storeKeys...)}
	if withCreate {
		d.create = fs.Bool("create", false, "create the database (and the master key file) when it does not exist yet; without it a missing database is an error, since the path is probably a typo")
	}
	return d
}

// load reads the deployment's configuration for a command.
func (d *deployFlags) load() (*config.Config, error) {
	cfg, err := config.Load(config.Sources{Flags: d.flags, Role: config.RoleCommand})
	if err != nil {
		return nil, deployError(nil, err)
	}
	return cfg, nil
}

// open builds the deployment for a command: it never creates a database
// (unless --create) and refuses a configuration that contradicts the
// deployment's identity.
func (d *deployFlags) open(ctx context.Context, env *Env, opts ...app.Option) (*app.App, error) {
	cfg, err := d.load()
	if err != nil {
		return nil, err
	}
	opts = append([]app.Option{app.ForCommand(), app.WithLogger(quietLogger(env))}, opts...)
	if d.create != nil && *d.create {
		opts = append(opts, app.AllowCreate())
	}
	a, err := app.New(ctx, cfg, opts...)
	if err != nil {
		return nil, deployError(cfg, err)
	}
	return a, nil
}

// deployError turns the errors of config and app into exit codes: a
// problem on the command line, or a missing setting for the deployment's
// session store, is a usage error (2); anything else is a failure (1).
// Every secret of cfg (which may be nil) is removed from the message.
func deployError(cfg *config.Config, err error) error {
	redact := config.RedactURL
	if cfg != nil {
		redact = cfg.Redact
	}
	var ps *config.Problems
	if errors.As(err, &ps) {
		if ps.Usage() {
			return usageError("%s", redact(ps.Error()))
		}
		return failure("%s", redact(ps.Error()))
	}
	var ie *app.IdentityError
	if errors.As(err, &ie) && ie.Missing != "" {
		return usageError("%s", redact(ie.Error()))
	}
	return failure("%s", redact(err.Error()))
}

// newLogger returns the logger for the server: text or JSON on w.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level)) // checked by config
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
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
