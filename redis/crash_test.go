package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/redis"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// SEC-66: a process killed between any two steps of a multi-step write
// leaves a state from which the client's retry succeeds exactly once, with
// no orphan key and never two successors. The adapter's test hook ends a
// write after a chosen step, as a SIGKILL would; the retry then goes
// through another Store on the same Redis (another process), by way of the
// real session manager and token service.

var errCrash = errors.New("injected crash")

const crashGrace = 10 * time.Second

// crashRig is two "processes" on one Redis and one key prefix: crashing,
// whose Store dies after the armed step, and clean, which retries.
type crashRig struct {
	t      *testing.T
	ctx    context.Context
	prefix string
	clock  *testclock.Clock
	raw    goredis.UniversalClient

	crashing, clean    *redis.Store
	crashMgr, cleanMgr *session.Manager
	crashSvc, cleanSvc *token.Service
	mu                 sync.Mutex
	armed              string // the step to die after; "" records only
	crashed            bool
	seen               []string
}

func newCrashRig(t *testing.T, d deployment) *crashRig {
	t.Helper()
	r := &crashRig{t: t, ctx: context.Background(), prefix: newPrefix(t, d),
		clock: testclock.New(time.Now().UTC().Truncate(time.Millisecond))}
	r.raw = d.client(t, "")
	r.crashing, r.clean = d.store(t, r.prefix), d.store(t, r.prefix)
	redis.SetCrashAfter(r.crashing, r.hook)
	key, err := jose.GenerateKey(jose.ES256, "")
	must(t, err)
	keys, err := jose.NewKeySet(key)
	must(t, err)
	successorKey := []byte(randomHex(32))
	build := func(st *redis.Store) (*session.Manager, *token.Service) {
		m, err := session.New(st, session.Config{Clock: r.clock,
			RememberIdleTimeout: 7 * 24 * time.Hour, RememberLifetime: 30 * 24 * time.Hour})
		must(t, err)
		svc, err := token.New(token.Config{Issuer: "https://auth.test", Keys: keys, SuccessorKey: successorKey,
			Store: st, Sessions: m, Clock: r.clock, Grace: crashGrace})
		must(t, err)
		return m, svc
	}
	r.crashMgr, r.crashSvc = build(r.crashing)
	r.cleanMgr, r.cleanSvc = build(r.clean)
	return r
}

// hook is the crashing Store's crashAfter: once the armed step is done,
// that write and every later step of the process fail.
func (r *crashRig) hook(step string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.crashed {
		return errCrash
	}
	r.seen = append(r.seen, step)
	if step == r.armed {
		r.crashed = true
		return errCrash
	}
	return nil
}

// arm makes the crashing process die after step ("" only records the
// steps it passes).
func (r *crashRig) arm(step string) {
	r.mu.Lock()
	r.armed, r.crashed, r.seen = step, false, nil
	r.mu.Unlock()
}

// steps returns the steps passed since arm, and whether it died.
func (r *crashRig) steps() ([]string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...), r.crashed
}

// login creates a remembered session for user and its first token pair,
// through the clean process.
func (r *crashRig) login(user string) (*sesame.Session, *token.Pair) {
	r.t.Helper()
	sess, err := r.cleanMgr.StartTokenSession(r.ctx, user, session.LoginOptions{Remember: true})
	must(r.t, err)
	p, err := r.cleanSvc.Issue(r.ctx, sess, "app", "read")
	must(r.t, err)
	return sess, p
}

