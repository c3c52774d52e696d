package main

import (
	"context"
	"strings"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
)

// userGroupsCmd is `sesame user groups NAME add|remove|list [GROUP...]`.
func userGroupsCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "user groups", "sesame user groups [--config FILE] [--db DB] NAME add|remove|list [GROUP...]",
		"Lists a user's groups, or adds or removes groups (names are lower-cased: letters, digits and . _ -, at most 64 characters, at most 64 groups per user). The groups live in the deployment's database, so the change holds for every node: access rules and new access tokens see it within seconds (a node reuses a user record for up to 2 s); an access token already issued keeps the groups it was issued with until it expires.")
	d := addDeployFlags(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return usageError("user groups: want NAME add|remove|list [GROUP...] (flags go before NAME)")
	}
	name, verb, groups := fs.Arg(0), fs.Arg(1), fs.Args()[2:]
	switch verb {
	case "list":
		if len(groups) > 0 {
			return usageError("user groups list takes no GROUP, got %q", groups[0])
		}
	case "add", "remove":
		if len(groups) == 0 {
			return usageError("user groups %s: name at least one GROUP", verb)
		}
		if _, err := sesame.NormalizeGroups(groups); err != nil {
			return usageError("user groups %s: %s", verb, sesame.ErrorMessage(err))
		}
	default:
		return usageError("user groups: unknown action %q: want add, remove or list", verb)
	}
	a, err := d.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	accounts := a.Accounts()
	if verb == "list" {
		list, err := accounts.Groups(ctx, name)
		if err != nil {
			return failure("%s", safeMessage(err))
		}
		for _, g := range list {
			printf(env.Stdout, "%s\n", g)
		}
		return nil
	}
	var up *account.GroupUpdate
	if verb == "add" {
		up, err = accounts.AddGroups(ctx, name, groups...)
	} else {
		up, err = accounts.RemoveGroups(ctx, name, groups...)
	}
	if err != nil {
		return failure("%s", safeMessage(err))
	}
	printGroupUpdate(env, up)
	return nil
}

// printGroupUpdate says what changed and nothing else: a group the user
// was already in (or not in) is reported as no change.
func printGroupUpdate(env *Env, up *account.GroupUpdate) {
	u := up.User.Username
	if len(up.Added) > 0 {
		printf(env.Stdout, "added %s to %s\n", u, strings.Join(up.Added, ", "))
	}
	if len(up.Removed) > 0 {
		printf(env.Stdout, "removed %s from %s\n", u, strings.Join(up.Removed, ", "))
	}
	if !up.Changed() {
		printf(env.Stdout, "no change: %s's groups were already as asked\n", u)
	}
	now := "none"
	if len(up.User.Groups) > 0 {
		now = strings.Join(up.User.Groups, ", ")
	}
	printf(env.Stdout, "%s's groups: %s\n", u, now)
}
