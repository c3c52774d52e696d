package storetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// RunCrash checks SEC-66 for the refresh path of an adapter that keeps
// both sessions and refresh tokens (Stores.Sessions and Stores.Refresh; it
// skips when Refresh is nil): a token service whose process dies after
// its k-th store call, for every k, leaves a state from which the client's
// retry through another process succeeds exactly once. The store call's
// effect is kept, then it and every later call of the dying process fail,
// as after a SIGKILL. It checks a refresh (the retry within the grace gets
// the successor pair, a second retry the same pair, the successor keeps
// the family going, and after the grace the old token is reuse, which
// revokes the family and the session) and the handling of reuse itself
// (the retry still ends the session and the family).
//
// A multi-step write inside one store call (such as Redis's redemption)
// needs the adapter's own failure injection; RunCrash cuts between calls.
func RunCrash(t *testing.T, newStores func(t *testing.T) Stores) {
	t.Helper()
	t.Run("Crash/Refresh", func(t *testing.T) {
		crashEachCall(t, newStores, func(r *crashRig) *crashState {
			return r.loggedIn()
		}, func(r *crashRig, st *crashState) {
			r.crashSvc.Refresh(r.ctx, st.pair.RefreshToken, "", "")
		}, checkRefreshRetry)
	})
	t.Run("Crash/Reuse", func(t *testing.T) {
		crashEachCall(t, newStores, func(r *crashRig) *crashState {
			st := r.loggedIn()
			next, err := r.cleanSvc.Refresh(r.ctx, st.pair.RefreshToken, "", "")
			must(r.t, "Refresh", err)
			st.next = next
			r.clock.Add(crashGrace)
			return st
		}, func(r *crashRig, st *crashState) {
			r.crashSvc.Refresh(r.ctx, st.pair.RefreshToken, "", "")
		}, checkReuseRetry)
	})
	t.Run("Crash/Revoke", func(t *testing.T) {
		crashEachCall(t, newStores, func(r *crashRig) *crashState {
			return r.loggedIn()
		}, func(r *crashRig, st *crashState) {
			r.crashSvc.Revoke(r.ctx, st.pair.RefreshToken, "refresh_token")
		}, checkRevokeRetry)
	})
}

// checkRevokeRetry: an RFC 7009 revocation retried after a crash ends the
// session and the family, whatever step the crash interrupted.
func checkRevokeRetry(t *testing.T, r *crashRig, st *crashState, call string) {
	if err := r.cleanSvc.Revoke(r.ctx, st.pair.RefreshToken, "refresh_token"); err != nil {
		t.Fatalf("revocation retried after a crash after %s: %v", call, err)
	}
	wantRevoked(t, r, st.sess, st.pair)
}

const crashGrace = 10 * time.Second

var errCrash = errors.New("storetest: injected crash")

// crashRig is two "processes" over one adapter: crashing, whose store
// calls go through a crashStore, and clean, which retries.
type crashRig struct {
	t                  *testing.T
	ctx                context.Context
	clock              *testclock.Clock
	crash              *crashStore
	crashMgr, cleanMgr *session.Manager
	crashSvc, cleanSvc *token.Service
}

type crashState struct {
	sess *sesame.Session
	pair *token.Pair
	next *token.Pair
}

func newCrashRig(t *testing.T, s Stores) *crashRig {
	t.Helper()
	r := &crashRig{t: t, ctx: context.Background(), clock: testclock.New(base),
		crash: &crashStore{Store: s.Sessions, refresh: s.Refresh, limit: -1}}
	key, err := jose.GenerateKey(jose.ES256, "")
	must(t, "GenerateKey", err)
	keys, err := jose.NewKeySet(key)
	must(t, "NewKeySet", err)
	successorKey := []byte(randHex(32))
	build := func(ss session.Store, ts token.Store) (*session.Manager, *token.Service) {
		m, err := session.New(ss, session.Config{Clock: r.clock,
			RememberIdleTimeout: 7 * 24 * time.Hour, RememberLifetime: 30 * 24 * time.Hour})
		must(t, "session.New", err)
		svc, err := token.New(token.Config{Issuer: "https://storetest.example", Keys: keys, SuccessorKey: successorKey,
			Store: ts, Sessions: m, Clock: r.clock, Grace: crashGrace})
		must(t, "token.New", err)
		return m, svc
	}
	r.crashMgr, r.crashSvc = build(r.crash, r.crash)
	r.cleanMgr, r.cleanSvc = build(s.Sessions, s.Refresh)
	return r
}