// jti returns the ID of an access token (read without verification: the
// test compares what the service issued).
func jti(t *testing.T, at string) string {
	t.Helper()
	parts := strings.Split(at, ".")
	if len(parts) != 3 {
		t.Fatalf("access token with %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(t, err)
	var c struct {
		ID string `json:"jti"`
	}
	must(t, json.Unmarshal(b, &c))
	return c.ID
}

// crashEvery runs a multi-step write once with the hook recording, to
// learn its steps (those named kind:...), then once per step on a fresh
// rig: setup prepares the state through the clean process, write runs on
// the crashing process, which dies after the step (write must fail), and
// check retries through the clean process and checks the outcome.
func crashEvery[S any](t *testing.T, d deployment, kind string, setup func(r *crashRig) S,
	write func(r *crashRig, st S) error, check func(t *testing.T, r *crashRig, st S, step string)) {
	t.Helper()
	r := newCrashRig(t, d)
	st := setup(r)
	r.arm("")
	if err := write(r, st); err != nil {
		t.Fatalf("%s without a crash: %v", kind, err)
	}
	seen, _ := r.steps()
	var steps []string
	for _, s := range seen {
		if strings.HasPrefix(s, kind+":") {
			steps = append(steps, s)
		}
	}
	if len(steps) < 2 {
		t.Fatalf("%s passed the steps %v: want at least two of its own (is the hook wired?)", kind, seen)
	}
	t.Logf("%s steps: %v", kind, steps)
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			r := newCrashRig(t, d)
			st := setup(r)
			r.arm(step)
			if err := write(r, st); err == nil {
				t.Fatalf("the write that died after %s returned no error", step)
			}
			if _, died := r.steps(); !died {
				t.Fatalf("the process did not reach %s", step)
			}
			check(t, r, st, step)
		})
	}
}

func TestCrashRedeem(t *testing.T)        { testCrashRedeem(t, single(t)) }
func TestClusterCrashRedeem(t *testing.T) { testCrashRedeem(t, cluster(t)) }

// SEC-66 (and SEC-29/30): a refresh whose process dies after any step of
// the redemption. The client's retry on another process within the grace
// gets the successor pair; a second retry gets the same pair; the family
// has one successor, no key is left without its record, the successor
// keeps the family going, and after the grace the old token is reuse,
// which revokes the family and the session.
func testCrashRedeem(t *testing.T, d deployment) {
	t.Parallel()
	type state struct {
		sess *sesame.Session
		p    *token.Pair
	}
	crashEvery(t, d, "redeem", func(r *crashRig) state {
		sess, p := r.login("alice")
		r.clock.Add(time.Minute)
		return state{sess, p}
	}, func(r *crashRig, st state) error {
		_, err := r.crashSvc.Refresh(r.ctx, st.p.RefreshToken, "", "")
		return err
	}, func(t *testing.T, r *crashRig, st state, step string) {
		r.clock.Add(time.Second)
		q1, err := r.cleanSvc.Refresh(r.ctx, st.p.RefreshToken, "", "")
		if err != nil {
			t.Fatalf("retry within the grace after a crash after %s: %v (the family is stranded)", step, err)
		}
		r.clock.Add(time.Second)
		q2, err := r.cleanSvc.Refresh(r.ctx, st.p.RefreshToken, "", "")
		if err != nil {
			t.Fatalf("second retry within the grace: %v", err)
		}
		if q2.RefreshToken != q1.RefreshToken || jti(t, q2.AccessToken) != jti(t, q1.AccessToken) {
			t.Fatal("two retries within the grace got different pairs")
		}
		r.wantFamilies("alice", 2)
		r.wantNoOrphans("after the retries", false)

		r.clock.Add(time.Second)
		q3, err := r.cleanSvc.Refresh(r.ctx, q1.RefreshToken, "", "")
		if err != nil {
			t.Fatalf("refresh with the successor: %v", err)
		}
		r.clock.Add(crashGrace)
		if _, err := r.cleanSvc.Refresh(r.ctx, st.p.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
			t.Fatalf("the crashed token after the grace: got %v, want reuse (invalid_grant)", err)
		}
		if _, err := r.cleanMgr.Lookup(r.ctx, st.sess.ID); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("the session after refresh-token reuse: got %v, want it revoked", err)
		}
		if _, err := r.cleanSvc.Refresh(r.ctx, q3.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
			t.Fatalf("the family's newest token after reuse: got %v, want invalid_grant", err)
		}
		r.wantNoOrphans("after reuse", false)
		r.wantUserGone("alice")
	})
}

