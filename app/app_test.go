package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/password"
)

var cheap = password.Params{Memory: 64, Time: 1, Threads: 1}

func key(b byte) config.Secret {
	return config.Secret(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)))
}

func testConfig(t *testing.T, db string) *config.Config {
	cfg := config.Default()
	cfg.DB = db
	cfg.PublicURL = "https://auth.example.com"
	cfg.MasterKey = key(1)
	return cfg
}

func quiet() Option { return WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))) }

func newApp(t *testing.T, cfg *config.Config, opts ...Option) (*App, error) {
	t.Helper()
	a, err := New(context.Background(), cfg, append([]Option{quiet(), WithPasswordParams(cheap)}, opts...)...)
	if err == nil {
		t.Cleanup(func() { a.Close() })
	}
	return a, err
}

// The first server records the deployment's identity; a second one with
// the same configuration starts; one that contradicts it is refused with
// what differs.
func TestIdentityRecordedAndEnforced(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sesame.db")
	a, err := newApp(t, testConfig(t, db))
	if err != nil {
		t.Fatal(err)
	}
	rec, ok, err := a.LoadIdentity(context.Background())
	if err != nil || !ok {
		t.Fatalf("no identity recorded: %v", err)
	}
	if rec.Issuer != "https://auth.example.com" || rec.Sessions != "database" || rec.MasterKey != Fingerprint(a.MasterKey()) || len(rec.MasterKey) != 16 {
		t.Fatalf("recorded %+v", rec)
	}
	if _, err := newApp(t, testConfig(t, db)); err != nil {
		t.Fatalf("a second node with the same configuration: %v", err)
	}
	cases := map[string]func(c *config.Config){
		"issuer":     func(c *config.Config) { c.PublicURL = "https://other.example.com" },
		"master key": func(c *config.Config) { c.MasterKey = key(2) },
		"no issuer":  func(c *config.Config) { c.PublicURL = ""; c.Issuer = "" },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t, db)
			change(cfg)
			if name == "no issuer" {
				cfg.PublicURL = "http://localhost:1234"
				cfg.SetSource("public_url", config.Source{Kind: config.FromListener})
			}
			_, err := newApp(t, cfg)
			var ie *IdentityError
			if !errors.As(err, &ie) || ie.Missing != "" {
				t.Fatalf("got %v, want an IdentityError", err)
			}
			if strings.Contains(err.Error(), string(key(2))) || strings.Contains(err.Error(), string(key(1))) {
				t.Fatalf("the error holds a master key: %v", err)
			}
		})
	}
	// A command that is not given the session store of a deployment that
	// keeps it elsewhere is refused with the missing setting named.
	if err := a.identityStoreForTest().put(context.Background(), map[string]string{itemSessions: "redis cache:6379/0"}, false); err != nil {
		t.Fatal(err)
	}
	_, err = newApp(t, testConfig(t, db), ForCommand())
	var ie *IdentityError
	if !errors.As(err, &ie) || ie.Missing != "sessions" || !strings.Contains(err.Error(), "redis cache:6379/0") {
		t.Fatalf("a command without the session store: got %v, want Missing sessions", err)
	}
}

func (a *App) identityStoreForTest() identityStore { return identityStoreFor(a.durable) }

// A command never creates a database or a master key file; a failed
// server start removes what it created.
func TestNothingCreatedOnRefusal(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, filepath.Join(dir, "typo.db"))
	cfg.MasterKey = ""
	_, err := newApp(t, cfg, ForCommand())
	var nodb *NoDatabaseError
	if !errors.As(err, &nodb) || err.Error() != "no Sesame database at "+filepath.Join(dir, "typo.db")+" (run `sesame serve` once, or pass --create)" {
		t.Fatalf("got %v", err)
	}
	// A server whose issuer is missing fails after opening the database
	// and creating the key file: both are removed.
	cfg.PublicURL, cfg.Issuer = "", ""
	if _, err := newApp(t, cfg); err == nil {
		t.Fatal("a server without a public URL started")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a failed start left %v", entries)
	}
}

func TestSessionsIdentityHasNoSecret(t *testing.T) {
	cases := map[string]string{
		"":                                    "database",
		"redis://:pw-canary@cache:6379/2":     "redis cache:6379/2",
		"rediss://user:pw-canary@cache/0?x=1": "redis cache:6379/0",
		"redis+cluster://u:pw-canary@b:1,a:2": "redis-cluster a:2,b:1",
	}
	for in, want := range cases {
		if got := SessionsIdentity(in); got != want || strings.Contains(got, "pw-canary") {
			t.Errorf("SessionsIdentity(%q): got %q, want %q", in, got, want)
		}
	}
}
