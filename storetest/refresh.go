package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

func newRefresh(sess *sesame.Session, family string) *token.Refresh {
	return &token.Refresh{
		Hash: randHash(), FamilyID: family, SessionID: sess.ID, UserID: sess.UserID,
		ClientID: "app", Scope: "read write", AccessJTI: randHex(16),
		Audience:  []string{"https://api.example.com", "https://issuer.example.com/oauth2/userinfo"},
		CreatedAt: base, ExpiresAt: base.Add(7 * 24 * time.Hour), FamilyExpiresAt: base.Add(30 * 24 * time.Hour),
	}
}

func successorOf(r *token.Refresh, at time.Time) *token.Refresh {
	n := *r
	n.Hash, n.AccessJTI, n.CreatedAt, n.UsedAt = randHash(), randHex(16), at, time.Time{}
	n.ExpiresAt = at.Add(7 * 24 * time.Hour)
	return &n
}

func sameRefresh(t *testing.T, got, want *token.Refresh) {
	t.Helper()
	g, w := *got, *want
	for _, p := range []struct {
		name string
		a, b time.Time
	}{{"CreatedAt", g.CreatedAt, w.CreatedAt}, {"ExpiresAt", g.ExpiresAt, w.ExpiresAt},
		{"FamilyExpiresAt", g.FamilyExpiresAt, w.FamilyExpiresAt}, {"UsedAt", g.UsedAt, w.UsedAt}} {
		if !p.a.Equal(p.b) {
			t.Fatalf("refresh %s: got %v, want %v", p.name, p.a, p.b)
		}
	}
	if !sameStrings(g.Audience, w.Audience) {
		t.Fatalf("refresh Audience: got %q, want %q", g.Audience, w.Audience)
	}
	type scalars struct {
		Hash                                                    [32]byte
		FamilyID, SessionID, UserID, ClientID, Scope, AccessJTI string
	}
	sc := func(r *token.Refresh) scalars {
		return scalars{r.Hash, r.FamilyID, r.SessionID, r.UserID, r.ClientID, r.Scope, r.AccessJTI}
	}
	if sc(&g) != sc(&w) {
		t.Fatalf("refresh: got %+v, want %+v", g, w)
	}
}

func mustRefresh(t *testing.T, s Stores, h [32]byte) *token.Refresh {
	t.Helper()
	r, err := s.Refresh.RefreshByHash(ctx(), h)
	must(t, "RefreshByHash", err)
	return r
}

func testRefreshCreateAndRead(t *testing.T, s Stores) {
	sess := create(t, s.Sessions, newSession("u1"))
	r := newRefresh(sess, randHex(16))
	must(t, "CreateRefresh", s.Refresh.CreateRefresh(ctx(), r))
	got, err := s.Refresh.RefreshByHash(ctx(), r.Hash)
	must(t, "RefreshByHash", err)
	sameRefresh(t, got, r)
	got.UserID, got.Audience[0] = "mallory", "https://evil.example"
	again, err := s.Refresh.RefreshByHash(ctx(), r.Hash)
	must(t, "RefreshByHash", err)
	sameRefresh(t, again, r)
	want := *r
	want.Audience = slices.Clone(r.Audience)
	r.Audience[1] = "https://evil.example" // the store copied it in
	sameRefresh(t, mustRefresh(t, s, r.Hash), &want)
	// A first-party token: no audience.
	fp := newRefresh(sess, randHex(16))
	fp.Audience = nil
	must(t, "CreateRefresh(no audience)", s.Refresh.CreateRefresh(ctx(), fp))
	sameRefresh(t, mustRefresh(t, s, fp.Hash), fp)
	_, err = s.Refresh.RefreshByHash(ctx(), randHash())
	wantNotFound(t, "RefreshByHash(unknown)", err)
	dup := newRefresh(sess, randHex(16))
	dup.Hash = r.Hash
	if err := s.Refresh.CreateRefresh(ctx(), dup); err == nil {
		t.Fatal("CreateRefresh with a duplicate hash: got nil error")
	}
}

func testRefreshRedeem(t *testing.T, s Stores) {
	sess := create(t, s.Sessions, newSession("u1"))
	r := newRefresh(sess, randHex(16))
	must(t, "CreateRefresh", s.Refresh.CreateRefresh(ctx(), r))
	at := base.Add(time.Hour)
	next := successorOf(r, at)
	next.Audience = r.Audience[1:] // a refresh may narrow the audience
	must(t, "RedeemRefresh", s.Refresh.RedeemRefresh(ctx(), r.Hash, at, next))
	old, err := s.Refresh.RefreshByHash(ctx(), r.Hash)
	must(t, "RefreshByHash(redeemed)", err)
	if !old.UsedAt.Equal(at) {
		t.Fatalf("UsedAt of the redeemed token: got %v, want %v", old.UsedAt, at)
	}
	got, err := s.Refresh.RefreshByHash(ctx(), next.Hash)
	must(t, "RefreshByHash(successor)", err)
	sameRefresh(t, got, next)
	again := successorOf(r, at.Add(time.Second))
	if err := s.Refresh.RedeemRefresh(ctx(), r.Hash, at.Add(time.Second), again); !errors.Is(err, sesame.ErrConflict) {
		t.Fatalf("second redemption: got %v, want sesame.ErrConflict", err)
	}
	if _, err := s.Refresh.RefreshByHash(ctx(), again.Hash); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("a losing redemption inserted its successor: got %v, want not found", err)
	}
	if old, _ := s.Refresh.RefreshByHash(ctx(), r.Hash); !old.UsedAt.Equal(at) {
		t.Fatalf("a losing redemption changed UsedAt to %v", old.UsedAt)
	}
	err = s.Refresh.RedeemRefresh(ctx(), randHash(), at, successorOf(r, at))
	wantNotFound(t, "RedeemRefresh(unknown)", err)
}