func TestCrashCreate(t *testing.T)        { testCrashCreate(t, single(t)) }
func TestClusterCrashCreate(t *testing.T) { testCrashCreate(t, cluster(t)) }

// SEC-66: a login whose process dies after any step of the session's
// creation. What it leaves blocks nothing: the client's next login works,
// its tokens refresh, every index left is a claim that expires within
// claimTTL or reaches its session, and revoking the user removes it all.
func testCrashCreate(t *testing.T, d deployment) {
	t.Parallel()
	crashEvery(t, d, "create", func(r *crashRig) struct{} { return struct{}{} }, func(r *crashRig, _ struct{}) error {
		_, err := r.crashMgr.StartTokenSession(r.ctx, "alice", session.LoginOptions{Remember: true})
		return err
	}, func(t *testing.T, r *crashRig, _ struct{}, step string) {
		r.wantNoOrphans("after the crash", true)
		_, p := r.login("alice")
		r.clock.Add(time.Minute)
		if _, err := r.cleanSvc.Refresh(r.ctx, p.RefreshToken, "", ""); err != nil {
			t.Fatalf("refresh after a login that followed a crash after %s: %v", step, err)
		}
		r.wantNoOrphans("after the next login", true)
		if _, err := r.cleanMgr.RevokeUser(r.ctx, "alice", "", "test"); err != nil {
			t.Fatal(err)
		}
		r.wantNoOrphans("after revoking the user", false)
		r.wantUserGone("alice")
	})
}

func TestCrashIssue(t *testing.T)        { testCrashIssue(t, single(t)) }
func TestClusterCrashIssue(t *testing.T) { testCrashIssue(t, cluster(t)) }

// SEC-66: the first token of a family (CreateRefresh), the process dying
// after any step: the retry issues a working pair and nothing is left.
func testCrashIssue(t *testing.T, d deployment) {
	t.Parallel()
	crashEvery(t, d, "issue", func(r *crashRig) *sesame.Session {
		sess, err := r.cleanMgr.StartTokenSession(r.ctx, "alice", session.LoginOptions{Remember: true})
		must(r.t, err)
		return sess
	}, func(r *crashRig, sess *sesame.Session) error {
		_, err := r.crashSvc.Issue(r.ctx, sess, "app", "read")
		return err
	}, func(t *testing.T, r *crashRig, sess *sesame.Session, step string) {
		r.wantNoOrphans("after the crash", true)
		p, err := r.cleanSvc.Issue(r.ctx, sess, "app", "read")
		if err != nil {
			t.Fatalf("issue after a crash after %s: %v", step, err)
		}
		r.clock.Add(time.Minute)
		if _, err := r.cleanSvc.Refresh(r.ctx, p.RefreshToken, "", ""); err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if _, err := r.cleanMgr.RevokeUser(r.ctx, "alice", "", "test"); err != nil {
			t.Fatal(err)
		}
		r.wantNoOrphans("after revoking the user", false)
		r.wantUserGone("alice")
	})
}

func TestCrashUpdate(t *testing.T)        { testCrashUpdate(t, single(t)) }
func TestClusterCrashUpdate(t *testing.T) { testCrashUpdate(t, cluster(t)) }

