package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// Env is what a subcommand may touch: its standard streams. Subcommands
// never use os.Stdin/os.Stdout/os.Stderr directly so that tests can drive
// them in process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// command is one subcommand (or a group such as "user", which dispatches
// again on its first argument).
type command struct {
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

// commands is the table of top-level subcommands. Files add themselves from
// init functions through register so that each subcommand lives in its own
// file.
var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, env *Env, args []string) error) {
	if _, dup := commands[name]; dup {
		panic("sesame: duplicate command " + name)
	}
	commands[name] = command{summary: summary, run: run}
}

// exitError carries a process exit code. A subcommand returns
// usageError(...) for bad arguments (exit 2) and failure(...) for a failed
// operation whose message is already meaningful (exit 1).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageError(format string, a ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf(format, a...)}
}

func failure(format string, a ...any) error {
	return &exitError{code: 1, msg: fmt.Sprintf(format, a...)}
}

// Run runs the sesame command line and returns the process exit code:
// 0 on success, 1 when the operation failed, 2 for a usage error.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sesame: unknown command %q\n\n", args[0])
		printUsage(stderr)
		return 2
	}
	err := cmd.run(ctx, env, args[1:])
	return exitCode(stderr, err)
}

func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "sesame:", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "sesame:", err)
	return 1
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: sesame <command> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'sesame <command> --help' for the flags of a command.")
}

// newFlagSet returns a FlagSet for a subcommand whose usage text goes to the
// command's stderr and starts with the given synopsis and description.
func newFlagSet(env *Env, name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: %s\n\n%s\n", synopsis, strings.TrimSpace(description))
		var hasFlags bool
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(env.Stderr, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args, turning flag errors into usage errors (exit 2)
// and -h/--help into a clean exit 0.
//
// Session IDs are base64url and one in 64 begins with '-', so an argument
// that is not a defined flag and has the shape of an ID (22 base64url
// characters) is positional, the way an operator pastes it from
// `sessions list`; "--" also ends the flags, as usual.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var ids []string
	args = slices.Clone(args)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if looksLikeID(a) && fs.Lookup(strings.TrimLeft(a, "-")) == nil {
			ids = append(ids, a)
			args = slices.Delete(args, i, i+1)
			i--
		}
	}
	if len(ids) > 0 {
		// Put them after a "--" so that the FlagSet sees them as arguments.
		if j := slices.Index(args, "--"); j >= 0 {
			args = slices.Insert(args, j+1, ids...)
		} else {
			args = append(append(args, "--"), ids...)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return flag.ErrHelp
		}
		return &exitError{code: 2}
	}
	return nil
}

// looksLikeID reports whether a is a session ID that begins with '-': 22
// characters of the base64url alphabet.
func looksLikeID(a string) bool {
	if len(a) != 22 || a[0] != '-' {
		return false
	}
	for _, c := range a {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
