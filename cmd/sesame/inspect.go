package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/inspect"
)

func init() {
	register("inspect", "explain and lint a JWT, cookie line or JWKS, offline", runInspect)
}

// inspectNow is the clock of `sesame inspect`; tests replace it.
var inspectNow = time.Now

func runInspect(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "inspect", "sesame inspect [--jwks URL_OR_FILE] [--json] [--kind KIND] [INPUT|-]", `
Explain INPUT (or standard input when INPUT is "-" or absent) offline and
lint it against Sesame's security rules (SECURITY.md): a JWT (optionally
after "Bearer "), a Set-Cookie or Cookie line (with or without the header
name), or a JWK Set. It prints the decoded header and claims with their
times in UTC and relative to now, or the cookie's attributes, or the keys,
then each finding with its severity (error, warning, info) and SEC number.

A token's signature and a cookie's value are never printed, only their
length: they are credentials. A cookie value that is a JWT is decoded like
a token.

With --jwks, the token's signature is also verified against that key set
(a file, or an http(s) URL fetched once with a 10 s timeout and a 1 MiB
limit), as Sesame's verifier would, and the key that verified it is named.

Exit status: 0 when no finding is an error, 1 when one is, 2 when the
input cannot be read (or the key set cannot be loaded).`)
	jwks := fs.String("jwks", "", "verify the JWT's signature with this JWKS or JWK (file or http(s) URL)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	kind := fs.String("kind", "", "read the input as this kind: "+kindList()+" (default: detected)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *kind != "" && !validKind(*kind) {
		return usageError("inspect: --kind must be one of %s", kindList())
	}
	input, err := readArgOrStdin(env, fs.Args(), "INPUT")
	if err != nil {
		return err
	}
	opts := inspect.Options{Kind: inspect.Kind(*kind), Now: inspectNow}
	if *jwks != "" {
		keys, err := inspect.LoadKeySet(ctx, *jwks, nil)
		if err != nil {
			return &exitError{code: 2, msg: fmt.Sprintf("inspect: --jwks: %v", err)}
		}
		opts.Keys, opts.KeysSource = keys, *jwks
	}
	report, err := inspect.Inspect(input, opts)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, inspect.ErrUnreadable) {
			msg = "inspect: " + strings.TrimPrefix(msg, "inspect: unreadable input: ")
		}
		return &exitError{code: 2, msg: msg}
	}
	if *asJSON {
		out, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return failure("inspect: %v", err)
		}
		fmt.Fprintf(env.Stdout, "%s\n", out)
	} else if err := report.WriteText(env.Stdout); err != nil {
		return failure("inspect: %v", err)
	}
	if report.HasErrors() {
		return &exitError{code: 1}
	}
	return nil
}

func validKind(k string) bool {
	for _, known := range inspect.Kinds {
		if string(known) == k {
			return true
		}
	}
	return false
}

func kindList() string {
	names := make([]string, len(inspect.Kinds))
	for i, k := range inspect.Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}
