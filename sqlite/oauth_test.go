package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/sqlite"
)

// openTwo opens two handles on one database file, as two processes
// (two `sesame serve` on one host) would.
func openTwo(t *testing.T) [2]*sqlite.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shared.db")
	var dbs [2]*sqlite.DB
	for i := range dbs {
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs
}

// Dispatchers of two processes never claim the same logout target: each
// claim is one write transaction, which SQLite runs alone.
func TestOAuthClaimLogoutsTwoProcesses(t *testing.T) {
	dbs := openTwo(t)
	const targets = 200
	var ids []string
	for i := range targets {
		id := fmt.Sprintf("s%03d", i)
		ids = append(ids, id)
		if err := dbs[i%2].AddLogoutTarget(ctx, &oauth.LogoutTarget{SessionID: id, ClientID: "wiki", UserID: "u", CreatedAt: base}); err != nil {
			t.Fatalf("AddLogoutTarget: %v", err)
		}
	}
	if n, err := dbs[1].SessionsEnded(ctx, ids, base); err != nil || n != targets {
		t.Fatalf("SessionsEnded: got %d, %v; want %d", n, err, targets)
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	start := make(chan struct{})
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				got, err := dbs[w%2].ClaimLogouts(ctx, base, base.Add(time.Hour), 3)
				if err != nil {
					t.Errorf("ClaimLogouts: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, x := range got {
					seen[x.SessionID]++
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(seen) != targets {
		t.Fatalf("claimed %d distinct targets, want %d", len(seen), targets)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("target %s claimed %d times", id, n)
		}
	}
}

// SEC-58: one code redeemed through two processes at once, one winner.
func TestOAuthRedeemCodeTwoProcesses(t *testing.T) {
	dbs := openTwo(t)
	c := &oauth.Code{Hash: [32]byte{1, 2, 3}, ClientID: "wiki", UserID: "u", SessionID: "s",
		RedirectURI: "https://wiki.example.com/cb", CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
	if err := dbs[0].CreateCode(ctx, c); err != nil {
		t.Fatalf("CreateCode: %v", err)
	}
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = dbs[i%2].RedeemCode(ctx, c.Hash, base.Add(time.Duration(i)*time.Second))
		}()
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, sesame.ErrConflict):
			t.Fatalf("RedeemCode: got %v, want nil or ErrConflict", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d redemptions through two processes: %d succeeded, want 1", n, wins)
	}
}

// DeleteExpired, the session.Cleaner that RunCleanup calls, also removes
// expired authorization codes and used keys, as DeleteExpiredOAuth does.
func TestOAuthDeleteExpired(t *testing.T) {
	db := openTemp(t)
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