// SEC-30: N concurrent redemptions of one token, exactly one success.
func testRefreshConcurrentRedeem(t *testing.T, s Stores) {
	sess := create(t, s.Sessions, newSession("u1"))
	r := newRefresh(sess, randHex(16))
	must(t, "CreateRefresh", s.Refresh.CreateRefresh(ctx(), r))
	const n = 32
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Refresh.RedeemRefresh(ctx(), r.Hash, base.Add(time.Minute), successorOf(r, base.Add(time.Minute)))
			switch {
			case err == nil:
				mu.Lock()
				wins++
				mu.Unlock()
			case !errors.Is(err, sesame.ErrConflict):
				t.Errorf("concurrent RedeemRefresh: got %v, want nil or ErrConflict", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent redemptions: got %d successes, want exactly 1", n, wins)
	}
}

func testRefreshDeleteFamily(t *testing.T, s Stores) {
	sess := create(t, s.Sessions, newSession("u1"))
	fam := randHex(16)
	r := newRefresh(sess, fam)
	must(t, "CreateRefresh", s.Refresh.CreateRefresh(ctx(), r))
	next := successorOf(r, base.Add(time.Minute))
	must(t, "RedeemRefresh", s.Refresh.RedeemRefresh(ctx(), r.Hash, base.Add(time.Minute), next))
	other := newRefresh(sess, randHex(16))
	must(t, "CreateRefresh(other family)", s.Refresh.CreateRefresh(ctx(), other))
	must(t, "DeleteFamily", s.Refresh.DeleteFamily(ctx(), fam))
	for name, h := range map[string][32]byte{"first": r.Hash, "successor": next.Hash} {
		_, err := s.Refresh.RefreshByHash(ctx(), h)
		wantNotFound(t, "RefreshByHash("+name+") after DeleteFamily", err)
	}
	if _, err := s.Refresh.RefreshByHash(ctx(), other.Hash); err != nil {
		t.Fatalf("another family's token after DeleteFamily: %v", err)
	}
	must(t, "DeleteFamily again", s.Refresh.DeleteFamily(ctx(), fam))
	err := s.Refresh.RedeemRefresh(ctx(), next.Hash, base.Add(2*time.Minute), successorOf(next, base.Add(2*time.Minute)))
	wantNotFound(t, "RedeemRefresh of a deleted family's token", err)
}

// No refresh token outlives its session.
func testRefreshDeletedWithSession(t *testing.T, s Stores) {
	a := create(t, s.Sessions, newSession("alice"))
	b := create(t, s.Sessions, newSession("alice"))
	c := create(t, s.Sessions, newSession("alice"))
	keep := create(t, s.Sessions, newSession("alice"))
	tokens := map[string]*token.Refresh{}
	for _, sess := range []*sesame.Session{a, b, c, keep} {
		r := newRefresh(sess, randHex(16))
		must(t, "CreateRefresh", s.Refresh.CreateRefresh(ctx(), r))
		tokens[sess.ID] = r
	}
	_, err := s.Sessions.Delete(ctx(), a.ID)
	must(t, "Delete", err)
	_, err = s.Refresh.RefreshByHash(ctx(), tokens[a.ID].Hash)
	wantNotFound(t, "refresh token of a deleted session", err)
	_, err = s.Sessions.DeleteByUser(ctx(), "alice", keep.ID)
	must(t, "DeleteByUser", err)
	for _, sess := range []*sesame.Session{b, c} {
		_, err = s.Refresh.RefreshByHash(ctx(), tokens[sess.ID].Hash)
		wantNotFound(t, "refresh token of a session deleted by DeleteByUser", err)
	}
	if _, err := s.Refresh.RefreshByHash(ctx(), tokens[keep.ID].Hash); err != nil {
		t.Fatalf("refresh token of the kept session: %v", err)
	}
	if cl, ok := s.Sessions.(session.Cleaner); ok {
		_, err := cl.DeleteExpired(ctx(), keep.ExpiresAt, time.Hour, 100)
		must(t, "DeleteExpired", err)
		_, err = s.Refresh.RefreshByHash(ctx(), tokens[keep.ID].Hash)
		wantNotFound(t, "refresh token of an expired, cleaned session", err)
	}
}

func testRefreshCleaner(t *testing.T, s Stores) {
	cl, ok := s.Sessions.(session.Cleaner)
	if !ok {
		t.Skip("store does not implement session.Cleaner")
	}
	sess := newSession("u1")
	sess.IdleTimeout, sess.ExpiresAt = 100*24*time.Hour, base.Add(100*24*time.Hour)
	create(t, s.Sessions, sess)
	expired := newRefresh(sess, randHex(16))
	expired.ExpiresAt = base.Add(time.Hour)
	live := newRefresh(sess, randHex(16))
	must(t, "CreateRefresh", s.Refresh.CreateRefresh(ctx(), expired))
	must(t, "CreateRefresh", s.Refresh.CreateRefresh(ctx(), live))
	_, err := cl.DeleteExpired(ctx(), base.Add(time.Hour), time.Hour, 100)
	must(t, "DeleteExpired", err)
	_, err = s.Refresh.RefreshByHash(ctx(), expired.Hash)
	wantNotFound(t, "expired refresh token after DeleteExpired", err)
	if _, err := s.Refresh.RefreshByHash(ctx(), live.Hash); err != nil {
		t.Fatalf("live refresh token after DeleteExpired: %v", err)
	}
}
