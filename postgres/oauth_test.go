package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/postgres"
)

// Text PostgreSQL cannot store: a write is EInvalid, a lookup finds
// nothing, a delivery error is stored with the bad bytes replaced, and a
// used key may hold any bytes.
func TestOAuthUnstorableText(t *testing.T) {
	db := openTest(t)
	err := db.CreateClient(ctx, &oauth.Client{ID: "wiki", Name: "bad\x00name", CreatedAt: base})
	if sesame.ErrorCode(err) != sesame.EInvalid {
		t.Fatalf("CreateClient with NUL in the name: got %v, want EInvalid", err)
	}
	for _, id := range []string{"\xff", "a\x00b"} {
		if _, err := db.Client(ctx, id); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("Client(%q): got %v, want ErrNotFound", id, err)
		}
		if _, err := db.Consent(ctx, id, id); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("Consent(%q): got %v, want ErrNotFound", id, err)
		}
		must(t, "DeleteClient", db.DeleteClient(ctx, id))
		must(t, "DeleteLogout", db.DeleteLogout(ctx, id, id))
	}
	n, err := db.SessionsEnded(ctx, []string{"\xff", "a\x00b"}, base)
	if err != nil || n != 0 {
		t.Fatalf("SessionsEnded(unstorable IDs): got %d, %v", n, err)
	}

	must(t, "AddLogoutTarget", db.AddLogoutTarget(ctx, &oauth.LogoutTarget{SessionID: "s1", ClientID: "wiki", UserID: "u", CreatedAt: base}))
	_, err = db.SessionsEnded(ctx, []string{"s1", "\xff"}, base)
	must(t, "SessionsEnded", err)
	must(t, "RetryLogout", db.RetryLogout(ctx, "s1", "wiki", base, "dial: \x00\xff bad"))
	got, err := db.ClaimLogouts(ctx, base, base.Add(time.Minute), 10)
	must(t, "ClaimLogouts", err)
	if len(got) != 1 || got[0].LastError != "dial: \uFFFD\uFFFD bad" {
		t.Fatalf("ClaimLogouts: got %+v, want s1/wiki with the error's bad bytes replaced", got)
	}

	key := "private_key_jwt\x00wiki\x00\xff\xfe"
	must(t, "UseOnce", db.UseOnce(ctx, key, base))
	if err := db.UseOnce(ctx, key, base); sesame.ErrorCode(err) != sesame.EConflict {
		t.Fatalf("UseOnce(replay): got %v, want EConflict", err)
	}
}

// DeleteExpired, the session.Cleaner that RunCleanup calls, also removes
// expired authorization codes and used keys, as DeleteExpiredOAuth does.
func TestOAuthDeleteExpired(t *testing.T) {
	db := openTest(t)
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

// Dispatchers on two nodes (two pools on one database) never claim the
// same logout target, and a code redeemed on both is redeemed once.
func TestOAuthTwoNodes(t *testing.T) {
	schema := newSchema(t)
	a, b := openSchema(t, testURL(t), schema), openSchema(t, testURL(t), schema)
	nodes := []*postgres.DB{a, b}
	const targets = 300
	var ids []string
	for i := range targets {
		id := fmt.Sprintf("s%03d", i)
		ids = append(ids, id)
		must(t, "AddLogoutTarget", nodes[i%2].AddLogoutTarget(ctx, &oauth.LogoutTarget{SessionID: id, ClientID: "wiki", UserID: "u", CreatedAt: base}))
	}
	if n, err := b.SessionsEnded(ctx, ids, base); err != nil || n != targets {
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
				got, err := nodes[w%2].ClaimLogouts(ctx, base, base.Add(time.Hour), 3)
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

	c := &oauth.Code{Hash: [32]byte{9}, ClientID: "wiki", CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
	must(t, "CreateCode", a.CreateCode(ctx, c))
	const n = 16
	errs := make([]error, n)
	start = make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = nodes[i%2].RedeemCode(ctx, c.Hash, base.Add(time.Duration(i)*time.Second))
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
		t.Fatalf("%d redemptions on two nodes: %d succeeded, want 1", n, wins)
	}
}