// SEC-66: a renewal (a new token hash; the previous one kept, the one
// before dropped) whose process dies after any step. The next renewal
// through another process works, the dropped token is refused, and no
// index is left that resolves to nothing.
func testCrashUpdate(t *testing.T, d deployment) {
	t.Parallel()
	renew := func(sess *sesame.Session) {
		sess.PrevTokenHash = sess.TokenHash
		sess.TokenHash = randomHash()
	}
	type state struct {
		id    string
		first [32]byte // dropped by the renewal under test
	}
	crashEvery(t, d, "update", func(r *crashRig) state {
		sess := newSession("alice", r.clock.Now())
		must(r.t, r.clean.Create(r.ctx, sess))
		first := sess.TokenHash
		renew(sess)
		must(r.t, r.clean.Update(r.ctx, sess))
		return state{sess.ID, first}
	}, func(r *crashRig, st state) error {
		sess, err := r.crashing.ByID(r.ctx, st.id)
		if err != nil {
			return err
		}
		renew(sess)
		return r.crashing.Update(r.ctx, sess)
	}, func(t *testing.T, r *crashRig, st state, step string) {
		sess, err := r.clean.ByID(r.ctx, st.id)
		if err != nil {
			t.Fatalf("the session after a renewal that died after %s: %v", step, err)
		}
		renew(sess)
		if err := r.clean.Update(r.ctx, sess); err != nil {
			t.Fatalf("renewal after a crash after %s: %v", step, err)
		}
		for _, h := range [][32]byte{sess.TokenHash, sess.PrevTokenHash} {
			if _, err := r.clean.ByToken(r.ctx, h); err != nil {
				t.Fatalf("ByToken of the session's token after the retry: %v", err)
			}
		}
		if _, err := r.clean.ByToken(r.ctx, st.first); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("ByToken of a dropped token: got %v, want not found", err)
		}
		r.wantNoOrphans("after the retry", false)
		if _, err := r.clean.Delete(r.ctx, st.id); err != nil {
			t.Fatal(err)
		}
		r.wantNoOrphans("after the deletion", false)
		r.wantUserGone("alice")
	})
}

func TestCrashRevokeUser(t *testing.T)        { testCrashRevokeUser(t, single(t)) }
func TestClusterCrashRevokeUser(t *testing.T) { testCrashRevokeUser(t, cluster(t)) }

// SEC-66: revoking every session of a user (DeleteByUser), the process
// dying after any step. The retry revokes them all: every refresh token
// of the user is refused, another user's family still refreshes, and no
// key of the user is left.
func testCrashRevokeUser(t *testing.T, d deployment) {
	t.Parallel()
	type state struct {
		alice []*token.Pair
		ids   []string
		bob   *token.Pair
	}
	crashEvery(t, d, "revoke-user", func(r *crashRig) state {
		var st state
		for range 3 {
			sess, p := r.login("alice")
			st.alice, st.ids = append(st.alice, p), append(st.ids, sess.ID)
		}
		r.clock.Add(time.Minute)
		q, err := r.cleanSvc.Refresh(r.ctx, st.alice[0].RefreshToken, "", "")
		must(r.t, err)
		st.alice = append(st.alice, q)
		_, st.bob = r.login("bob")
		return st
	}, func(r *crashRig, st state) error {
		_, err := r.crashMgr.RevokeUser(r.ctx, "alice", "", "test")
		return err
	}, func(t *testing.T, r *crashRig, st state, step string) {
		if _, err := r.cleanMgr.RevokeUser(r.ctx, "alice", "", "test"); err != nil {
			t.Fatalf("retry after a crash after %s: %v", step, err)
		}
		for _, id := range st.ids {
			if _, err := r.cleanMgr.Lookup(r.ctx, id); !errors.Is(err, sesame.ErrNotFound) {
				t.Fatalf("a revoked session: got %v, want not found", err)
			}
		}
		for _, p := range st.alice {
			if _, err := r.cleanSvc.Refresh(r.ctx, p.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
				t.Fatalf("a refresh token of a revoked session: got %v, want invalid_grant", err)
			}
		}
		if _, err := r.cleanSvc.Refresh(r.ctx, st.bob.RefreshToken, "", ""); err != nil {
			t.Fatalf("another user's refresh: %v", err)
		}
		r.wantNoOrphans("after the retry", false)
		r.wantUserGone("alice")
	})
}

func TestCrashRevoke(t *testing.T)        { testCrashRevoke(t, single(t)) }
func TestClusterCrashRevoke(t *testing.T) { testCrashRevoke(t, cluster(t)) }

