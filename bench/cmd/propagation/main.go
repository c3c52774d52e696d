// Command propagation measures how long a revocation on one Sesame node
// takes to be enforced by the others (issue 5). Each round logs a user in
// on the first node (a Bearer token, and a session cookie), checks that
// every node accepts both, revokes them on one node (the cookie session by
// DELETE /api/v1/sessions/{id}, the token's session by POST
// /api/v1/logout, both with the Bearer token), then polls GET /api/v1/me
// on every other node back to back until it answers 401. The latency runs
// from the revoking request's answer to the arrival of the first 401.
//
// With --downstream stream,poll it also runs downstream verify services
// in process (package verify behind an HTTP server on loopback), each
// following the last node's revocation feed, one on its stream and one
// polling it, and measures the bearer credential's revocation to their
// first 401 the same way (issue 10).
//
//	go run ./cmd/propagation --nodes http://127.0.0.1:18081,http://127.0.0.1:18082,http://127.0.0.1:18083
//	go run ./cmd/propagation --nodes ... --downstream stream,poll
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("propagation", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	var nodes, creds, downs string
	var asJSON, quiet bool
	fs.StringVar(&nodes, "nodes", "", "comma-separated base URLs of the nodes (at least 2, loopback only); logins go to the first")
	fs.IntVar(&cfg.Revocations, "revocations", 200, "rounds: each revokes one credential of each kind")
	fs.StringVar(&creds, "credentials", "bearer,cookie", "comma-separated credential kinds: bearer, cookie")
	fs.StringVar(&cfg.RevokeOn, "revoke-on", "random", "node that revokes: first, or random (any node, the first included)")
	fs.DurationVar(&cfg.Jitter, "jitter", 200*time.Millisecond, "random pause (0 to this) before each revocation, so that revocations fall at random phases of a polling node's sync interval")
	fs.DurationVar(&cfg.Deadline, "deadline", 5*time.Second, "a node still accepting a revoked credential this long after the revocation counts as a failure")
	fs.StringVar(&downs, "downstream", "", "comma-separated downstream verify services to measure as well: stream (follows the revocation stream), poll (polls the feed); each follows the last node, and is measured with the bearer credential")
	fs.DurationVar(&cfg.DownstreamPoll, "downstream-poll-interval", time.Second, "poll interval of the poll downstream (verify's default: 1s)")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "skip TLS certificate verification (https on loopback with a self-signed certificate)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "propagation: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg.Nodes, cfg.Credentials, cfg.Downstream = splitList(nodes), splitList(creds), splitList(downs)
	if !quiet {
		cfg.Log = stderr
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(stderr, "propagation: %v\n", err)
		return 2
	}
	rep, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "propagation: %v\n", err)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		printReport(stdout, rep)
	}
	if rep.Failures > 0 {
		return 1
	}
	return 0
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func printReport(w io.Writer, r *Report) {
	fmt.Fprintf(w, "%d nodes, %d revocations per credential, revoked on the %s node, random pause before each up to %s, deadline %s\n\n", len(r.Nodes), r.Revocations, r.RevokeOn, r.Jitter, r.Deadline)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| credential\t| polled node\t| samples\t| p50\t| p99\t| max\t| failures (still accepted after deadline)\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---:\t|---:\t|---:\t|---:\t|---:\t|")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "| %s\t| %s\t| %d\t| %.2f ms\t| %.2f ms\t| %.2f ms\t| %d\t|\n", row.Credential, row.Node, row.Samples, row.P50ms, row.P99ms, row.Maxms, row.Failures)
	}
	tw.Flush()
	if len(r.Downstream) > 0 {
		fmt.Fprintf(w, "\ndownstream verify services follow %s (the poll one every %s); their latency runs from the revoking request's answer to their first 401\n", r.DownstreamOf, r.DownstreamPoll)
	}
	fmt.Fprintf(w, "\nrevoking request round trip: p50 %.2f ms, p99 %.2f ms; revoked credentials accepted by the revoking node: %d; poll answers other than 200/401: %d\n",
		r.RevokeP50ms, r.RevokeP99ms, r.OriginAccepted, r.PollErrors)
}
