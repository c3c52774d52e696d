package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/sesame-auth/sesame/app"
)

func init() { register("user", "add, list, block, unblock users and set passwords", runUser) }

type subcommand struct {
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

// dispatch runs the subcommand named by args[0] from table.
func dispatch(ctx context.Context, env *Env, group string, table map[string]subcommand, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(env.Stderr, "Usage: sesame %s <command> [flags]\n\nCommands:\n", group)
		for _, name := range sortedKeys(table) {
			fmt.Fprintf(env.Stderr, "  %-8s %s\n", name, table[name].summary)
		}
		if len(args) == 0 {
			return &exitError{code: 2}
		}
		return nil
	}
	sub, ok := table[args[0]]
	if !ok {
		return usageError("unknown command %q for sesame %s (see sesame %s --help)", args[0], group, group)
	}
	return sub.run(ctx, env, args[1:])
}

func sortedKeys(m map[string]subcommand) []string {
	return slices.Sorted(maps.Keys(m))
}

func runUser(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, "user", map[string]subcommand{
		"add":     {"create a user: sesame user add [--admin] [--password-stdin] NAME", userAdd},
		"list":    {"list users", userList},
		"block":   {"block a user and end all of their sessions: sesame user block NAME", userBlock(true)},
		"unblock": {"unblock a user: sesame user unblock NAME", userBlock(false)},
		"passwd":  {"set a user's password and end their sessions: sesame user passwd [--password-stdin] NAME", userPasswd},
		"groups":  {"list or change a user's groups: sesame user groups NAME add|remove|list [GROUP...]", userGroupsCmd},
		"factors": {"list a user's second factors, reset them, or require one: sesame user factors NAME list|reset|require|optional", userFactorsCmd},
	}, args)
}

// oneName parses flags and requires exactly one NAME argument.
func oneName(fs interface {
	NArg() int
	Arg(int) string
}, what string) (string, error) {
	if fs.NArg() != 1 {
		return "", usageError("%s: want exactly one NAME argument, got %d (flags go before NAME)", what, fs.NArg())
	}
	return fs.Arg(0), nil
}

func userAdd(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "user add", "sesame user add [--admin] [--password-stdin] [--config FILE] [--db DB] NAME",
		"Creates a user. The password is read from a prompt (twice, without echo), or from the first line of standard input with --password-stdin. Sesame has no default accounts: create the first administrator with --admin (after `sesame serve` has created the database, or with --create).")
	admin := fs.Bool("admin", false, "make the user an administrator")
	stdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	name, pw, a, err := nameCommand(ctx, env, fs, addDeployFlags(fs, true), args, stdin)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Accounts().Signup(ctx, name, pw, *admin)
	if err != nil {
		return failure("%s", safeMessage(err))
	}
	role := "user"
	if u.Admin {
		role = "administrator"
	}
	printf(env.Stdout, "created %s %s\n", role, u.Username)
	return nil
}

func userList(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "user list", "sesame user list [--config FILE] [--db DB]", "Lists users.")
	d := addDeployFlags(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("user list takes no arguments, got %q", fs.Arg(0))
	}
	a, err := d.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	users, err := a.Accounts().Users.ListUsers(ctx)
	if err != nil {
		return failure("list users: %v", err)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tROLE\tSTATUS\tCREATED\tGROUPS")
	for _, u := range users {
		role, status := "user", "active"
		if u.Admin {
			role = "admin"
		}
		if u.Blocked {
			status = "blocked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, role, status, u.CreatedAt.UTC().Format("2006-01-02 15:04:05Z"),
			strings.Join(u.Groups, ","))
	}
	return tw.Flush()
}

func userBlock(block bool) func(ctx context.Context, env *Env, args []string) error {
	verb := "unblock"
	if block {
		verb = "block"
	}
	return func(ctx context.Context, env *Env, args []string) error {
		fs := newFlagSet(env, "user "+verb, "sesame user "+verb+" [--config FILE] [--db DB] [--sessions URL] NAME",
			"Blocks a user (they cannot log in, and every session and refresh token they have ends at once, on every node) or unblocks them (which revives nothing). It needs the deployment's configuration: where session state lives too.")
		name, _, a, err := nameCommand(ctx, env, fs, addDeployFlags(fs, false), args, nil)
		if err != nil {
			return err
		}
		defer a.Close()
		u, err := a.Accounts().SetBlocked(ctx, name, block)
		if err != nil {
			return failure("%s", safeMessage(err))
		}
		if block {
			printf(env.Stdout, "blocked %s: every session and refresh token of theirs has ended\n", u.Username)
		} else {
			printf(env.Stdout, "unblocked %s (their ended sessions stay ended)\n", u.Username)
		}
		return nil
	}
}

func userPasswd(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "user passwd", "sesame user passwd [--password-stdin] [--config FILE] [--db DB] [--sessions URL] NAME",
		"Sets a user's password and ends all of their sessions.")
	stdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	name, pw, a, err := nameCommand(ctx, env, fs, addDeployFlags(fs, false), args, stdin)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Accounts().SetPassword(ctx, name, pw, ""); err != nil {
		return failure("%s", safeMessage(err))
	}
	printf(env.Stdout, "password set for %s; their sessions were ended\n", name)
	return nil
}

// readPassword reads a password from the first line of stdin, or prompts
// twice without echo when stdin is a terminal.
func readPassword(env *Env, fromStdin bool) (string, error) {
	if f, ok := env.Stdin.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.Stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", failure("read password: %v", err)
		}
		fmt.Fprint(env.Stderr, "Repeat password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", failure("read password: %v", err)
		}
		if string(a) != string(b) {
			return "", failure("the passwords do not match")
		}
		return string(a), nil
	}
	if !fromStdin {
		return "", usageError("standard input is not a terminal: pass --password-stdin to read the password from it")
	}
	line, err := bufio.NewReaderSize(env.Stdin, 4096).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", failure("read password: %v", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// nameCommand parses the flags of a "sesame user VERB NAME" command, reads
// the password when passwordStdin is not nil, and opens the deployment.
// The caller closes it.
func nameCommand(ctx context.Context, env *Env, fs *flag.FlagSet, d *deployFlags, args []string, passwordStdin *bool) (name, pw string, a *app.App, err error) {
	if err = parseFlags(fs, args); err != nil {
		return
	}
	if name, err = oneName(fs, fs.Name()); err != nil {
		return
	}
	if _, err = d.load(); err != nil { // configuration problems before the prompt
		return
	}
	if passwordStdin != nil {
		if pw, err = readPassword(env, *passwordStdin); err != nil {
			return
		}
	}
	a, err = d.open(ctx, env)
	return
}