// loggedIn logs alice in through the clean process and moves the clock
// past the touch interval, so that a refresh also writes LastSeen.
func (r *crashRig) loggedIn() *crashState {
	r.t.Helper()
	sess, err := r.cleanMgr.StartTokenSession(r.ctx, "alice", session.LoginOptions{Remember: true})
	must(r.t, "StartTokenSession", err)
	p, err := r.cleanSvc.Issue(r.ctx, sess, "app", "read")
	must(r.t, "Issue", err)
	r.clock.Add(2 * time.Minute)
	return &crashState{sess: sess, pair: p}
}

// crashEachCall counts the store calls op makes without a crash, then,
// for every k up to that count, runs op on fresh stores with the process
// dying after its k-th call, and check.
func crashEachCall(t *testing.T, newStores func(t *testing.T) Stores, setup func(r *crashRig) *crashState,
	op func(r *crashRig, st *crashState), check func(t *testing.T, r *crashRig, st *crashState, call string)) {
	t.Helper()
	s := newStores(t)
	if s.Refresh == nil {
		t.Skip("adapter keeps no refresh tokens")
	}
	r := newCrashRig(t, s)
	st := setup(r)
	r.crash.arm(-1)
	op(r, st)
	calls := r.crash.log()
	if len(calls) < 2 {
		t.Fatalf("the operation made %d store calls (%v): want at least 2", len(calls), calls)
	}
	t.Logf("store calls: %v", calls)
	for k := 1; k <= len(calls); k++ {
		name := calls[k-1]
		t.Run(name, func(t *testing.T) {
			r := newCrashRig(t, newStores(t))
			st := setup(r)
			r.crash.arm(k)
			op(r, st)
			if got := r.crash.log(); len(got) < k {
				t.Fatalf("the process died before its call %d (%s): made only %v", k, name, got)
			}
			check(t, r, st, name)
		})
	}
}

// checkRefreshRetry is the client's retry of a refresh whose process died.
func checkRefreshRetry(t *testing.T, r *crashRig, st *crashState, call string) {
	r.clock.Add(time.Second)
	q1, err := r.cleanSvc.Refresh(r.ctx, st.pair.RefreshToken, "", "")
	if err != nil {
		t.Fatalf("SEC-66: retry within the grace after a crash after %s: %v (the family is stranded)", call, err)
	}
	r.clock.Add(time.Second)
	q2, err := r.cleanSvc.Refresh(r.ctx, st.pair.RefreshToken, "", "")
	if err != nil {
		t.Fatalf("second retry within the grace: %v", err)
	}
	if q2.RefreshToken != q1.RefreshToken || accessID(t, q2.AccessToken) != accessID(t, q1.AccessToken) {
		t.Fatal("SEC-66: two retries within the grace got different pairs: two successors")
	}
	r.clock.Add(time.Second)
	q3, err := r.cleanSvc.Refresh(r.ctx, q1.RefreshToken, "", "")
	if err != nil {
		t.Fatalf("refresh with the successor: %v", err)
	}
	if _, err := r.cleanSvc.Refresh(r.ctx, st.pair.RefreshToken, "", ""); err != nil {
		t.Fatalf("a third retry within the grace, after the successor was used: %v", err)
	}
	r.clock.Add(crashGrace)
	if _, err := r.cleanSvc.Refresh(r.ctx, st.pair.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatalf("the crashed token after the grace: got %v, want reuse (invalid_grant)", err)
	}
	wantRevoked(t, r, st.sess, q3)
}

// checkReuseRetry is the retry of a reuse whose process died while
// handling it: the family and the session end all the same.
func checkReuseRetry(t *testing.T, r *crashRig, st *crashState, call string) {
	if _, err := r.cleanSvc.Refresh(r.ctx, st.pair.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatalf("reuse retried after a crash after %s: got %v, want invalid_grant", call, err)
	}
	wantRevoked(t, r, st.sess, st.next)
}

// wantRevoked checks that sess is gone and that the newest pair of its
// family no longer refreshes (SEC-29).
func wantRevoked(t *testing.T, r *crashRig, sess *sesame.Session, newest *token.Pair) {
	t.Helper()
	if _, err := r.cleanMgr.Lookup(r.ctx, sess.ID); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("SEC-66: the session after refresh-token reuse: got %v, want it revoked", err)
	}
	if _, err := r.cleanSvc.Refresh(r.ctx, newest.RefreshToken, "", ""); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatalf("the family's newest token after reuse: got %v, want invalid_grant", err)
	}
}

