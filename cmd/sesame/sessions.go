package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/sesame-auth/sesame"
)

func init() { register("sessions", "list and revoke sessions", runSessions) }

func runSessions(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, "sessions", map[string]subcommand{
		"list":   {"list live sessions: sesame sessions list [--user NAME]", sessionsList},
		"revoke": {"end sessions: sesame sessions revoke ID | --user NAME", sessionsRevoke},
	}, args)
}

func sessionsList(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "sessions list", "sesame sessions list [--user NAME] [--config FILE] [--db DB] [--sessions URL]",
		"Lists live sessions: of one user with --user, else of every user. It needs the deployment's configuration: where session state lives too.")
	user := fs.String("user", "", "only this user's sessions")
	d := addDeployFlags(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("sessions list takes no arguments, got %q", fs.Arg(0))
	}
	a, err := d.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	var users []*sesame.User
	if *user != "" {
		u, err := a.Accounts().Lookup(ctx, *user)
		if err != nil {
			return failure("%s", safeMessage(err))
		}
		users = []*sesame.User{u}
	} else if users, err = a.Accounts().Users.ListUsers(ctx); err != nil {
		return failure("list users: %v", err)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tIP\tCREATED\tLAST SEEN\tEXPIRES\tUSER AGENT")
	const layout = "2006-01-02 15:04:05Z"
	for _, u := range users {
		list, err := a.Sessions().List(ctx, u.ID)
		if err != nil {
			return failure("list sessions: %v", err)
		}
		for _, s := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, u.Username, s.Device.IP,
				s.CreatedAt.UTC().Format(layout), s.LastSeen.UTC().Format(layout), s.ExpiresAt.UTC().Format(layout),
				truncateRunes(s.Device.UserAgent, 60))
		}
	}
	return tw.Flush()
}

func sessionsRevoke(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "sessions revoke", "sesame sessions revoke [--config FILE] [--db DB] [--sessions URL] ID | --user NAME",
		"Ends one session by its ID, or every session of a user with --user, and prints how many it ended. Running servers stop accepting them at once (with a notifier) or within their sync interval (200 ms). It needs the deployment's configuration: where session state lives too.")
	user := fs.String("user", "", "end every session of this user")
	d := addDeployFlags(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*user == "") == (fs.NArg() == 0) || fs.NArg() > 1 {
		return usageError("sessions revoke: give exactly one session ID or --user NAME")
	}
	a, err := d.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	if *user != "" {
		u, err := a.Accounts().Lookup(ctx, *user)
		if err != nil {
			return failure("%s", safeMessage(err))
		}
		ids, err := a.Sessions().RevokeUser(ctx, u.ID, "", "revoked from the command line")
		if err != nil {
			return failure("%s", safeMessage(err))
		}
		printf(env.Stdout, "revoked %d session(s) of %s\n", len(ids), u.Username)
		return nil
	}
	ok, err := a.Sessions().Revoke(ctx, fs.Arg(0), "revoked from the command line")
	if err != nil {
		return failure("%s", safeMessage(err))
	}
	if !ok {
		return failure("no such session")
	}
	printf(env.Stdout, "revoked 1 session\n")
	return nil
}

// safeMessage is the client-safe text of err plus, for store failures, the
// cause: the command line is the operator, not a remote client.
func safeMessage(err error) string {
	if c := sesame.ErrorCode(err); c == sesame.EUnavailable || c == sesame.EInternal {
		return err.Error()
	}
	return sesame.ErrorMessage(err)
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