// SEC-66: revoking one session (Delete), the process dying after any
// step; the retry finishes it and the user's other session is untouched.
func testCrashRevoke(t *testing.T, d deployment) {
	t.Parallel()
	type state struct {
		id         string
		gone, kept *token.Pair
	}
	crashEvery(t, d, "delete", func(r *crashRig) state {
		sess, p := r.login("alice")
		_, q := r.login("alice")
		return state{sess.ID, p, q}
	}, func(r *crashRig, st state) error {
		_, err := r.crashMgr.Revoke(r.ctx, st.id, "test")
		return err
	}, func(t *testing.T, r *crashRig, st state, step string) {
		if _, err := r.cleanMgr.Revoke(r.ctx, st.id, "test"); err != nil {
			t.Fatalf("retry after a crash after %s: %v", step, err)
		}
		if _, err := r.cleanMgr.Lookup(r.ctx, st.id); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("the revoked session: got %v, want not found", err)
		}
		if _, err := r.cleanSvc.Refresh(r.ctx, st.gone.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
			t.Fatalf("the revoked session's refresh token: got %v, want invalid_grant", err)
		}
		if _, err := r.cleanSvc.Refresh(r.ctx, st.kept.RefreshToken, "", ""); err != nil {
			t.Fatalf("the other session's refresh: %v", err)
		}
		r.wantNoOrphans("after the retry", false)
	})
}

func TestCrashDeleteFamily(t *testing.T)        { testCrashDeleteFamily(t, single(t)) }
func TestClusterCrashDeleteFamily(t *testing.T) { testCrashDeleteFamily(t, cluster(t)) }

// SEC-66: deleting a refresh family, the process dying after any step.
// The retry finishes it: the family's tokens are refused, the session's
// other family still refreshes, and no index of the family is left.
func testCrashDeleteFamily(t *testing.T, d deployment) {
	t.Parallel()
	type state struct {
		family     string
		gone, kept *token.Pair
	}
	crashEvery(t, d, "family", func(r *crashRig) state {
		sess, p := r.login("alice")
		q, err := r.cleanSvc.Issue(r.ctx, sess, "app", "read")
		must(r.t, err)
		r.clock.Add(time.Minute)
		next, err := r.cleanSvc.Refresh(r.ctx, p.RefreshToken, "", "")
		must(r.t, err)
		return state{r.familyOf("alice", 2), next, q}
	}, func(r *crashRig, st state) error {
		return r.crashing.DeleteFamily(r.ctx, st.family)
	}, func(t *testing.T, r *crashRig, st state, step string) {
		if err := r.clean.DeleteFamily(r.ctx, st.family); err != nil {
			t.Fatalf("retry after a crash after %s: %v", step, err)
		}
		if _, err := r.cleanSvc.Refresh(r.ctx, st.gone.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
			t.Fatalf("a deleted family's token: got %v, want invalid_grant", err)
		}
		if _, err := r.cleanSvc.Refresh(r.ctx, st.kept.RefreshToken, "", ""); err != nil {
			t.Fatalf("the other family's refresh: %v", err)
		}
		r.wantNoOrphans("after the retry", false)
	})
}

func TestCrashCleaner(t *testing.T)        { testCrashCleaner(t, single(t)) }
func TestClusterCrashCleaner(t *testing.T) { testCrashCleaner(t, cluster(t)) }

