package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// A refresh token written before migration 0008 (no audience column)
// reads back with no audience after the upgrade.
func TestRefreshAudienceMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if err := createPrivate(path); err != nil {
		t.Fatal(err)
	}
	w, err := openPool(path, writerParams, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, w, ms[:7]); err != nil {
		t.Fatalf("migrate to 0007: %v", err)
	}
	var h [32]byte
	h[0] = 7
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	if _, err := w.Exec(`PRAGMA foreign_keys = OFF`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(`INSERT INTO refresh_tokens (hash, family_id, session_id, user_id, client_id, scope, access_jti,
		created_at, expires_at, family_expires_at, used_at) VALUES (?, 'fam', 'sid', 'u1', 'sesame', 'openid', 'jti', ?, ?, ?, NULL)`,
		h[:], nanos(at), nanos(at.Add(time.Hour)), nanos(at.Add(24*time.Hour))); err != nil {
		t.Fatalf("insert an old refresh token: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open (upgrade): %v", err)
	}
	defer db.Close()
	r, err := db.RefreshByHash(ctx, h)
	if err != nil {
		t.Fatalf("RefreshByHash after the upgrade: %v", err)
	}
	if r.Audience != nil || r.ClientID != "sesame" || !r.ExpiresAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("old refresh token after the upgrade: got %+v", *r)
	}
}
