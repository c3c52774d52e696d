package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/session"
)

func init() {
	registerKeys("list", "list the server's signing keys and their states", runKeysList)
	registerKeys("rotate", "add a signing key; it signs after a delay, and the current key then retires", runKeysRotate)
}

// masterKeyEnv holds the master key itself (base64 of 32 bytes). It is
// read from the environment only, never from a flag, so that the key
// does not show in the process list.
const masterKeyEnv = "SESAME_MASTER_KEY"

// masterKeyFileFlag registers --master-key-file on fs.
func masterKeyFileFlag(fs *flag.FlagSet) *string {
	return fs.String("master-key-file", "", "file holding the master key that encrypts the signing keys, used when "+masterKeyEnv+
		" is not set; created (mode 0600) on first start (default: next to the database, sesame.key for sesame.db) (env SESAME_MASTER_KEY_FILE)")
}

// defaultMasterKeyFile is the key file next to the database: its path
// with the extension replaced by .key.
func defaultMasterKeyFile(dbPath string) string {
	file := strings.TrimSuffix(dbPath, filepath.Ext(dbPath)) + ".key"
	if file == dbPath {
		file += ".key"
	}
	return file
}

// openKeyring opens the signing keys of st's database, as `serve` and the
// keys commands do: the master key comes from SESAME_MASTER_KEY, else from
// keyFile (the --master-key-file value; "" means next to the database db,
// the --db value), which is created on first start. A master key that does
// not open the stored keys is an error, never a reason to make new ones.
// cfg.Logger defaults to st.logger.
func openKeyring(ctx context.Context, st *stack, db, keyFile string, cfg keyring.Config) (*keyring.Ring, error) {
	ring, _, err := openKeyringAndMaster(ctx, st, db, keyFile, cfg)
	return ring, err
}

// openKeyringAndMaster is openKeyring that also returns the master key, from
// which serve derives its other secrets.
func openKeyringAndMaster(ctx context.Context, st *stack, db, keyFile string, cfg keyring.Config) (*keyring.Ring, *keyring.MasterKey, error) {
	if keyFile == "" {
		if isPostgres(db) {
			// No file beside a server database: the working directory. Nodes
			// sharing a database must share the master key: set
			// SESAME_MASTER_KEY on all of them.
			keyFile = "sesame.key"
		} else {
			path, err := sqlitePath(db)
			if err != nil {
				return nil, nil, err
			}
			keyFile = defaultMasterKeyFile(path)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = st.logger
	}
	master, err := keyring.LoadOrCreateMasterKey(ctx, os.Getenv(masterKeyEnv), keyFile, st.durable, cfg.Logger)
	if err != nil {
		return nil, nil, failure("%v", err)
	}
	ring, err := keyring.Open(ctx, st.durable, master, cfg)
	if errors.Is(err, keyring.ErrUnseal) {
		source := keyFile
		if os.Getenv(masterKeyEnv) != "" {
			source = masterKeyEnv
		}
		return nil, nil, failure("%v. Is the master key from %s the one that sealed the database's signing keys? Use that key, or restore its file", err, source)
	}
	if err != nil {
		return nil, nil, failure("%v", err)
	}
	return ring, master, nil
}

// keysFlags are the flags every keys command shares.
type keysFlags struct {
	db, keyFile *string
}

// addKeysFlags registers --db and --master-key-file on fs.
func addKeysFlags(fs *flag.FlagSet) keysFlags {
	return keysFlags{db: dbFlag(fs), keyFile: masterKeyFileFlag(fs)}
}

// parseKeysFlags parses args after the environment, and refuses
// arguments.
func parseKeysFlags(fs *flag.FlagSet, args []string) error {
	if err := applyEnv(fs); err != nil {
		return err
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// open opens the store and the keyring, logging to stderr. The ring never
// deletes keys: the command line does not know the token lifetime the
// server signs with.
func (f keysFlags) open(ctx context.Context, env *Env, cfg keyring.Config) (*stack, *keyring.Ring, error) {
	logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st, err := openStack(ctx, storeFlags{db: f.db}, session.Config{}, logger)
	if err != nil {
		return nil, nil, err
	}
	cfg.KeepRetired = true
	ring, err := openKeyring(ctx, st, *f.db, *f.keyFile, cfg)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, ring, nil
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
Lists the server's signing keys, oldest first, with their states:
  pending  published in the JWKS, not signing yet (until ACTIVATES)
  active   the signing key
  retired  no longer signing (since RETIRES), still published so that the
           tokens it signed verify until they expire
  expired  every token it signed has expired (by the default 15 min token
           lifetime); the server removes it from the JWKS and the database

Like the server, it needs the master key (SESAME_MASTER_KEY or the key
file), and on a new database it generates the first key.`)
	flags := addKeysFlags(fs)
	if err := parseKeysFlags(fs, args); err != nil {
		return err
	}
	st, ring, err := flags.open(ctx, env, keyring.Config{})
	if err != nil {
		return err
	}
	defer st.Close()
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tACTIVATES\tRETIRES")
	for _, k := range ring.Keys() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, k.Alg, k.State,
			keysTime(k.CreatedAt), keysTime(k.ActivateAt), keysTime(k.RetireAt))
	}
	return tw.Flush()
}

func runKeysRotate(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "keys rotate", "sesame keys rotate [--delay D] [--db PATH] [--master-key-file FILE]", `
Adds a signing key. It is published in the JWKS at once and starts signing
after --delay, so that verifiers caching the JWKS learn it first; at that
moment the current key retires. A retired key stays published until every
token it signed has expired, then the server removes it. Running servers
pick the new key up within their refresh interval (30 s by default), so
keep --delay well above it.`)
	delay := fs.Duration("delay", time.Hour, "how long the new key is published before it signs (0: at once)")
	flags := addKeysFlags(fs)
	if err := parseKeysFlags(fs, args); err != nil {
		return err
	}
	if *delay < 0 {
		return usageError("keys rotate: --delay must not be negative, got %s", *delay)
	}
	cfg := keyring.Config{ActivationDelay: *delay}
	if *delay == 0 {
		cfg.ActivationDelay = -1 // keyring: negative means at once
	}
	st, ring, err := flags.open(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	info, err := ring.Rotate(ctx)
	if err != nil {
		return failure("keys rotate: %v", err)
	}
	fmt.Fprintf(env.Stdout, "new signing key %s (%s): published now, signs from %s (in %s)\n",
		info.KID, info.Alg, keysTime(info.ActivateAt), *delay)
	if *delay == 0 {
		fmt.Fprintln(env.Stderr, "warning: the new key signs at once; verifiers holding a cached JWKS reject its tokens until they fetch it again")
	}
	return nil
}