// SEC-66: the cleaner dying after any step of removing an expired session
// (with its refresh family) and an expired refresh token: its next run
// finishes, and nothing of either is left.
func testCrashCleaner(t *testing.T, d deployment) {
	t.Parallel()
	type state struct {
		at            time.Time
		old           *sesame.Session
		oldToken      [32]byte
		live          *sesame.Session
		expired, kept [32]byte
	}
	crashEvery(t, d, "expire", func(r *crashRig) state {
		now := r.clock.Now()
		st := state{at: now.Add(time.Hour)}
		st.old = newSession("alice", now)
		must(r.t, r.clean.Create(r.ctx, st.old))
		rt := newRefresh(st.old, now)
		must(r.t, r.clean.CreateRefresh(r.ctx, rt))
		st.oldToken = rt.Hash
		st.live = newSession("bob", now)
		st.live.IdleTimeout = 24 * time.Hour
		must(r.t, r.clean.Create(r.ctx, st.live))
		short := newRefresh(st.live, now)
		short.ExpiresAt = now.Add(time.Minute)
		must(r.t, r.clean.CreateRefresh(r.ctx, short))
		kept := newRefresh(st.live, now)
		must(r.t, r.clean.CreateRefresh(r.ctx, kept))
		st.expired, st.kept = short.Hash, kept.Hash
		return st
	}, func(r *crashRig, st state) error {
		_, err := r.crashing.DeleteExpired(r.ctx, st.at, time.Hour, 100)
		return err
	}, func(t *testing.T, r *crashRig, st state, step string) {
		if _, err := r.clean.DeleteExpired(r.ctx, st.at, time.Hour, 100); err != nil {
			t.Fatalf("the cleaner's next run after a crash after %s: %v", step, err)
		}
		if _, err := r.clean.ByID(r.ctx, st.old.ID); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("the expired session: got %v, want not found", err)
		}
		for _, h := range [][32]byte{st.oldToken, st.expired} {
			if _, err := r.clean.RefreshByHash(r.ctx, h); !errors.Is(err, sesame.ErrNotFound) {
				t.Fatalf("an expired refresh token: got %v, want not found", err)
			}
		}
		if _, err := r.clean.RefreshByHash(r.ctx, st.kept); err != nil {
			t.Fatalf("a live refresh token: %v", err)
		}
		r.wantNoOrphans("after the cleaner's next run", false)
		r.wantUserGone("alice")
	})
}

func randomHash() [32]byte {
	var h [32]byte
	rand.Read(h[:])
	return h
}

// familyOf returns the ID of user's refresh family that has n tokens.
func (r *crashRig) familyOf(user string, n int64) string {
	r.t.Helper()
	pre := r.prefix + "{u:" + user + "}:fam:"
	for _, k := range keys(r.t, r.raw, pre) {
		if c, err := r.raw.SCard(r.ctx, k).Result(); err == nil && c == n {
			return strings.TrimPrefix(k, pre)
		}
	}
	r.t.Fatalf("%s has no refresh family of %d tokens", user, n)
	return ""
}

// wantUserGone checks that no key of user's slot is left.
func (r *crashRig) wantUserGone(user string) {
	r.t.Helper()
	if ks := keys(r.t, r.raw, r.prefix+"{u:"+user+"}"); len(ks) > 0 {
		r.t.Fatalf("keys of %s left: %v", user, ks)
	}
}

// wantFamilies checks that user has exactly one refresh family, of n
// tokens: a second successor would be a third member.
func (r *crashRig) wantFamilies(user string, n int64) {
	r.t.Helper()
	var fams []string
	for _, k := range keys(r.t, r.raw, r.prefix+"{u:"+user+"}:fam:") {
		fams = append(fams, k)
	}
	if len(fams) != 1 {
		r.t.Fatalf("%s has %d refresh families, want 1", user, len(fams))
	}
	got, err := r.raw.SCard(r.ctx, fams[0]).Result()
	must(r.t, err)
	if got != n {
		r.t.Fatalf("the family has %d tokens, want %d (one successor per redemption)", got, n)
	}
	if recs := keys(r.t, r.raw, r.prefix+"{u:"+user+"}:rt:"); int64(len(recs)) != n {
		r.t.Fatalf("%s has %d refresh token records, want %d", user, len(recs), n)
	}
}

