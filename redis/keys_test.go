package redis_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/redis"
	"github.com/sesame-auth/sesame/token"
)

func newSession(uid string, now time.Time) *sesame.Session {
	var h [32]byte
	rand.Read(h[:])
	return &sesame.Session{ID: randomHex(16), UserID: uid, TokenHash: h, CreatedAt: now, LastSeen: now,
		AuthTime: now, IdleTimeout: 30 * time.Minute, ExpiresAt: now.Add(12 * time.Hour)}
}

func newRefresh(s *sesame.Session, now time.Time) *token.Refresh {
	var h [32]byte
	rand.Read(h[:])
	return &token.Refresh{Hash: h, FamilyID: randomHex(8), SessionID: s.ID, UserID: s.UserID, ClientID: "app",
		CreatedAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour), FamilyExpiresAt: now.Add(30 * 24 * time.Hour)}
}

func TestTTLs(t *testing.T)        { testTTLs(t, single(t)) }
func TestClusterTTLs(t *testing.T) { testTTLs(t, cluster(t)) }

// Every key the adapter writes has a TTL, except the feed's Seq counter
// (Seqs must never be reused); a session's record lives until its deadline
// plus the slack.
func testTTLs(t *testing.T, d deployment) {
	t.Parallel()
	ctx := context.Background()
	prefix := newPrefix(t, d)
	const slack = 10 * time.Minute
	s, err := redis.New(d.client(t, ""), redis.Options{Prefix: prefix, Slack: slack})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sess := newSession("alice", now)
	must(t, s.Create(ctx, sess))
	must(t, s.Touch(ctx, sess.ID, now.Add(time.Second)))
	sess.PrevTokenHash, sess.TokenHash[0] = sess.TokenHash, sess.TokenHash[0]+1
	must(t, s.Update(ctx, sess))
	r := newRefresh(sess, now)
	must(t, s.CreateRefresh(ctx, r))
	next := newRefresh(sess, now)
	must(t, s.RedeemRefresh(ctx, r.Hash, now, next))
	other := newSession("alice", now)
	must(t, s.Create(ctx, other))
	_, err = s.Delete(ctx, other.ID)
	must(t, err)
	_, err = s.Fail(ctx, now, guard.Counter{Key: "ip:192.0.2.1", Window: time.Minute})
	must(t, err)

	c := s.Client()
	ks := keys(t, c, prefix)
	if len(ks) < 10 {
		t.Fatalf("found %d keys under %s: want at least 10 (%v)", len(ks), prefix, ks)
	}
	for _, k := range ks {
		ttl, err := c.PTTL(ctx, k).Result()
		must(t, err)
		switch {
		case k == prefix+"{feed}:seq":
			if ttl != -1 {
				t.Errorf("%s: got TTL %v, want none (Seqs are never reused)", k, ttl)
			}
		case ttl <= 0:
			t.Errorf("%s: got TTL %v, want a positive TTL", k, ttl)
		}
	}
	rec := prefix + "{u:alice}:s:" + sess.ID
	ttl, err := c.PTTL(ctx, rec).Result()
	must(t, err)
	// Deadline: LastSeen + 30 min idle, so the record lives 30 min + slack.
	if want := 30*time.Minute + slack; ttl > want || ttl < want-time.Minute {
		t.Errorf("session record TTL: got %v, want about %v", ttl, want)
	}
}

func TestCrashOrdering(t *testing.T)        { testCrashOrdering(t, single(t)) }
func TestClusterCrashOrdering(t *testing.T) { testCrashOrdering(t, cluster(t)) }

