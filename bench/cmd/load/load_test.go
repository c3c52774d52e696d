package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/bench/cmd/internal/testserver"
)

// The core against an in-process server: cookie and bearer modes beside
// the floor, each phase about a second, no errors.
func TestLoadSmoke(t *testing.T) {
	url := testserver.Start(t, filepath.Join(t.TempDir(), "sesame.db"), testserver.Keys(t))
	var log bytes.Buffer
	rep, err := Run(context.Background(), Config{URL: url, Modes: []string{"cookie", "bearer"}, Duration: time.Second,
		Concurrency: 4, Users: 3, Rounds: 1, Log: &log})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	if len(rep.Phases) != 3 {
		t.Fatalf("got %d phases, want floor, cookie, bearer", len(rep.Phases))
	}
	for i, want := range []string{"floor", "cookie", "bearer"} {
		p := rep.Phases[i]
		if p.Mode != want {
			t.Errorf("phase %d is %q, want %q", i, p.Mode, want)
		}
		if p.RPS <= 0 || p.Requests == 0 || p.P50ms <= 0 || p.P99ms < p.P50ms {
			t.Errorf("%s: rps %.0f, requests %d, p50 %.3f, p99 %.3f: want positive figures", p.Mode, p.RPS, p.Requests, p.P50ms, p.P99ms)
		}
		if p.Errors != 0 {
			t.Errorf("%s: %d errors %v", p.Mode, p.Errors, p.Statuses)
		}
		if want != "floor" && (p.RPSRatio <= 0 || p.P99Ratio <= 0) {
			t.Errorf("%s: no ratio to the floor", p.Mode)
		}
	}
	var out bytes.Buffer
	printReport(&out, rep)
	if !strings.Contains(out.String(), "| cookie ") || !strings.Contains(out.String(), "req/s ÷ floor") {
		t.Errorf("table:\n%s", out.String())
	}
}

// A request cap ends a phase before its duration.
func TestLoadRequestCap(t *testing.T) {
	url := testserver.Start(t, filepath.Join(t.TempDir(), "sesame.db"), testserver.Keys(t))
	rep, err := Run(context.Background(), Config{URL: url, Modes: []string{"bearer"}, Duration: time.Minute, Requests: 200,
		Concurrency: 4, Users: 1, Rounds: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Phases {
		if p.Requests != 200 || p.Errors != 0 || p.Seconds > 30 {
			t.Errorf("%s: %d requests, %d errors in %.1f s; want 200, 0, well under the minute", p.Mode, p.Requests, p.Errors, p.Seconds)
		}
	}
}

// The flood mode end to end, briefly and at a fixed rate: the /me load
// keeps answering, and the flood's logins are checked or refused, never
// anything else.
func TestFloodSmoke(t *testing.T) {
	url := testserver.Start(t, filepath.Join(t.TempDir(), "sesame.db"), testserver.Keys(t))
	rep, err := Run(context.Background(), Config{URL: url, Modes: []string{"flood"}, Duration: 700 * time.Millisecond,
		Concurrency: 2, Users: 1, Rounds: 1,
		Flood: FloodConfig{Rate: 100, Factor: 10, IPs: []int{0, 1}, Auth: []string{"bearer"}, Inflight: 64, Calibrate: 1}})
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Flood
	if f == nil || len(f.Rows) != 3 || f.Calibration.HashMs <= 0 || f.Calibration.FailMs <= 0 {
		t.Fatalf("flood report: %+v", f)
	}
	for _, row := range f.Rows {
		if row.Me.Errors != 0 || row.Me.RPS <= 0 {
			t.Errorf("%s/%s: /me %d errors %v, %.0f req/s", row.Auth, row.Flood, row.Me.Errors, row.Me.Statuses, row.Me.RPS)
		}
		if l := row.Login; l != nil {
			if l.Sent == 0 || l.Other != 0 {
				t.Errorf("%s: %d sent, %d other answers %v", row.Flood, l.Sent, l.Other, l.OtherSamples)
			}
			if row.Flood == "1 IP" && l.Throttled == 0 {
				t.Errorf("one IP sent %d failures and was never throttled", l.Sent)
			}
			if row.Flood == "fresh IP per attempt" && l.Throttled != 0 {
				t.Errorf("fresh IPs were throttled %d times", l.Throttled)
			}
		}
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--url", "http://example.com:8080"},
		{"--url", "http://192.168.1.10:8080"},
		{"--mode", "nonsense"},
		{"--duration", "1h"},
		{"--concurrency", "0"},
		{"--users", "0"},
		{"--mode", "flood", "--flood-auth", "basic"},
		{"--mode", "flood", "--flood-ips", "x"},
		{"extra"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, &bytes.Buffer{}, &stderr); code != 2 {
			t.Errorf("run %q: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
}
