package account_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/session"
)

const goodPW = "correct horse battery"

var (
	thief = netip.MustParseAddr("203.0.113.9")
	home  = netip.MustParseAddr("192.0.2.1")
)

// events records audit events.
type events struct {
	mu  sync.Mutex
	all []sesame.Event
}

func (e *events) Emit(_ context.Context, ev sesame.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func (e *events) of(t sesame.EventType) []sesame.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []sesame.Event
	for _, ev := range e.all {
		if ev.Type == t {
			out = append(out, ev)
		}
	}
	return out
}

// policyService is a service with a throttle on a memstore and a test
// clock, with alice signed up and signed in; it returns alice's session.
func policyService(t *testing.T) (*account.Service, *testclock.Clock, *events, *sesame.Session) {
	t.Helper()
	clock := testclock.New(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	store := memstore.New()
	m, err := session.New(store, session.Config{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	svc := &account.Service{Users: store, Sessions: m, Hasher: &password.Hasher{Params: password.Params{Memory: 64, Time: 1, Threads: 1}, AllowWeakParams: true},
		Throttle: guard.NewLimiter(store, guard.Config{Clock: clock}), Clock: clock, Events: ev}
	u, err := svc.Signup(ctx, "alice", goodPW, false)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := m.StartTokenSession(ctx, u.ID, session.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc, clock, ev, sess
}

// SEC-46, SEC-56: Login refuses a throttled client before checking its
// password, with the wait; Reauthenticate shares the very same counters.
func TestLoginAndReauthShareTheThrottle(t *testing.T) {
	svc, _, ev, sess := policyService(t)
	for i := range 3 {
		if _, err := svc.Login(ctx, account.LoginRequest{Username: "ALICE", Password: "wrong guess", IP: thief}); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("login guess %d: %v", i+1, err)
		}
	}
	for i := range 2 {
		if _, err := svc.Reauthenticate(ctx, sess.UserID, sess.ID, "wrong guess", thief); !errors.Is(err, account.ErrWrongPassword) {
			t.Fatalf("reauth guess %d: %v", i+1, err)
		}
	}
	// Five failures on the account from this address: the next attempt
	// waits, whichever door it uses and whatever its password.
	_, err := svc.Login(ctx, account.LoginRequest{Username: "alice", Password: goodPW, IP: thief})
	if wait, ok := account.RetryAfter(err); !ok || wait <= 0 || sesame.ErrorCode(err) != sesame.ETooMany {
		t.Fatalf("login after 5 failures: %v (wait %v), want ETooMany with a wait", err, wait)
	}
	_, err = svc.Reauthenticate(ctx, sess.UserID, sess.ID, goodPW, thief)
	if _, ok := account.RetryAfter(err); !ok || sesame.ErrorCode(err) != sesame.ETooMany {
		t.Fatalf("reauth after 5 failures: %v, want ETooMany with a wait", err)
	}
	// Another address is not slowed.
	if _, err := svc.Login(ctx, account.LoginRequest{Username: "alice", Password: goodPW, IP: home}); err != nil {
		t.Fatalf("login from home: %v", err)
	}
	if n := len(ev.of(sesame.EventLoginFailure)); n != 4 {
		t.Fatalf("login.failure events: %d, want 4 (3 wrong, 1 throttled)", n)
	}
	if n := len(ev.of(sesame.EventReauthFailure)); n != 3 {
		t.Fatalf("reauth.failure events: %d, want 3 (2 wrong, 1 throttled)", n)
	}
}

// SEC-56: without a Throttle the session is still ended at ReauthLimit,
// counted in this process.
func TestReauthLimitWithoutThrottle(t *testing.T) {
	svc, _, _, sess := policyService(t)
	svc.Throttle = nil
	svc.ReauthLimit = 3
	for i := 1; i <= 3; i++ {
		_, err := svc.Reauthenticate(ctx, sess.UserID, sess.ID, "wrong guess", thief)
		want := account.ErrWrongPassword
		if i == 3 {
			want = account.ErrSessionEnded
		}
		if !errors.Is(err, want) {
			t.Fatalf("wrong password %d: %v, want %v", i, err, want)
		}
	}
	if _, err := svc.Sessions.Lookup(ctx, sess.ID); sesame.ErrorCode(err) != sesame.ENotFound {
		t.Fatalf("the session after the limit: %v, want not found", err)
	}
}

// failingGuard is a throttle store that cannot answer.
type failingGuard struct{}

func (failingGuard) Fail(context.Context, time.Time, ...guard.Counter) ([]guard.State, error) {
	return nil, errors.New("down")
}
func (failingGuard) Get(context.Context, time.Time, ...string) ([]guard.State, error) {
	return nil, errors.New("down")
}
func (failingGuard) Reset(context.Context, ...string) error { return errors.New("down") }

// Fail closed: a throttle store that cannot answer is 503 for logins,
// re-authentications and sign-ups, never an unthrottled attempt.
func TestPolicyFailsClosed(t *testing.T) {
	svc, _, _, sess := policyService(t)
	svc.Throttle = guard.NewLimiter(failingGuard{}, guard.Config{})
	_, err := svc.Login(ctx, account.LoginRequest{Username: "alice", Password: goodPW, IP: home})
	if sesame.ErrorCode(err) != sesame.EUnavailable {
		t.Fatalf("login: %v, want EUnavailable", err)
	}
	if _, err := svc.Reauthenticate(ctx, sess.UserID, sess.ID, goodPW, home); sesame.ErrorCode(err) != sesame.EUnavailable {
		t.Fatalf("reauth: %v, want EUnavailable", err)
	}
	if _, err := svc.Register(ctx, account.SignupRequest{Username: "bob", Password: goodPW, IP: home}); sesame.ErrorCode(err) != sesame.EUnavailable {
		t.Fatalf("register: %v, want EUnavailable", err)
	}
}

// SEC-13: CheckUser refuses a blocked user, a deleted one, and anything
// created before SessionsNotBefore, also after an unblock.
func TestCheckUser(t *testing.T) {
	svc, clock, _, sess := policyService(t)
	if err := svc.CheckUser(ctx, sess.UserID, sess.CreatedAt); err != nil {
		t.Fatalf("live user: %v", err)
	}
	clock.Add(time.Second)
	if _, err := svc.SetBlocked(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if err := svc.CheckUser(ctx, sess.UserID, clock.Now()); !errors.Is(err, account.ErrBlocked) {
		t.Fatalf("blocked: %v, want ErrBlocked", err)
	}
	clock.Add(time.Second)
	if _, err := svc.SetBlocked(ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	if err := svc.CheckUser(ctx, sess.UserID, sess.CreatedAt); !errors.Is(err, account.ErrCredentialTooOld) {
		t.Fatalf("a session of before the block, after unblock: %v, want ErrCredentialTooOld", err)
	}
	if err := svc.CheckUser(ctx, sess.UserID, clock.Now()); err != nil {
		t.Fatalf("a session of after the unblock: %v", err)
	}
	// An administrator's password reset (no session kept) does the same.
	later := clock.Now()
	clock.Add(time.Second)
	if err := svc.SetPassword(ctx, "alice", "a fresh long passphrase", ""); err != nil {
		t.Fatal(err)
	}
	if err := svc.CheckUser(ctx, sess.UserID, later); !errors.Is(err, account.ErrCredentialTooOld) {
		t.Fatalf("a session of before the reset: %v, want ErrCredentialTooOld", err)
	}
	if err := svc.CheckUser(ctx, "nobody", clock.Now()); sesame.ErrorCode(err) != sesame.EUnauthenticated {
		t.Fatalf("unknown user: %v, want EUnauthenticated", err)
	}
}
