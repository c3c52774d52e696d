// Command load drives a running Sesame server on this machine and reports
// what an authenticated request costs next to a no-auth one (issue 5), and
// what a login flood does to it (issue 6).
//
//	go run ./cmd/load --url http://127.0.0.1:18080 --mode cookie,bearer
//	go run ./cmd/load --url http://127.0.0.1:18080 --mode flood   # server: --trusted-proxies 127.0.0.1
//
// Every auth mode is measured beside the floor, GET /livez, in the same
// invocation: the phases run one after the other (floor, then each mode,
// repeated --rounds times) with the same concurrency and duration, and each
// mode's req/s, p50 and p99 are also given as a ratio to the floor's.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
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
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	var modes, floodIPs, floodAuth string
	var asJSON, quiet bool
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "base URL of the running server (loopback only)")
	fs.StringVar(&modes, "mode", "cookie,bearer", "comma-separated: cookie, bearer (GET /api/v1/me; the floor GET /livez is always measured with them), floor (alone), flood (login flood beside /me)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of each measured phase (at most 5m)")
	fs.Int64Var(&cfg.Requests, "requests", 0, "cap on the requests of each phase (0: none, the duration bounds it)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 16, "concurrent closed-loop clients")
	fs.IntVar(&cfg.Users, "users", 8, "accounts to sign up and log in first; clients share them round-robin")
	fs.IntVar(&cfg.Rounds, "rounds", 1, "repeat the floor/mode phase sequence this many times and pool the samples (evens out drift on a shared machine)")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "unrecorded GET /livez load before the first phase")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "skip TLS certificate verification (https on loopback with a self-signed certificate)")
	fs.Float64Var(&cfg.Flood.Rate, "flood-rate", 0, "flood: failed logins per second (0: --flood-factor × the capacity measured first)")
	fs.Float64Var(&cfg.Flood.Factor, "flood-factor", 10, "flood: rate as a multiple of the measured hashing capacity, when --flood-rate is 0")
	fs.StringVar(&floodIPs, "flood-ips", "0", "flood: comma-separated variants, each the number of distinct X-Forwarded-For client IPs (0: a fresh one per attempt; 1: one attacker IP, which the per-IP throttle answers with 429)")
	fs.StringVar(&floodAuth, "flood-auth", "bearer", "flood: comma-separated credentials of the /me load beside the flood: cookie, bearer")
	fs.IntVar(&cfg.Flood.Inflight, "flood-inflight", 1024, "flood: most login attempts in flight; attempts beyond it are dropped and counted")
	fs.IntVar(&cfg.Flood.HashSlots, "hash-slots", 0, "flood: the server's hashing concurrency (0: half this machine's CPUs, at least 1, which is the server's default on the same machine)")
	fs.IntVar(&cfg.Flood.Calibrate, "calibrate", 15, "flood: sequential hashes and logins timed first (medians)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "load: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg.Modes = splitList(modes)
	cfg.Flood.Auth = splitList(floodAuth)
	for _, s := range splitList(floodIPs) {
		n, err := strconv.Atoi(s)
		if err != nil {
			fmt.Fprintf(stderr, "load: --flood-ips: %q is not a number\n", s)
			return 2
		}
		cfg.Flood.IPs = append(cfg.Flood.IPs, n)
	}
	if !quiet {
		cfg.Log = stderr
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return 2
	}
	rep, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "load: %v\n", err)
			return 1
		}
	} else {
		printReport(stdout, rep)
	}
	if rep.errors() > 0 {
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

// errors counts failed /me and floor requests (the flood's refusals are
// expected and not counted).
func (r *Report) errors() uint64 {
	var n uint64
	for _, p := range r.Phases {
		n += p.Errors
	}
	if r.Flood != nil {
		for _, row := range r.Flood.Rows {
			n += row.Me.Errors
		}
	}
	return n
}

func ratio(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", x)
}

func msString(x float64) string {
	if x < 1 {
		return fmt.Sprintf("%.3f ms", x)
	}
	return fmt.Sprintf("%.2f ms", x)
}

func statuses(m map[string]uint64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s×%d", k, v))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// printReport prints Markdown tables, ready for bench/README.md.
func printReport(w io.Writer, r *Report) {
	fmt.Fprintf(w, "url %s, concurrency %d, %s per phase, %d round(s), %d users\n\n", r.URL, r.Concurrency, r.Duration, r.Rounds, r.Users)
	if len(r.Phases) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
		fmt.Fprintln(tw, "| mode\t| endpoint\t| requests\t| errors\t| req/s\t| p50\t| p99\t| req/s ÷ floor\t| p50 ÷ floor\t| p99 ÷ floor\t|")
		fmt.Fprintln(tw, "|---\t|---\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|")
		for _, p := range r.Phases {
			fmt.Fprintf(tw, "| %s\t| GET %s\t| %d\t| %d%s\t| %.0f\t| %s\t| %s\t| %s\t| %s\t| %s\t|\n", p.Mode, p.Path, p.Requests, p.Errors, statuses(p.Statuses),
				p.RPS, msString(p.P50ms), msString(p.P99ms), ratio(p.RPSRatio), ratio(p.P50Ratio), ratio(p.P99Ratio))
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	if f := r.Flood; f != nil {
		c := f.Calibration
		fmt.Fprintf(w, "calibration (%d interleaved samples; median, min): argon2id %s timed in this tool %s, %s; sequential logins against the idle server (client round trip): failed %s, %s; successful %s, %s\n",
			r.Flood.Samples, c.HashParams, msString(c.HashMs), msString(c.HashMinMs), msString(c.FailMs), msString(c.FailMinMs), msString(c.OKMs), msString(c.OKMinMs))
		fmt.Fprintf(w, "share of login time outside the hash, 1 - hash/login (median, min): failed %.1f %%, %.1f %%; successful %.1f %%, %.1f %%\n",
			100*c.FailOutside, 100*c.FailOutsideMin, 100*c.OKOutside, 100*c.OKOutsideMin)
		fmt.Fprintf(w, "sequential GET /livez round trip %s (median): failed login outside the hash less that round trip %.1f %%\n", msString(c.RTTMs), 100*c.FailOutsideServer)
		fmt.Fprintf(w, "%d hash slot(s) → capacity %.1f logins/s (slots ÷ median failed login); flood rate %.0f/s\n\n", c.HashSlots, c.Capacity, r.Flood.Rate)
		tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
		fmt.Fprintln(tw, "| /me auth\t| flood\t| /me req/s\t| /me p50\t| /me p99\t| p99 ÷ no flood\t| logins offered/s\t| checked (401)/s\t| 503\t| 429\t| dropped\t| other\t| 401 p50\t| 401 p99\t| refused p99\t| hash share of slot\t|")
		fmt.Fprintln(tw, "|---\t|---\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|")
		for _, row := range f.Rows {
			me := row.Me
			fmt.Fprintf(tw, "| %s\t| %s\t| %.0f%s\t| %s\t| %s\t| %s\t", row.Auth, row.Flood, me.RPS, errNote(me), msString(me.P50ms), msString(me.P99ms), ratio(row.P99Ratio))
			if l := row.Login; l != nil {
				fmt.Fprintf(tw, "| %.0f\t| %.1f\t| %d\t| %d\t| %d\t| %d\t| %s\t| %s\t| %s\t| %.0f %%\t|\n", l.OfferedRate, l.ServedPerSec, l.Busy, l.Throttled, l.Dropped, l.Other,
					msString(l.ServedP50ms), msString(l.ServedP99ms), msString(l.RefusedP99ms), 100*l.HashBusyShare)
			} else {
				fmt.Fprintln(tw, "| -\t| -\t| -\t| -\t| -\t| -\t| -\t| -\t| -\t| -\t|")
			}
		}
		tw.Flush()
		for _, row := range f.Rows {
			if row.Login != nil && len(row.Login.OtherSamples) > 0 {
				fmt.Fprintf(w, "\nother flood answers (%s, %s): %s\n", row.Auth, row.Flood, strings.Join(row.Login.OtherSamples, "; "))
			}
		}
	}
}

func errNote(p *Phase) string {
	if p.Errors == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d errors%s)", p.Errors, statuses(p.Statuses))
}
