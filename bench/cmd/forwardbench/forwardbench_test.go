package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// Flags out of bounds are usage errors (exit 2), before anything starts.
func TestFlagBounds(t *testing.T) {
	for _, args := range [][]string{
		{"--duration", "0s"}, {"--duration", "6m"}, {"--concurrency", "0"}, {"--users", "0"},
		{"--rounds", "21"}, {"--nginx-workers", "0"}, {"--warmup", "2m"}, {"extra"},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errOut.String())
		}
	}
}

// ticks reads this process's CPU time from /proc, and it grows with work.
func TestTicksOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	before := ticks(os.Getpid())
	for deadline := time.Now().Add(5 * time.Second); ticks(os.Getpid()) == before && time.Now().Before(deadline); {
		_ = strings.Repeat("x", 1<<16)
	}
	if after := ticks(os.Getpid()); after <= before {
		t.Errorf("CPU ticks went from %d to %d after busy work, want more", before, after)
	}
	if n := ticks(-1); n != 0 {
		t.Errorf("ticks of no process: %d, want 0", n)
	}
}
