package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/sqlite"
	"github.com/sesame-auth/sesame/storetest"
)

func TestKeysConformance(t *testing.T) {
	storetest.RunKeys(t, func(t *testing.T) keyring.Store { return openTemp(t) })
}

// A ring over the database survives a restart, and a rotation made through
// another connection (the CLI) reaches a running ring on Reload.
func TestKeysRingRestartAndRotate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sesame.db")
	master, err := keyring.CreateMasterKeyFile(filepath.Join(filepath.Dir(path), "sesame.key"))
	must(t, "CreateMasterKeyFile", err)
	clock := testclock.New(base)
	cfg := keyring.Config{Alg: "ES256", Clock: clock} // one key at a time, as the test counts them

	db1, err := sqlite.Open(ctx, path)
	must(t, "Open", err)
	defer db1.Close()
	server, err := keyring.Open(ctx, db1, master, cfg)
	must(t, "keyring.Open", err)
	first := server.SigningKey().KID()

	db2, err := sqlite.Open(ctx, path)
	must(t, "Open", err)
	restarted, err := keyring.Open(ctx, db2, master, cfg)
	must(t, "keyring.Open again", err)
	if got := restarted.SigningKey().KID(); got != first {
		t.Fatalf("after restart: got kid %s, want %s", got, first)
	}
	info, err := restarted.Rotate(ctx)
	must(t, "Rotate", err)
	must(t, "Close", db2.Close())

	must(t, "Reload", server.Reload(ctx))
	if _, err := server.ResolveKey(info.KID); err != nil {
		t.Fatalf("server after Reload: %v", err)
	}
	clock.Set(info.ActivateAt)
	if got := server.SigningKey().KID(); got != info.KID {
		t.Fatalf("at activation: got %s, want %s", got, info.KID)
	}
	clock.Set(info.ActivateAt.Add(time.Hour))
	must(t, "Reload", server.Reload(ctx))
	recs, err := db1.ListKeys(ctx)
	must(t, "ListKeys", err)
	if len(recs) != 1 || recs[0].KID != info.KID {
		t.Fatalf("after the old key expired: got %d records, want only %s", len(recs), info.KID)
	}
}
