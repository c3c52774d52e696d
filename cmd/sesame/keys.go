package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/sesame-auth/sesame/jose"
)

func init() {
	register("keys", "generate and manage signing keys", runKeys)
	registerKeys("generate", "generate a private JWK and print it", runKeysGenerate)
}

// keysCommands are the subcommands of "sesame keys". Files add theirs from
// init functions through registerKeys, as run.go does for top-level ones.
var keysCommands = map[string]command{}

func registerKeys(name, summary string, run func(ctx context.Context, env *Env, args []string) error) {
	if _, dup := keysCommands[name]; dup {
		panic("sesame: duplicate keys command " + name)
	}
	keysCommands[name] = command{summary: summary, run: run}
}

func runKeys(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		printKeysUsage(env.Stderr)
		return usageError("keys: missing subcommand")
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printKeysUsage(env.Stdout)
		return nil
	}
	cmd, ok := keysCommands[args[0]]
	if !ok {
		printKeysUsage(env.Stderr)
		return usageError("keys: unknown subcommand %q", args[0])
	}
	return cmd.run(ctx, env, args[1:])
}

func printKeysUsage(w interface{ Write([]byte) (int, error) }) {
	fmt.Fprintln(w, "Usage: sesame keys <subcommand> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Subcommands:")
	names := make([]string, 0, len(keysCommands))
	for name := range keysCommands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %s\n", name, keysCommands[name].summary)
	}
}

func runKeysGenerate(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "keys generate", "sesame keys generate [--alg ALG] [--kid KID]", `
Generate a key from crypto/rand and print it as a private JWK (one line of
JSON). The output is a secret: store it encrypted, and publish only its
public part. ALG is one of HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384
PS512 ES256 ES384 ES512 EdDSA. The kid defaults to the RFC 7638 thumbprint.`)
	alg := fs.String("alg", string(jose.ES256), "algorithm of the key")
	kid := fs.String("kid", "", "key ID (default: the RFC 7638 thumbprint)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError("keys generate: unexpected argument %q", fs.Arg(0))
	}
	if !jose.Algorithm(*alg).Valid() {
		return usageError("keys generate: unknown --alg %q", *alg)
	}
	key, err := jose.GenerateKey(jose.Algorithm(*alg), *kid)
	if err != nil {
		return failure("keys generate: %v", err)
	}
	jwk, err := key.MarshalPrivateJWK()
	if err != nil {
		return failure("keys generate: %v", err)
	}
	fmt.Fprintf(env.Stdout, "%s\n", jwk)
	return nil
}
