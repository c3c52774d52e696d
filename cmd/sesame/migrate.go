package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/migrate"
	"github.com/sesame-auth/sesame/postgres"
	"github.com/sesame-auth/sesame/redis"
	"github.com/sesame-auth/sesame/sqlite"
)

func init() {
	register("migrate", "copy a deployment to other stores (SQLite, PostgreSQL, Redis), verified: sesame migrate --from DB --to DB [--sessions-to URL]", runMigrate)
}

const migrateHelp = `
Copies a stopped deployment from its stores to new ones: users (groups,
password hashes, blocked state), signing keys (still sealed: keep the same
master key), OAuth clients, consents, unexpired codes and the back-channel
logout outbox, live sessions and refresh tokens (nobody is signed out),
throttle counters, the webhook outbox, passkeys, email addresses, email
tokens (still hashed), known devices, the mail outbox (still sealed), and
the deployment identity, with where sessions now live. --from and --to take the values of the db setting (a SQLite path,
sqlite:PATH or postgres://...); --sessions-from and --sessions-to those of
the sessions setting (redis://..., redis+cluster://...), omitted when
sessions live in the database.

Stop every server first: migrate refuses when a server announced itself
in the source database within the last 30 s (every server does, every
10 s, and removes it when it stops), watches the source for --observe and
refuses if anything changes, and holds a SQLite source's write lock while
it copies. Running it again copies only what is missing or older in the
target; a run that failed is finished by running it again. It ends by
comparing a digest of every kind of record on both sides and exits 1 on
any difference. Progress goes to stderr; no secret is printed. See
docs/migrate.md.`

func runMigrate(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "migrate", "sesame migrate --from DB --to DB [--sessions-from URL] [--sessions-to URL] [--observe 2s]", migrateHelp)
	from := fs.String("from", "", "the source's db setting (SQLite path, sqlite:PATH or postgres://URL)")
	to := fs.String("to", "", "the target's db setting")
	sessFrom := fs.String("sessions-from", "", "the source's sessions setting (Redis URL); omit when sessions live in the source database")
	sessTo := fs.String("sessions-to", "", "the target's sessions setting (Redis URL); omit to keep sessions in the target database")
	observe := fs.Duration("observe", 2*time.Second, "how long to watch the source for writes before copying")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("migrate takes no arguments, got %q", fs.Arg(0))
	}
	if *from == "" || *to == "" {
		return usageError("migrate needs --from and --to")
	}
	if *observe <= 0 {
		return usageError("--observe must be positive")
	}
	if *from == *to && *sessFrom == *sessTo {
		return usageError("--from and --to name the same stores")
	}
	redact := redactor(*from, *to, *sessFrom, *sessTo)
	cfg := migrate.Config{Observe: *observe, Progress: env.Stderr, Sessions: app.SessionsIdentity(*sessTo)}
	var closers []func() error
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()
	src, release, err := openSide(ctx, *from, *sessFrom, false, &closers)
	if err != nil {
		return failure("source: %s", redact(err.Error()))
	}
	if release != nil {
		defer release()
	}
	// A server that writes nothing while migrate watches is still seen by
	// its announcement in the database (app/nodes.go).
	if nodes, err := app.LiveNodes(ctx, src.Durable, time.Now()); err != nil {
		return failure("source: %s", redact(err.Error()))
	} else if len(nodes) > 0 {
		return failure("migrate: %d server(s) of the deployment are running on the source (%s): stop every server first (one that was killed without stopping counts as running until %s after its last sign of life); nothing was copied",
			len(nodes), app.DescribeNodes(nodes, time.Now()), app.NodeLiveWindow)
	}
	dst, _, err := openSide(ctx, *to, *sessTo, true, &closers)
	if err != nil {
		return failure("target: %s", redact(err.Error()))
	}
	cfg.From, cfg.To = src, dst
	fmt.Fprintf(env.Stderr, "migrate: from %s to %s\n", describe(*from, *sessFrom), describe(*to, *sessTo))
	rep, err := migrate.Run(ctx, cfg)
	if err != nil {
		return failure("migrate: %s (nothing is reported done; run it again once the cause is fixed)", redact(err.Error()))
	}
	printReport(env.Stdout, rep, describe(*to, *sessTo))
	fmt.Fprintf(env.Stdout, "the signing keys are sealed by the deployment's master key: give the target's servers the same key (SESAME_MASTER_KEY, or master_key_file; the source's default key file is %s)\n",
		app.MasterKeyFile(&config.Config{DB: *from}))
	return nil
}

