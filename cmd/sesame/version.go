package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

func init() { register("version", "print the version, VCS revision and Go version", runVersion) }

func runVersion(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "version", "sesame version", "Prints the module version, the VCS revision it was built from (with +dirty for uncommitted changes) and the Go version, from the build information.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("version takes no arguments, got %q", fs.Arg(0))
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return failure("no build information in this binary")
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	revision, when, dirty := "unknown", "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		revision += "+dirty"
	}
	fmt.Fprintf(env.Stdout, "sesame %s\nrevision %s", version, revision)
	if when != "" {
		fmt.Fprintf(env.Stdout, " (%s)", when)
	}
	fmt.Fprintf(env.Stdout, "\n%s\n", info.GoVersion)
	return nil
}
