package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame/jose"
)

func init() { register("jwt", "verify a JWT: signature and claims", runJWT) }

const jwtUsage = `Usage: sesame jwt verify --jwks FILE [--iss I] [--aud A] [--typ T] [TOKEN|-]

  verify   verify the signature and the claims of a JWT and print its claims

Run 'sesame jwt verify --help' for the flags.`

func runJWT(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, jwtUsage)
		return usageError("jwt: missing subcommand")
	}
	switch args[0] {
	case "verify":
		return runJWTVerify(env, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(env.Stdout, jwtUsage)
		return nil
	}
	fmt.Fprintln(env.Stderr, jwtUsage)
	return usageError("jwt: unknown subcommand %q", args[0])
}

func runJWTVerify(env *Env, args []string) error {
	fs := newFlagSet(env, "jwt verify", "sesame jwt verify --jwks FILE [--iss I] [--aud A] [--typ T] [TOKEN|-]", `
Verify a JWT (TOKEN, or standard input when TOKEN is "-" or absent): the
signature with the key of FILE (a JWKS or a single JWK) that the token's
kid selects, then the claims: exp is required and must be in the future,
nbf and iat must not be, and --iss, --aud and --typ are checked when given
(typ case-insensitively, "application/" optional). On success the claims
are printed as JSON and the exit status is 0; on failure the reason goes to
standard error and the exit status is 1.`)
	jwksPath := fs.String("jwks", "", "file holding the JWKS or JWK (required)")
	iss := fs.String("iss", "", "expected issuer, compared exactly")
	var aud stringList
	fs.Var(&aud, "aud", "allowed audience (repeat the flag to allow several)")
	typ := fs.String("typ", "", `expected typ header, e.g. "at+jwt"`)
	leeway := fs.Duration("leeway", 0, "clock skew allowed on exp, nbf and iat")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *jwksPath == "" {
		return usageError("jwt verify: --jwks is required")
	}
	token, err := readToken(env, fs.Args())
	if err != nil {
		return err
	}
	keys, err := loadKeys(*jwksPath, "")
	if err != nil {
		return failure("jwt verify: %v", err)
	}
	v := jose.Verifier{Keys: keys, Issuer: *iss, Audience: aud, Type: *typ, Leeway: *leeway, Now: time.Now}
	var claims map[string]any
	if err := v.Verify(token, &claims); err != nil {
		return failure("jwt verify: %v", err)
	}
	out, err := json.MarshalIndent(claims, "", "  ")
	if err != nil {
		return failure("jwt verify: %v", err)
	}
	fmt.Fprintf(env.Stdout, "%s\n", out)
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return fmt.Sprint([]string(*l)) }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }
