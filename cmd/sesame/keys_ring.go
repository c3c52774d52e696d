package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/sesame-auth/sesame/app"
)

func init() {
	registerKeys("list", "list the server's signing keys and their states", runKeysList)
	registerKeys("rotate", "add a signing key per algorithm; each signs after a delay, and the current key of its algorithm then retires", runKeysRotate)
}

// keysFlags are the flags every keys command shares.
type keysFlags struct{ d *deployFlags }

// addKeysFlags registers --config, the store flags and --create on fs.
func addKeysFlags(fs *flag.FlagSet) keysFlags { return keysFlags{d: addDeployFlags(fs, true)} }

// parseKeysFlags parses args and refuses arguments.
func parseKeysFlags(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// open opens the deployment, logging to stderr at info level (key
// generation and rotation are worth seeing). The ring never deletes keys:
// the command line does not know the token lifetime the server signs with.
func (f keysFlags) open(ctx context.Context, env *Env, opts ...app.Option) (*app.App, error) {
	logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return f.d.open(ctx, env, append(opts, app.WithLogger(logger))...)
}

const keysTimeLayout = "2006-01-02 15:04:05Z"

func keysTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(keysTimeLayout)
}

func runKeysList(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "keys list", "sesame keys list [--db PATH] [--master-key-file FILE]", `
Lists the server's signing keys, oldest first, with their states (each
algorithm of signing_algs has its own keys):
  pending  published in the JWKS, not signing yet (until ACTIVATES)
  active   the signing key of its algorithm
  retired  no longer signing (since RETIRES), still published so that the
           tokens it signed verify until they expire
  expired  every token it signed has expired (by the default 15 min token
           lifetime); the server removes it from the JWKS and the database

Like the server, it needs the master key (SESAME_MASTER_KEY or the key
file), and on a new database it generates the first key of each
algorithm.`)
	flags := addKeysFlags(fs)
	if err := parseKeysFlags(fs, args); err != nil {
		return err
	}
	a, err := flags.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	ring := a.Keyring()
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tACTIVATES\tRETIRES")
	for _, k := range ring.Keys() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, k.Alg, k.State,
			keysTime(k.CreatedAt), keysTime(k.ActivateAt), keysTime(k.RetireAt))
	}
	return tw.Flush()
}

func runKeysRotate(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "keys rotate", "sesame keys rotate [--delay D] [--force] [--config FILE] [--db DB] [--master-key-file FILE]", `
Adds a signing key for each algorithm of signing_algs (default ES256 and
RS256). Each is published in the JWKS at once and starts signing after
--delay, so that verifiers caching the JWKS learn it first; at that moment
the current key of its algorithm retires (and the keys of an algorithm no
longer in signing_algs retire too). A retired key stays published until every
token it signed has expired, then the server removes it. Running nodes
reload their keys at once when the deployment has a notifier (PostgreSQL,
Redis) and within 5 seconds otherwise. --delay 0s (sign at once) is
refused unless --force: verifiers holding a cached JWKS would reject the
new key's tokens until they fetch it again.`)
	delay := fs.Duration("delay", time.Hour, "how long the new key is published before it signs")
	force := fs.Bool("force", false, "allow --delay 0s")
	flags := addKeysFlags(fs)
	if err := parseKeysFlags(fs, args); err != nil {
		return err
	}
	if *delay < 0 {
		return usageError("keys rotate: --delay must not be negative, got %s", *delay)
	}
	if *delay == 0 && !*force {
		return usageError("keys rotate: --delay 0s signs with the new key at once, before verifiers that cache the JWKS know it: they would reject its tokens. Keep a delay, or pass --force")
	}
	activation := *delay
	if activation == 0 {
		activation = -1 // keyring: negative means at once
	}
	a, err := flags.open(ctx, env, app.WithKeyActivationDelay(activation))
	if err != nil {
		return err
	}
	defer a.Close()
	infos, err := a.Keyring().RotateAll(ctx)
	if err != nil {
		return failure("keys rotate: %v", err)
	}
	for _, info := range infos { // the default algorithm's first
		fmt.Fprintf(env.Stdout, "new signing key %s (%s): published now, signs from %s (in %s)\n",
			info.KID, info.Alg, keysTime(info.ActivateAt), *delay)
	}
	if sent, err := a.KeysChanged(ctx); err != nil {
		fmt.Fprintf(env.Stderr, "warning: could not notify the running nodes (%v); they load the new key within 5 seconds\n", err)
	} else if !sent {
		fmt.Fprintln(env.Stderr, "running nodes load the new key within 5 seconds")
	}
	if *delay == 0 {
		fmt.Fprintln(env.Stderr, "warning: the new key signs at once; verifiers holding a cached JWKS reject its tokens until they fetch it again")
	}
	return nil
}