// A crash after the record was deleted but before its indexes were leaves
// indexes that resolve to nothing: the session and its refresh tokens are
// not found, never alive.
func testCrashOrdering(t *testing.T, d deployment) {
	t.Parallel()
	ctx := context.Background()
	prefix := newPrefix(t, d)
	s := d.store(t, prefix)
	now := time.Now()
	sess := newSession("bob", now)
	must(t, s.Create(ctx, sess))
	r := newRefresh(sess, now)
	must(t, s.CreateRefresh(ctx, r))
	must(t, s.Client().Del(ctx, prefix+"{u:bob}:s:"+sess.ID).Err()) // the authoritative record only
	if _, err := s.ByToken(ctx, sess.TokenHash); !errors.Is(err, sesame.ErrNotFound) {
		t.Errorf("ByToken with a dangling index: got %v, want ErrNotFound", err)
	}
	if _, err := s.ByID(ctx, sess.ID); !errors.Is(err, sesame.ErrNotFound) {
		t.Errorf("ByID with a dangling index: got %v, want ErrNotFound", err)
	}
	if _, err := s.RefreshByHash(ctx, r.Hash); !errors.Is(err, sesame.ErrNotFound) {
		t.Errorf("RefreshByHash of a token whose session is gone: got %v, want ErrNotFound", err)
	}
	if err := s.RedeemRefresh(ctx, r.Hash, now, newRefresh(sess, now)); !errors.Is(err, sesame.ErrNotFound) {
		t.Errorf("RedeemRefresh of a token whose session is gone: got %v, want ErrNotFound", err)
	}
	if deleted, err := s.Delete(ctx, sess.ID); err != nil || deleted {
		t.Errorf("Delete of a session whose record is gone: got %v, %v, want false, nil", deleted, err)
	}
	if err := s.CreateRefresh(ctx, newRefresh(sess, now)); err == nil {
		t.Error("CreateRefresh for a missing session: got nil error, want one")
	}
}

func TestUserIDs(t *testing.T)        { testUserIDs(t, single(t)) }
func TestClusterUserIDs(t *testing.T) { testUserIDs(t, cluster(t)) }

// User IDs go into hash tags: IDs with braces, colons, spaces or the
// escape marker keep their sessions apart and in one slot. (The empty ID
// is an anonymous session's, which belongs to no user: storetest's
// AnonymousSession covers it.)
func testUserIDs(t *testing.T, d deployment) {
	t.Parallel()
	ctx := context.Background()
	s := d.store(t, "")
	now := time.Now()
	ids := []string{"a", "a}", "a}:s:x", "~a", "~" + "617d", "{u:a}", "with space", "ü"}
	for _, uid := range ids {
		for range 2 {
			sess := newSession(uid, now)
			must(t, s.Create(ctx, sess))
			must(t, s.CreateRefresh(ctx, newRefresh(sess, now)))
		}
	}
	for _, uid := range ids {
		list, err := s.ListByUser(ctx, uid)
		must(t, err)
		if len(list) != 2 {
			t.Fatalf("ListByUser(%q): got %d sessions, want 2", uid, len(list))
		}
		for _, x := range list {
			if x.UserID != uid {
				t.Fatalf("ListByUser(%q): got a session of %q", uid, x.UserID)
			}
		}
	}
	for _, uid := range ids {
		gone, err := s.DeleteByUser(ctx, uid, "")
		must(t, err)
		if len(gone) != 2 {
			t.Fatalf("DeleteByUser(%q): got %d, want 2", uid, len(gone))
		}
	}
	changes, _, err := s.Changes(ctx, 0, 100)
	must(t, err)
	if len(changes) != 2*len(ids) {
		t.Fatalf("changes: got %d, want %d", len(changes), 2*len(ids))
	}
	for i, c := range changes {
		if want := ids[i/2]; c.UserID != want {
			t.Fatalf("change %d: got user %q, want %q", i, c.UserID, want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkByToken(b *testing.B) {
	d := single(b)
	ctx := context.Background()
	s := d.store(b, "")
	sess := newSession("bench", time.Now())
	if err := s.Create(ctx, sess); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.ByToken(ctx, sess.TokenHash); err != nil {
			b.Fatal(err)
		}
	}
}
