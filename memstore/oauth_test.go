package memstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/storetest"
)

func TestOAuthConformance(t *testing.T) {
	storetest.RunOAuth(t, func(t *testing.T) oauth.Store { return memstore.New() })
}

// DeleteExpired, the session.Cleaner that RunCleanup calls, also removes
// expired authorization codes and used keys, as DeleteExpiredOAuth does.
func TestOAuthDeleteExpired(t *testing.T) {
	db := memstore.New()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	expired := &oauth.Code{Hash: [32]byte{1}, ClientID: "wiki", CreatedAt: now.Add(-time.Minute), ExpiresAt: now}
	live := &oauth.Code{Hash: [32]byte{2}, ClientID: "wiki", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	for _, c := range []*oauth.Code{expired, live} {
		if err := db.CreateCode(context.Background(), c); err != nil {
			t.Fatalf("CreateCode: %v", err)
		}
	}
	if err := db.UseOnce(context.Background(), "old", now); err != nil {
		t.Fatalf("UseOnce: %v", err)
	}
	if err := db.UseOnce(context.Background(), "new", now.Add(time.Second)); err != nil {
		t.Fatalf("UseOnce: %v", err)
	}
	if _, err := db.DeleteExpired(context.Background(), now, time.Hour, 10); err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	if _, err := db.RedeemCode(context.Background(), expired.Hash, now); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("expired code after DeleteExpired: got %v, want ErrNotFound", err)
	}
	if _, err := db.RedeemCode(context.Background(), live.Hash, now); err != nil {
		t.Fatalf("live code after DeleteExpired: %v", err)
	}
	if err := db.UseOnce(context.Background(), "old", now.Add(time.Minute)); err != nil {
		t.Fatalf("an expired key after DeleteExpired: %v", err)
	}
	if err := db.UseOnce(context.Background(), "new", now.Add(time.Minute)); sesame.ErrorCode(err) != sesame.EConflict {
		t.Fatalf("a live key after DeleteExpired: got %v, want EConflict", err)
	}
}
