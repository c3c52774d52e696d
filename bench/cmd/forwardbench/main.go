// Command forwardbench measures Sesame's forward-auth endpoint behind real
// nginx on this machine (issue 11), all in one run:
//
//	go run ./cmd/forwardbench                       # in bench/; needs nginx (apt-get install nginx-light)
//	go run ./cmd/forwardbench --duration 10s --rounds 3 --concurrency 16
//
// It builds `sesame serve` from this checkout (or takes --sesame-bin), runs
// it as its own process over a fresh SQLite file with one access rule
// (domain "*", authenticated) and 127.0.0.1 as a trusted proxy, signs up
// and logs in --users accounts (a session cookie and a Bearer token each),
// starts a small upstream in this process and one nginx with two server
// blocks: docs/proxy/nginx.conf exactly as documented (placeholders filled)
// and the same proxy without auth_request. Then, phase after phase with the
// same closed-loop load (--rounds times, samples pooled):
//
//   - sesame /livez: the floor, GET /livez straight to Sesame;
//   - sesame forward cookie / bearer: GET /api/v1/authz/forward straight to
//     Sesame with the headers nginx's subrequest sends (X-Original-URL,
//     X-Original-Method) and the credential;
//   - (a) nginx, no auth: nginx → upstream;
//   - (b) nginx + auth_request, cookie, and (c) the same with a Bearer token:
//     nginx → Sesame's endpoint, then → upstream.
//
// Each phase reports req/s, p50, p99 and the CPU time per request of the
// Sesame process and of nginx (master and workers, from /proc), so the
// auth hop's CPU is Sesame's plus nginx's extra over (a).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("forwardbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	var asJSON, quiet bool
	fs.StringVar(&cfg.SesameBin, "sesame-bin", "", "the sesame executable (default: go build ../cmd/sesame into a temporary directory)")
	fs.StringVar(&cfg.NginxBin, "nginx", "", "the nginx executable (default: $SESAME_TEST_NGINX, /usr/sbin/nginx, or nginx in PATH)")
	fs.IntVar(&cfg.Workers, "nginx-workers", runtime.NumCPU(), "nginx worker_processes")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of each measured phase (at most 5m)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 16, "concurrent closed-loop clients")
	fs.IntVar(&cfg.Users, "users", 8, "accounts to sign up and log in; clients share them round-robin")
	fs.IntVar(&cfg.Rounds, "rounds", 1, "repeat the phase sequence this many times and pool the samples (evens out drift on a shared machine)")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "unrecorded load through nginx with auth before the first phase")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "forwardbench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if !quiet {
		cfg.Log = stderr
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(stderr, "forwardbench: %v\n", err)
		return 2
	}
	rep, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "forwardbench: %v\n", err)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "forwardbench: %v\n", err)
			return 1
		}
	} else {
		rep.print(stdout)
	}
	for _, p := range rep.Phases {
		if p.Errors > 0 {
			return 1
		}
	}
	return 0
}