// accessID returns the jti of an access token the service issued (read
// without verification: the test compares two tokens of one service).
func accessID(t *testing.T, at string) string {
	t.Helper()
	parts := strings.Split(at, ".")
	if len(parts) != 3 {
		t.Fatalf("access token with %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(t, "decode access token", err)
	var c struct {
		ID string `json:"jti"`
	}
	must(t, "decode access token", json.Unmarshal(b, &c))
	return c.ID
}

// crashStore is an adapter's session.Store and token.Store as seen by a
// process that dies after its limit-th call: that call's effect is kept
// and it returns errCrash, and every later call returns errCrash without
// reaching the store. A negative limit never dies.
type crashStore struct {
	session.Store
	refresh token.Store

	mu    sync.Mutex
	limit int
	calls []string
}

func (c *crashStore) arm(limit int) {
	c.mu.Lock()
	c.limit, c.calls = limit, nil
	c.mu.Unlock()
}

func (c *crashStore) log() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

// call runs fn as the process's next store call, numbering it name#n.
func (c *crashStore) call(name string, fn func() error) error {
	c.mu.Lock()
	if c.limit >= 0 && len(c.calls) >= c.limit {
		c.mu.Unlock()
		return errCrash
	}
	n := 1
	for _, x := range c.calls {
		if strings.HasPrefix(x, name+"#") {
			n++
		}
	}
	c.calls = append(c.calls, name+"#"+string(rune('0'+n)))
	last := len(c.calls) == c.limit
	c.mu.Unlock()
	if err := fn(); err != nil {
		return err
	}
	if last {
		return errCrash
	}
	return nil
}

func (c *crashStore) Create(ctx context.Context, s *sesame.Session) error {
	return c.call("Create", func() error { return c.Store.Create(ctx, s) })
}

func (c *crashStore) ByToken(ctx context.Context, h [32]byte) (s *sesame.Session, err error) {
	err = c.call("ByToken", func() (e error) { s, e = c.Store.ByToken(ctx, h); return })
	return s, err
}

func (c *crashStore) ByID(ctx context.Context, id string) (s *sesame.Session, err error) {
	err = c.call("ByID", func() (e error) { s, e = c.Store.ByID(ctx, id); return })
	return s, err
}

func (c *crashStore) Update(ctx context.Context, s *sesame.Session) error {
	return c.call("Update", func() error { return c.Store.Update(ctx, s) })
}

func (c *crashStore) Touch(ctx context.Context, id string, t time.Time) error {
	return c.call("Touch", func() error { return c.Store.Touch(ctx, id, t) })
}

func (c *crashStore) Delete(ctx context.Context, id string) (deleted bool, err error) {
	err = c.call("Delete", func() (e error) { deleted, e = c.Store.Delete(ctx, id); return })
	return deleted, err
}

func (c *crashStore) ListByUser(ctx context.Context, userID string) (ss []*sesame.Session, err error) {
	err = c.call("ListByUser", func() (e error) { ss, e = c.Store.ListByUser(ctx, userID); return })
	return ss, err
}

func (c *crashStore) DeleteByUser(ctx context.Context, userID, except string) (ids []string, err error) {
	err = c.call("DeleteByUser", func() (e error) { ids, e = c.Store.DeleteByUser(ctx, userID, except); return })
	return ids, err
}

func (c *crashStore) CreateRefresh(ctx context.Context, r *token.Refresh) error {
	return c.call("CreateRefresh", func() error { return c.refresh.CreateRefresh(ctx, r) })
}

func (c *crashStore) RefreshByHash(ctx context.Context, h [32]byte) (r *token.Refresh, err error) {
	err = c.call("RefreshByHash", func() (e error) { r, e = c.refresh.RefreshByHash(ctx, h); return })
	return r, err
}

func (c *crashStore) RedeemRefresh(ctx context.Context, h [32]byte, at time.Time, next *token.Refresh) error {
	return c.call("RedeemRefresh", func() error { return c.refresh.RedeemRefresh(ctx, h, at, next) })
}

func (c *crashStore) DeleteFamily(ctx context.Context, familyID string) error {
	return c.call("DeleteFamily", func() error { return c.refresh.DeleteFamily(ctx, familyID) })
}
