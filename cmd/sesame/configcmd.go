package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
)

func init() {
	register("config", "check a configuration, write a starter file, or change the deployment's identity", runConfig)
}

func runConfig(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, "config", map[string]subcommand{
		"check":        {"validate a configuration and print it with the source of each value: sesame config check [--config FILE] [--connect]", configCheck},
		"init":         {"write a commented starter file: sesame config init [--preset P] [--output FILE]", configInit},
		"set-identity": {"record this configuration's issuer, session store and master key as the deployment's: sesame config set-identity --yes", configSetIdentity},
	}, args)
}

func configCheck(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "config check", "sesame config check [--config FILE] [--connect] [serve flags]", `
Validates the configuration that "sesame serve" would run with (defaults,
preset, file, SESAME_* variables and the flags given here) without changing
anything: keys and types, durations, URLs, that the files it names exist.
It prints every key with its effective value and where it comes from
(default, preset, file:line, env, flag); secrets (passwords in URLs, the
master key) are redacted. With --connect it also opens the stores and the
master key and compares the configuration with the deployment's recorded
identity (issuer, session store, master key). Every problem is listed;
the exit status is 1 when there is any.`)
	connect := fs.Bool("connect", false, "also reach the stores and compare with the deployment's recorded identity")
	flags := config.AddFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("config check takes no arguments, got %q", fs.Arg(0))
	}
	cfg, err := config.Load(config.Sources{Flags: flags, Role: config.RoleServe})
	if err != nil {
		var ps *config.Problems
		if errors.As(err, &ps) {
			return failure("%s", err.Error())
		}
		return failure("%v", err)
	}
	printSettings(env.Stdout, cfg)
	printRuleWarnings(env, cfg)
	if *connect {
		if err := checkConnect(ctx, env, cfg); err != nil {
			return err
		}
	}
	fmt.Fprintln(env.Stdout, "configuration ok")
	return nil
}

// printSettings writes the effective configuration, secrets redacted.
func printSettings(w io.Writer, cfg *config.Config) {
	if cfg.File != "" {
		fmt.Fprintf(w, "configuration file: %s\n", cfg.File)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
	for _, s := range cfg.Settings() {
		v := s.Value
		if v == "" {
			v = `""`
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, v, s.Source)
	}
	tw.Flush()
}

// checkConnect opens the stores and compares with the recorded identity.
func checkConnect(ctx context.Context, env *Env, cfg *config.Config) error {
	a, err := app.New(ctx, cfg, app.ForCommand(), app.SkipIdentityCheck(), app.WithLogger(quietLogger(env)))
	var nodb *app.NoDatabaseError
	if errors.As(err, &nodb) {
		fmt.Fprintf(env.Stdout, "stores: %s does not exist yet (the first sesame serve creates it)\n", nodb.DB)
		return nil
	}
	if err != nil {
		return deployError(cfg, err)
	}
	defer a.Close()
	fmt.Fprintf(env.Stdout, "stores: reached %s", cfg.Redact(cfg.DB))
	if cfg.Sessions != "" {
		fmt.Fprintf(env.Stdout, " and %s", cfg.Redact(cfg.Sessions))
	}
	fmt.Fprintln(env.Stdout, "; the master key opens the signing keys")
	rec, ok, err := a.LoadIdentity(ctx)
	if err != nil {
		return failure("%s", cfg.Redact(err.Error()))
	}
	if !ok {
		fmt.Fprintln(env.Stdout, "identity: none recorded yet (the first sesame serve records it)")
		return nil
	}
	printIdentity(env.Stdout, "recorded identity", rec)
	if err := a.CompareIdentity(rec); err != nil {
		return failure("%s", cfg.Redact(err.Error()))
	}
	return nil
}

func printIdentity(w io.Writer, title string, id app.Identity) {
	issuer := id.Issuer
	if issuer == "" {
		issuer = "(none: each node names its own URL, loopback development)"
	}
	fmt.Fprintf(w, "%s:\n  issuer      %s\n  sessions    %s\n  master key  fingerprint %s\n", title, issuer, id.Sessions, id.MasterKey)
}

func configInit(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "config init", "sesame config init [--preset P] [--output FILE]", `
Writes a commented starter configuration file: every key with its default
(the preset's, with --preset web, spa, api or strict) and what it does, all
commented out but the preset. It goes to standard output, or to --output
FILE, which must not exist yet.`)
	preset := fs.String("preset", "", "web, spa, api or strict")
	output := fs.String("output", "", "write to this file (created with mode 0600; never overwritten)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("config init takes no arguments, got %q", fs.Arg(0))
	}
	text, err := config.Starter(*preset)
	if err != nil {
		return usageError("--preset: %v", strings.TrimPrefix(err.Error(), "config: "))
	}
	if *output == "" {
		_, err := env.Stdout.Write(text)
		return err
	}
	f, err := os.OpenFile(*output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return failure("config init: %v", err)
	}
	if _, err := f.Write(text); err != nil {
		f.Close()
		return failure("config init: %v", err)
	}
	if err := f.Close(); err != nil {
		return failure("config init: %v", err)
	}
	fmt.Fprintf(env.Stdout, "wrote %s\n", *output)
	return nil
}

func configSetIdentity(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "config set-identity", "sesame config set-identity [--config FILE] [--public-url URL] [--sessions URL] [--db DB] --yes", `
Records this configuration's issuer (public_url, or issuer), session store
and master-key fingerprint as the deployment's identity, replacing what the
first "sesame serve" recorded. Nodes and commands whose configuration
contradicts the recorded identity refuse to start; run this to change it
deliberately, then restart every node with the new configuration.

Changing the issuer makes every access token issued under the old one fail
(clients refresh or sign in again). Moving session state to another store
ends every session. The master key cannot change this way: the signing
keys only open with the key that sealed them.

Without --yes it only prints the recorded and the new identity.`)
	yes := fs.Bool("yes", false, "write the new identity")
	flags := config.AddFlags(fs, append([]string{"public_url", "issuer"}, storeKeys...)...)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("config set-identity takes no arguments, got %q", fs.Arg(0))
	}
	cfg, err := config.Load(config.Sources{Flags: flags, Role: config.RoleCommand})
	if err != nil {
		return deployError(nil, err)
	}
	a, err := app.New(ctx, cfg, app.ForCommand(), app.SkipIdentityCheck(), app.WithLogger(quietLogger(env)))
	if err != nil {
		return deployError(cfg, err)
	}
	defer a.Close()
	rec, ok, err := a.LoadIdentity(ctx)
	if err != nil {
		return failure("%s", cfg.Redact(err.Error()))
	}
	if ok {
		printIdentity(env.Stdout, "recorded identity", rec)
	} else {
		fmt.Fprintln(env.Stdout, "recorded identity: none")
	}
	printIdentity(env.Stdout, "new identity", a.Identity())
	if !*yes {
		return usageError("nothing written: pass --yes to record the new identity")
	}
	if err := a.RecordIdentity(ctx); err != nil {
		return failure("%s", cfg.Redact(err.Error()))
	}
	fmt.Fprintln(env.Stdout, "recorded; restart every node with this configuration")
	return nil
}
