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

// Two in-process nodes on one SQLite file: every revocation on either is
// observed by the other within the deadline (through the change feed,
// polled every 200 ms by default), and by two downstream verify services
// following the second node, one on the stream and one polling.
func TestPropagationSmoke(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	keys := testserver.Keys(t)
	a := testserver.Start(t, path, keys)
	b := testserver.Start(t, path, keys)
	var log bytes.Buffer
	const rounds = 5
	rep, err := Run(context.Background(), Config{Nodes: []string{a, b}, Revocations: rounds, Credentials: []string{"bearer", "cookie"},
		RevokeOn: "random", Jitter: 50 * time.Millisecond, Deadline: 5 * time.Second, Log: &log,
		Downstream: []string{"stream", "poll"}, DownstreamPoll: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	if rep.Failures != 0 || rep.OriginAccepted != 0 {
		t.Fatalf("failures %d, accepted by the revoking node %d", rep.Failures, rep.OriginAccepted)
	}
	seen := map[string]uint64{}
	for _, row := range rep.Rows {
		if name, _, ok := strings.Cut(row.Node, " of "); ok {
			seen[name] = row.Samples
		}
		if row.Node == "all" {
			seen[row.Credential] = row.Samples
			if row.P50ms <= 0 || row.Maxms < row.P99ms || row.Maxms > 5000 {
				t.Errorf("%s: p50 %.2f p99 %.2f max %.2f ms", row.Credential, row.P50ms, row.P99ms, row.Maxms)
			}
		}
	}
	// Two nodes: each revocation is polled on the one other node.
	if seen["bearer"] != rounds || seen["cookie"] != rounds || seen["downstream (stream)"] != rounds || seen["downstream (poll)"] != rounds {
		t.Errorf("observed revocations %v, want %d of each", seen, rounds)
	}
	var out bytes.Buffer
	printReport(&out, rep)
	if !strings.Contains(out.String(), "| bearer ") {
		t.Errorf("table:\n%s", out.String())
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--nodes", "http://127.0.0.1:1"},
		{"--nodes", "http://127.0.0.1:1,http://example.com:2"},
		{"--nodes", "http://127.0.0.1:1,http://127.0.0.1:2", "--revocations", "0"},
		{"--nodes", "http://127.0.0.1:1,http://127.0.0.1:2", "--credentials", "basic"},
		{"--nodes", "http://127.0.0.1:1,http://127.0.0.1:2", "--revoke-on", "last"},
		{"--nodes", "http://127.0.0.1:1,http://127.0.0.1:2", "--downstream", "push"},
		{"--nodes", "http://127.0.0.1:1,http://127.0.0.1:2", "--downstream", "stream", "--credentials", "cookie"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, &bytes.Buffer{}, &stderr); code != 2 {
			t.Errorf("run %q: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
}
