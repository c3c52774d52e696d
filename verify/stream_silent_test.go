package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testclock"
)

// SEC-65: a stream that keeps sending bytes but no sign of life (blank
// lines, unknown events, comments before its catch-up, a line dribbled a
// byte at a time) is as silent as one that sends nothing: the connection
// is dropped after 2 × Heartbeat + 500 ms, so that the verifier reconnects
// or falls back to polling instead of answering 503 for good while the
// connection stays open (a broken proxy, a stream of another service, a
// slow-loris attacker on the path).
func TestStreamBytesWithoutHeartbeatAreSilence(t *testing.T) {
	for _, tc := range []struct {
		name, head, drip string
	}{
		{name: "blank lines after the catch-up", head: primeAt5, drip: "\n"},
		{name: "unknown events after the catch-up", head: primeAt5, drip: "event: other\ndata: x\n\n"},
		{name: "retry fields after the catch-up", head: primeAt5, drip: "retry: 10\n"},
		{name: "a line dribbled byte by byte", head: primeAt5, drip: "x"},
		{name: "comments but never a catch-up", head: "", drip: ": heartbeat\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFakeStream(t, func(n int, w http.ResponseWriter, r *http.Request) {
				sse(w, tc.head)
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-r.Context().Done():
						return
					case <-tick.C:
						fmt.Fprint(w, tc.drip)
						w.(http.Flusher).Flush()
					}
				}
			})
			fs.get(func(fs *fakeStream) { fs.feedStatus = http.StatusBadGateway })
			v, _ := streamFollower(t, fs, testclock.New(t0), func(rc *RevocationConfig) {
				rc.Heartbeat = MinHeartbeat
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := v.rev.streamOnce(ctx)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, errStreamSilent) {
					t.Fatalf("got %v, want %v", err, errStreamSilent)
				}
			case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
				t.Fatal("the connection was kept for 30 s without a heartbeat")
			}
		})
	}
}