// orphans lists the keys under the rig's prefix that a crash left behind:
// an index that resolves to no record (unless it is a claim, which expires
// within the claim TTL), a record that no index reaches, pending
// unindexing. With ghosts, a record reached only by claims is tolerated:
// a creation whose process died after writing the record (see doc.go);
// once the claims expire nothing reaches it. It reads the keys directly,
// or through ByToken, never through RefreshByHash, which may repair what
// it finds.
func (r *crashRig) orphans(ghosts bool) []string {
	var bad []string
	pttl := func(k string) time.Duration {
		ttl, err := r.raw.PTTL(r.ctx, k).Result()
		must(r.t, err)
		if ttl == -2 || ttl == -2*time.Millisecond {
			return -2 // missing
		}
		return ttl
	}
	isClaim := func(ttl time.Duration) bool { return ttl > 0 && ttl <= redis.ClaimTTL }
	exists := func(k string) bool { return pttl(k) != -2 }
	get := func(k string) string {
		v, err := r.raw.Get(r.ctx, k).Result()
		if errors.Is(err, goredis.Nil) {
			return ""
		}
		must(r.t, err)
		return v
	}
	// reached checks a record reached through the index idx.
	reached := func(idx string, recTTL time.Duration) string {
		switch t := pttl(idx); {
		case t == -2 && !isClaim(recTTL):
			return "record that no index reaches"
		case isClaim(t) && !ghosts:
			return "record reached only by a claim"
		}
		return ""
	}
	user := func(uid string) string { return r.prefix + "{u:" + uid + "}:" }
	for _, k := range keys(r.t, r.raw, r.prefix) {
		name := strings.TrimPrefix(k, r.prefix)
		ttl := pttl(k)
		if ttl == -2 {
			continue // expired meanwhile
		}
		claim := isClaim(ttl)
		problem := ""
		switch {
		case strings.HasPrefix(name, "sid:"):
			if !exists(user(get(k))+"s:"+name[4:]) && !claim {
				problem = "session ID index without its session"
			}
		case strings.HasPrefix(name, "tok:"):
			var h [32]byte
			if n, err := hex.Decode(h[:], []byte(name[4:])); err != nil || n != 32 {
				problem = "unreadable token index"
			} else if _, err := r.clean.ByToken(r.ctx, h); err != nil && !claim {
				problem = "token index that resolves to no session carrying it"
			}
		case strings.HasPrefix(name, "rt:"):
			uid := get(k)
			sid, _ := r.raw.HGet(r.ctx, user(uid)+"rt:"+name[3:], "s").Result()
			if (sid == "" || !exists(user(uid)+"s:"+sid)) && !claim {
				problem = "refresh token index without its token or session"
			}
		case strings.HasPrefix(name, "fam:"):
			if !exists(user(get(k))+"fam:"+name[4:]) && !claim {
				problem = "family index without its family"
			}
		case strings.Contains(name, "}:rt:"):
			problem = reached(r.prefix+"rt:"+name[strings.Index(name, "}:rt:")+5:], ttl)
		case strings.Contains(name, "}:s:"):
			problem = reached(r.prefix+"sid:"+name[strings.Index(name, "}:s:")+4:], ttl)
		case strings.HasSuffix(name, "}:gc"):
			problem = "unfinished unindexing"
		}
		if problem != "" {
			bad = append(bad, fmt.Sprintf("%s (TTL %v): %s", name, ttl, problem))
		}
	}
	return bad
}

func (r *crashRig) wantNoOrphans(when string, ghosts bool) {
	r.t.Helper()
	if bad := r.orphans(ghosts); len(bad) > 0 {
		r.t.Fatalf("%s, orphan keys remain:\n%s", when, strings.Join(bad, "\n"))
	}
}

// unpairTest reads the "<len>:<uid><sid>" value of a token index.
func unpairTest(v string) (uid, sid string, ok bool) {
	n, rest, found := strings.Cut(v, ":")
	l, err := strconv.Atoi(n)
	if !found || err != nil || l < 0 || l > len(rest) {
		return "", "", false
	}
	return rest[:l], rest[l:], true
}
