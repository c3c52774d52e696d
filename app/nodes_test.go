package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgTestDB returns the db setting of a fresh PostgreSQL schema, dropped
// when the test ends; it skips without SESAME_TEST_POSTGRES_URL (fails
// under CI=true).
func pgTestDB(t *testing.T) string {
	t.Helper()
	raw := os.Getenv("SESAME_TEST_POSTGRES_URL")
	if raw == "" {
		const msg = "SESAME_TEST_POSTGRES_URL is not set: start PostgreSQL with eval \"$(bash .ci/services start)\" (see .ci/services)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), raw)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, _ := url.Parse(raw)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// A running server announces itself in the durable database, renews it,
// and removes it when it stops; an announcement that lapsed (a killed
// server) is not live; the identity readers never see the announcements.
// This is what `sesame migrate` uses to refuse an idle running source.
func TestNodeAnnouncement(t *testing.T) {
	for _, tc := range []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "sesame.db") }},
		{"postgres", pgTestDB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := testConfig(t, tc.db(t))
			cfg.Addr = "127.0.0.1:4455"
			a, err := newApp(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if ns, err := LiveNodes(ctx, a.Durable(), time.Now()); err != nil || len(ns) != 0 {
				t.Fatalf("before Start: %v %v, want none", ns, err)
			}
			a.Start(ctx)
			ns, err := LiveNodes(ctx, a.Durable(), time.Now())
			if err != nil || len(ns) != 1 {
				t.Fatalf("after Start: %v %v, want this server", ns, err)
			}
			host, _ := os.Hostname()
			if n := ns[0]; n.PID != os.Getpid() || n.Host != host || n.Addr != "127.0.0.1:4455" || n.ID == "" || n.Started.IsZero() {
				t.Fatalf("announced %+v", n)
			}
			// The identity is read as before, with the announcement beside it.
			if rec, ok, err := a.LoadIdentity(ctx); err != nil || !ok || rec.MasterKey != Fingerprint(a.MasterKey()) {
				t.Fatalf("identity beside an announcement: %+v %v %v", rec, ok, err)
			}
			if items, err := deploymentItems(ctx, a); err != nil || len(items) != 3 {
				t.Fatalf("the exported deployment identity: %v %v, want its 3 items only", items, err)
			}
			// Lapsed after NodeLiveWindow without renewal (a killed server).
			if ns, _ := LiveNodes(ctx, a.Durable(), time.Now().Add(NodeLiveWindow+time.Second)); len(ns) != 0 {
				t.Fatalf("after the live window: %v, want none", ns)
			}
			// A killed server's announcement more than a day old is removed
			// by a renewal.
			s := nodeStoreFor(a.Durable())
			old := time.Now().Add(-nodeForget - time.Minute)
			if err := s.beat(ctx, nodePrefix+"dead", `{"host":"gone"}`, old); err != nil {
				t.Fatal(err)
			}
			if rows, _ := s.nodes(ctx); len(rows) != 2 {
				t.Fatalf("rows %v, want 2", rows)
			}
			if err := s.beat(ctx, nodePrefix+"other", `{"host":"other"}`, time.Now()); err != nil {
				t.Fatal(err)
			}
			if rows, _ := s.nodes(ctx); len(rows) != 2 || rows[nodePrefix+"dead"].value != "" {
				t.Fatalf("rows %v, want the day-old one gone", rows)
			}
			if err := s.end(ctx, nodePrefix+"other"); err != nil {
				t.Fatal(err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			// Reopen to read what Close left.
			b, err := newApp(t, testConfig(t, cfg.DB))
			if err != nil {
				t.Fatal(err)
			}
			if ns, err := LiveNodes(ctx, b.Durable(), time.Now()); err != nil || len(ns) != 0 {
				t.Fatalf("after Close: %v %v, want the announcement removed", ns, err)
			}
		})
	}
}

func deploymentItems(ctx context.Context, a *App) (map[string]string, error) {
	return a.Durable().(interface {
		Deployment(context.Context) (map[string]string, error)
	}).Deployment(ctx)
}
