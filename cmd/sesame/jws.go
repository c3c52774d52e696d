package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sesame-auth/sesame/jose"
)

func init() { register("jws", "sign and verify compact JWS", runJWS) }

const jwsUsage = `Usage: sesame jws <sign|verify> [flags] [PAYLOAD|TOKEN|-]

  sign     sign a payload with a private JWK and print the compact JWS
  verify   verify the signature of a compact JWS and print its payload

Run 'sesame jws <subcommand> --help' for the flags.`

func runJWS(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, jwsUsage)
		return usageError("jws: missing subcommand")
	}
	switch args[0] {
	case "sign":
		return runJWSSign(env, args[1:])
	case "verify":
		return runJWSVerify(env, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(env.Stdout, jwsUsage)
		return nil
	}
	fmt.Fprintln(env.Stderr, jwsUsage)
	return usageError("jws: unknown subcommand %q", args[0])
}

func runJWSSign(env *Env, args []string) error {
	fs := newFlagSet(env, "jws sign", "sesame jws sign --jwk FILE [--kid KID] [--typ TYP] [PAYLOAD|-]", `
Sign PAYLOAD (or standard input when PAYLOAD is "-" or absent, byte for
byte) with the private key in FILE and print the compact JWS. FILE holds a
JWK or a JWKS; with a JWKS, --kid selects the key (default: its first
private key). The algorithm is the key's.`)
	jwkPath := fs.String("jwk", "", "file holding the private JWK or JWKS (required)")
	kid := fs.String("kid", "", "kid of the key to use in a JWKS")
	typ := fs.String("typ", "", `typ header, e.g. "JWT" (default: none)`)
	alg := fs.String("alg", "", "algorithm for an RSA or oct key whose JWK has no alg")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *jwkPath == "" {
		return usageError("jws sign: --jwk is required")
	}
	payload, err := readArgOrStdin(env, fs.Args(), "PAYLOAD")
	if err != nil {
		return err
	}
	keys, err := loadKeys(*jwkPath, jose.Algorithm(*alg))
	if err != nil {
		return failure("jws sign: %v", err)
	}
	key, err := signingKey(keys, *kid)
	if err != nil {
		return failure("jws sign: %v", err)
	}
	token, err := jose.Sign(key, payload, jose.SignOptions{Type: *typ})
	if err != nil {
		return failure("jws sign: %v", err)
	}
	fmt.Fprintln(env.Stdout, token)
	return nil
}

func runJWSVerify(env *Env, args []string) error {
	fs := newFlagSet(env, "jws verify", "sesame jws verify --jwk FILE [TOKEN|-]", `
Verify only the signature of a compact JWS (TOKEN, or standard input when
TOKEN is "-" or absent) with the key in FILE, a JWK or a JWKS (the token's
kid selects the key in a JWKS). The algorithm is the key's: a token whose
alg differs is rejected. On success the payload is printed as is and the
exit status is 0; on failure the reason goes to standard error and the exit
status is 1. Claims are not checked: see 'sesame jwt verify'.`)
	jwkPath := fs.String("jwk", "", "file holding the JWK or JWKS (required)")
	alg := fs.String("alg", "", "algorithm for an RSA or oct key whose JWK has no alg")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *jwkPath == "" {
		return usageError("jws verify: --jwk is required")
	}
	token, err := readToken(env, fs.Args())
	if err != nil {
		return err
	}
	keys, err := loadKeys(*jwkPath, jose.Algorithm(*alg))
	if err != nil {
		return failure("jws verify: %v", err)
	}
	payload, _, err := jose.Verify(token, keys)
	if err != nil {
		return failure("jws verify: %v", err)
	}
	_, err = env.Stdout.Write(payload)
	return err
}

// maxInput bounds what the jws and jwt commands read from standard input.
const maxInput = 1 << 20

// readArgOrStdin returns the single positional argument, or standard input
// when it is "-" or absent.
func readArgOrStdin(env *Env, args []string, what string) ([]byte, error) {
	switch {
	case len(args) > 1:
		return nil, usageError("expected at most one %s argument, got %d", what, len(args))
	case len(args) == 1 && args[0] != "-":
		return []byte(args[0]), nil
	}
	data, err := io.ReadAll(io.LimitReader(env.Stdin, maxInput+1))
	if err != nil {
		return nil, failure("read standard input: %v", err)
	}
	if len(data) > maxInput {
		return nil, failure("standard input exceeds %d bytes", maxInput)
	}
	return data, nil
}

// readToken reads a token argument or standard input, without surrounding
// whitespace (a trailing newline from echo or a file).
func readToken(env *Env, args []string) (string, error) {
	b, err := readArgOrStdin(env, args, "TOKEN")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// loadKeys reads a JWK or a JWKS file. alg applies to a single JWK without
// an alg member.
func loadKeys(path string, alg jose.Algorithm) (*jose.KeySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(data, []byte(`"keys"`)) {
		if ks, err := jose.ParseJWKS(data); err == nil {
			return ks, nil
		}
	}
	var key *jose.Key
	if alg != "" {
		key, err = jose.ParseJWKAs(data, alg)
	} else {
		key, err = jose.ParseJWK(data)
	}
	if err != nil {
		if ks, errSet := jose.ParseJWKS(data); errSet == nil {
			return ks, nil
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return jose.NewKeySet(key)
}

func signingKey(keys *jose.KeySet, kid string) (*jose.Key, error) {
	if kid != "" {
		k, ok := keys.Lookup(kid)
		if !ok {
			return nil, fmt.Errorf("no key with kid %q", kid)
		}
		return k, nil
	}
	if k := keys.SigningKey(); k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("the key file holds no private key")
}
