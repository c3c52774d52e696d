package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/redis"
	"github.com/sesame-auth/sesame/storetest"
)

// server returns the value of a test server's environment variable, or
// skips the test when it is unset; under CI=true, where .ci/services
// starts every server, an unset variable fails the test instead.
func server(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		msg := name + " is not set: start the test servers with `eval \"$(bash .ci/services start)\"` (see .ci/services)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return v
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// deployment is how to reach one Redis deployment under test.
type deployment struct {
	name    string
	cluster bool
	addr    string // URL (single) or comma-separated addresses (cluster)
}

func single(t testing.TB) deployment {
	return deployment{name: "single", addr: server(t, "SESAME_TEST_REDIS_URL")}
}

func cluster(t testing.TB) deployment {
	return deployment{name: "cluster", cluster: true, addr: server(t, "SESAME_TEST_REDIS_CLUSTER")}
}

// client opens a client on d; clientName, when set, names its connections.
func (d deployment) client(t testing.TB, clientName string) goredis.UniversalClient {
	t.Helper()
	var c goredis.UniversalClient
	if d.cluster {
		c = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: strings.Split(d.addr, ","), ClientName: clientName})
	} else {
		o, err := goredis.ParseURL(d.addr)
		if err != nil {
			t.Fatalf("ParseURL: %v", err)
		}
		o.ClientName = clientName
		c = goredis.NewClient(o)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// store returns a Store on d with a fresh key prefix, whose keys are
// deleted when the test ends (never FLUSHDB: the servers are shared).
func (d deployment) store(t testing.TB, prefix string) *redis.Store {
	t.Helper()
	if prefix == "" {
		prefix = newPrefix(t, d)
	}
	s, err := redis.New(d.client(t, ""), redis.Options{Prefix: prefix})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// newPrefix returns a random key prefix and deletes its keys at cleanup.
func newPrefix(t testing.TB, d deployment) string {
	prefix := "t" + randomHex(6) + ":"
	c := d.client(t, "")
	t.Cleanup(func() {
		ctx := context.Background()
		for _, k := range keys(t, c, prefix) {
			c.Del(ctx, k)
		}
	})
	return prefix
}

// keys lists the keys under prefix on every master.
func keys(t testing.TB, c goredis.UniversalClient, prefix string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	scan := func(ctx context.Context, n goredis.Cmdable) error {
		it := n.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for it.Next(ctx) {
			out = append(out, it.Val())
		}
		return it.Err()
	}
	var err error
	if cc, ok := c.(*goredis.ClusterClient); ok {
		var mu chanMutex = make(chan struct{}, 1)
		err = cc.ForEachMaster(ctx, func(ctx context.Context, n *goredis.Client) error {
			mu <- struct{}{}
			defer func() { <-mu }()
			return scan(ctx, n)
		})
	} else {
		err = scan(ctx, c)
	}
	if err != nil {
		t.Errorf("scan keys %s*: %v", prefix, err)
	}
	return out
}

type chanMutex chan struct{}

func conformance(t *testing.T, d deployment) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		s := d.store(t, "")
		return storetest.Stores{Sessions: s, Refresh: s}
	})
	storetest.RunGuard(t, func(t *testing.T) guard.Store { return d.store(t, "") })
	// SEC-66 between store calls; crash_test.go cuts inside them.
	storetest.RunCrash(t, func(t *testing.T) storetest.Stores {
		s := d.store(t, "")
		return storetest.Stores{Sessions: s, Refresh: s}
	})
}

func TestConformance(t *testing.T) {
	t.Parallel()
	conformance(t, single(t))
}

// TestClusterConformance runs the suite on a 3-node Redis Cluster: a key
// layout that put one script's keys in different slots would fail with
// CROSSSLOT.
func TestClusterConformance(t *testing.T) {
	t.Parallel()
	conformance(t, cluster(t))
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	s, err := redis.Open(ctx, server(t, "SESAME_TEST_REDIS_URL"), redis.Options{Prefix: "t" + randomHex(6) + ":"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	addrs := server(t, "SESAME_TEST_REDIS_CLUSTER")
	c, err := redis.Open(ctx, "redis+cluster://"+addrs, redis.Options{})
	if err != nil {
		t.Fatalf("Open(redis+cluster://): %v", err)
	}
	if _, ok := c.Client().(*goredis.ClusterClient); !ok {
		t.Fatalf("Open(redis+cluster://): got a %T, want a *ClusterClient", c.Client())
	}
	c.Close()
	for _, tc := range []struct{ name, url string }{
		{"bad scheme", "http://127.0.0.1:1"},
		{"cluster with a database", "redis+cluster://127.0.0.1:1/3"},
		{"cluster without hosts", "redis+cluster://"},
	} {
		if s, err := redis.Open(ctx, tc.url, redis.Options{}); err == nil {
			s.Close()
			t.Errorf("%s: Open(%q): got nil error, want one", tc.name, tc.url)
		}
	}
	if _, err := redis.New(nil, redis.Options{Prefix: "a{b}:"}); err == nil {
		t.Error("New with a brace in the prefix: got nil error, want one")
	}
}
