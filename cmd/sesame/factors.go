package main

import (
	"context"
	"strconv"

	"github.com/sesame-auth/sesame/passkey"
)

// userFactorsCmd is `sesame user factors NAME list|reset|require|optional`:
// an operator's view of a user's second factors, and the way back in for
// an administrator who lost theirs (the API's reset needs another admin).
func userFactorsCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "user factors", "sesame user factors [--config FILE] [--db DB] [--sessions URL] NAME list|reset|require|optional",
		"Lists a user's second factors (authenticator apps, passkeys, recovery codes: never a secret), removes them all and ends every session of the user (reset), or requires a second factor of the user or lifts that (require, optional; the deployment's second_factor policy still applies). Audited like the admin API. It needs the deployment's configuration: where session state lives too.")
	d := addDeployFlags(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageError("user factors: want NAME list|reset|require|optional (flags go before NAME)")
	}
	name, verb := fs.Arg(0), fs.Arg(1)
	switch verb {
	case "list", "reset", "require", "optional":
	default:
		return usageError("user factors: unknown action %q: want list, reset, require or optional", verb)
	}
	a, err := d.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	accounts := a.Accounts()
	switch verb {
	case "reset":
		u, n, err := accounts.ResetFactors(ctx, name, "the command line")
		if err != nil {
			return failure("%s", safeMessage(err))
		}
		printf(env.Stdout, "reset %s: %d second factors removed, every session of theirs has ended\n", u.Username, n)
		return nil
	case "require", "optional":
		u, err := accounts.SetFactorRequired(ctx, name, verb == "require", "the command line")
		if err != nil {
			return failure("%s", safeMessage(err))
		}
		if verb == "require" {
			printf(env.Stdout, "%s must now have a second factor (enrolment at the next sign-in if they have none)\n", u.Username)
		} else {
			printf(env.Stdout, "%s no longer needs a second factor by their own switch (second_factor: %s still applies)\n", u.Username, accounts.FactorPolicy)
		}
		return nil
	}
	u, err := accounts.Lookup(ctx, name)
	if err != nil {
		return failure("%s", safeMessage(err))
	}
	f := a.Factors()
	if f == nil {
		return failure("this deployment keeps no second factors")
	}
	list, err := f.List(ctx, u.ID)
	if err != nil {
		return failure("list factors: %v", err)
	}
	for _, x := range list {
		last := "never used"
		if !x.LastUsedAt.IsZero() {
			last = "last used " + x.LastUsedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		printf(env.Stdout, "totp %s %s (added %s, %s)\n", x.ID, strconv.Quote(x.Name), x.CreatedAt.UTC().Format("2006-01-02 15:04:05Z"), last)
	}
	if ps, ok := a.Durable().(passkey.Store); ok {
		cs, err := ps.Passkeys(ctx, u.ID)
		if err != nil {
			return failure("list passkeys: %v", err)
		}
		for _, c := range cs {
			printf(env.Stdout, "passkey %s %s (added %s)\n", c.ID, strconv.Quote(c.Name), c.CreatedAt.UTC().Format("2006-01-02 15:04:05Z"))
		}
	}
	rs, err := f.Recovery(ctx, u.ID)
	if err != nil {
		return failure("recovery codes: %v", err)
	}
	printf(env.Stdout, "recovery codes: %d of %d unused\n", rs.Unused, rs.Total)
	required, err := accounts.FactorRequired(ctx, u)
	if err != nil {
		return failure("%s", safeMessage(err))
	}
	printf(env.Stdout, "second factor required: %t\n", required)
	return nil
}