// describe names a deployment's stores without secrets.
func describe(db, sessions string) string {
	s := config.RedactURL(db)
	if sessions != "" {
		s += " + " + config.RedactURL(sessions)
	}
	return s
}

// redactor removes every password the four settings hold from a message.
func redactor(urls ...string) func(string) string {
	return func(s string) string {
		for _, u := range urls {
			if u != "" {
				s = (&config.Config{DB: u, Sessions: u}).Redact(s)
			}
		}
		return strings.ReplaceAll(s, "\n", " ")
	}
}

// openSide opens a deployment's stores. A source must exist; a SQLite
// source's write lock is taken (release frees it).
func openSide(ctx context.Context, db, sessions string, create bool, closers *[]func() error) (migrate.Deployment, func(), error) {
	var d migrate.Deployment
	var release func()
	if config.IsPostgres(db) {
		if !create {
			if err := postgresExists(ctx, db); err != nil {
				return d, nil, err
			}
		}
		pg, err := postgres.Open(ctx, db)
		if err != nil {
			return d, nil, err
		}
		*closers = append(*closers, pg.Close)
		d.Durable, d.State = pg, pg
	} else {
		path, err := config.SQLitePath(db)
		if err != nil {
			return d, nil, err
		}
		if _, err := os.Stat(path); !create && err != nil {
			return d, nil, fmt.Errorf("no Sesame database at %s", path)
		}
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			return d, nil, err
		}
		*closers = append(*closers, s.Close)
		if !create {
			if release, err = s.LockWrites(ctx); err != nil {
				return d, nil, err
			}
		}
		d.Durable, d.State = s, s
	}
	if sessions != "" {
		if !strings.HasPrefix(sessions, "redis") {
			return d, nil, errors.New("migrate copies session state from and to Redis only (redis://, rediss://, redis+cluster://)")
		}
		r, err := redis.Open(ctx, sessions, redis.Options{})
		if err != nil {
			if release != nil {
				release()
			}
			return d, nil, err
		}
		*closers = append(*closers, r.Close)
		d.State = r
	}
	return d, release, nil
}

// postgresExists refuses a source database without Sesame's tables:
// opening it would create them.
func postgresExists(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return errors.New("cannot parse the database URL")
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return errors.New("no Sesame database there (no schema_migrations table)")
	}
	return nil
}

func printReport(w io.Writer, rep *migrate.Report, target string) {
	copied := 0
	for _, k := range rep.Kinds {
		copied += k.Copied + k.Updated + k.Deleted
		fmt.Fprintf(w, "%-22s %7d in source  %7d copied  %7d updated  %7d unchanged  %5d deleted  digest %s\n",
			k.Kind, k.Source, k.Copied, k.Updated, k.Unchanged, k.Deleted, short(k.Digest))
	}
	if copied == 0 {
		fmt.Fprintf(w, "nothing new to copy: the target already holds the deployment (verified)\n")
	} else {
		fmt.Fprintf(w, "copied %d records; the target matches the source (verified)\n", copied)
	}
	fmt.Fprintf(w, "start the servers on %s with the same master key; the change feed continues past %d\n", target, rep.FeedPosition)
}

func short(s string) string {
	if len(s) > 16 {
		return s[:16]
	}
	return s
}
