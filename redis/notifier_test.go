package redis_test

import (
	"bufio"
	"context"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sesame-auth/sesame/redis"
)

// deadline is generous: the test checks delivery, not latency (that is
// bench/cmd/propagation's job).
const deadline = 10 * time.Second

func TestNotifier(t *testing.T)        { testNotifier(t, single(t)) }
func TestClusterNotifier(t *testing.T) { testNotifier(t, cluster(t)) }

func testNotifier(t *testing.T, d deployment) {
	t.Parallel()
	prefix := newPrefix(t, d)
	name := "sesame-test-" + randomHex(6)
	listener, err := redis.New(d.client(t, name), redis.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	sender := d.store(t, prefix)

	changed := make(chan string, 16)
	conn := make(chan bool, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- listener.Notifier().Subscribe(ctx, func(p string) { changed <- p }, func(up bool) { conn <- up })
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(deadline):
			t.Error("Subscribe did not return after its context ended")
		}
	}()

	wantConn(t, conn, true, "after Subscribe")
	notifyUntilHeard(t, sender, changed, "first notification")

	// Kill the listener's pub/sub connection (only ours: other tests share
	// the server), as CLIENT KILL TYPE pubsub would.
	if n := killPubSub(t, d.client(t, ""), name); n == 0 {
		t.Fatal("found no pub/sub connection to kill")
	}
	wantConn(t, conn, false, "after CLIENT KILL")
	wantConn(t, conn, true, "after reconnecting")
	notifyUntilHeard(t, sender, changed, "notification after reconnection")
}

func wantConn(t *testing.T, conn chan bool, want bool, when string) {
	t.Helper()
	select {
	case up := <-conn:
		if up != want {
			t.Fatalf("connected %s: got %v, want %v", when, up, want)
		}
	case <-time.After(deadline):
		t.Fatalf("connected %s: no call within %v, want connected(%v)", when, deadline, want)
	}
}

// notifyUntilHeard notifies until the listener hears one: on a Cluster a
// fresh subscription may take a moment to be visible to every node.
func notifyUntilHeard(t *testing.T, s *redis.Store, changed chan string, what string) {
	t.Helper()
	end := time.After(deadline)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		const payload = "s1 r sessionA u sessionB"
		if err := s.Notifier().Notify(context.Background(), payload); err != nil {
			t.Fatalf("Notify: %v", err)
		}
		select {
		case got := <-changed:
			if got != payload {
				t.Fatalf("%s: payload %q, want %q", what, got, payload)
			}
			return
		case <-end:
			t.Fatalf("%s: changed() not called within %v", what, deadline)
		case <-tick.C:
		}
	}
}

// killPubSub kills the pub/sub connections named name on every node and
// returns how many it killed.
func killPubSub(t *testing.T, c goredis.UniversalClient, name string) int {
	t.Helper()
	ctx := context.Background()
	killed := 0
	kill := func(ctx context.Context, n *goredis.Client) error {
		list, err := n.Do(ctx, "CLIENT", "LIST", "TYPE", "pubsub").Text()
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(strings.NewReader(list))
		for sc.Scan() {
			var id string
			named := false
			for _, f := range strings.Fields(sc.Text()) {
				k, v, _ := strings.Cut(f, "=")
				switch {
				case k == "id":
					id = v
				case k == "name" && v == name:
					named = true
				}
			}
			if named && id != "" {
				if err := n.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
					return err
				}
				killed++
			}
		}
		return nil
	}
	var err error
	switch c := c.(type) {
	case *goredis.ClusterClient:
		var mu chanMutex = make(chan struct{}, 1)
		err = c.ForEachShard(ctx, func(ctx context.Context, n *goredis.Client) error {
			mu <- struct{}{}
			defer func() { <-mu }()
			return kill(ctx, n)
		})
	case *goredis.Client:
		err = kill(ctx, c)
	}
	if err != nil {
		t.Fatalf("kill pub/sub connections: %v", err)
	}
	return killed
}
