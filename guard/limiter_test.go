package guard_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/memstore"
)

var ctx = context.Background()

func newLimiter(t *testing.T) (*guard.Limiter, *fakeClock) {
	t.Helper()
	c := newClock()
	return guard.NewLimiter(memstore.New(), guard.Config{Clock: c}), c
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func fail(t *testing.T, l *guard.Limiter, addr netip.Addr, user string) {
	t.Helper()
	if err := l.Failure(ctx, addr, user); err != nil {
		t.Fatalf("Failure(%v, %q): %v", addr, user, err)
	}
}

// wantAllowed checks that Allow lets the attempt through.
func wantAllowed(t *testing.T, l *guard.Limiter, addr netip.Addr, user, when string) {
	t.Helper()
	if wait, err := l.Allow(ctx, addr, user); err != nil || wait != 0 {
		t.Fatalf("%s: Allow(%v, %q): got %v, %v, want 0, nil", when, addr, user, wait, err)
	}
}

// wantWait checks that Allow refuses with a 429 and exactly this wait.
func wantWait(t *testing.T, l *guard.Limiter, addr netip.Addr, user string, want time.Duration, when string) {
	t.Helper()
	wait, err := l.Allow(ctx, addr, user)
	if sesame.ErrorCode(err) != sesame.ETooMany || sesame.HTTPStatus(sesame.ErrorCode(err)) != 429 {
		t.Fatalf("%s: Allow(%v, %q): got error %v, want a 429 ETooMany", when, addr, user, err)
	}
	if wait != want {
		t.Fatalf("%s: Allow(%v, %q): got wait %v, want %v", when, addr, user, wait, want)
	}
}

// checkBoundary checks that the wait is exactly want from now: refused
// 1 ns before its end with 1 ns to go, allowed at its end.
func checkBoundary(t *testing.T, l *guard.Limiter, c *fakeClock, addr netip.Addr, user string, want time.Duration) {
	t.Helper()
	start := c.Now()
	defer c.Set(start)
	if want == 0 {
		wantAllowed(t, l, addr, user, "no wait")
		return
	}
	wantWait(t, l, addr, user, want, "at once")
	c.Set(start.Add(want - time.Nanosecond))
	wantWait(t, l, addr, user, time.Nanosecond, "1ns before the end")
	c.Set(start.Add(want))
	wantAllowed(t, l, addr, user, "at the end")
}

// The per-IP schedule: IPFree (10) free failures, then 1 s doubling to a
// 15 min cap; failures spread over many accounts, as in stuffing.
func TestIPBackoffSchedule(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {1, 0}, {9, 0},
		{10, time.Second}, {11, 2 * time.Second}, {12, 4 * time.Second},
		{19, 512 * time.Second}, {20, 15 * time.Minute}, {21, 15 * time.Minute}, {200, 15 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.failures), func(t *testing.T) {
			l, c := newLimiter(t)
			attacker := ip("203.0.113.7")
			for i := range tc.failures {
				fail(t, l, attacker, fmt.Sprintf("user%d", i))
			}
			checkBoundary(t, l, c, attacker, "someone-new", tc.want)
			wantAllowed(t, l, ip("198.51.100.20"), "alice", "the real user from another IP")
		})
	}
}

// The wait is timed from the latest failure.
func TestIPWaitFromLatestFailure(t *testing.T) {
	l, c := newLimiter(t)
	a := ip("203.0.113.7")
	for i := range 10 {
		fail(t, l, a, fmt.Sprint("u", i))
		c.Advance(time.Minute)
	}
	// The 10th failure was 1 min ago; its 1 s wait is long over.
	wantAllowed(t, l, a, "u", "after the wait")
	fail(t, l, a, "u")
	checkBoundary(t, l, c, a, "u", 2*time.Second)
}

// The IP counter lives for IPWindow (1 h) after the latest failure: a
// failure 1 ns before the end adds to it, one at the end starts afresh.
func TestIPWindowBoundary(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  time.Duration
	}{
		{"1ns before the window ends", time.Hour - time.Nanosecond, 2 * time.Second},
		{"at the window's end", time.Hour, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, c := newLimiter(t)
			a := ip("203.0.113.7")
			for i := range 10 {
				fail(t, l, a, fmt.Sprint("u", i))
			}
			c.Advance(tc.after)
			fail(t, l, a, "late")
			checkBoundary(t, l, c, a, "late", tc.want)
		})
	}
}

// Refused attempts are not failures: polling while blocked does not make
// the wait any longer.
func TestPollingDoesNotExtendWait(t *testing.T) {
	l, c := newLimiter(t)
	a := ip("203.0.113.7")
	for i := range 10 {
		fail(t, l, a, fmt.Sprint("u", i))
	}
	start := c.Now()
	for i := range 1000 {
		elapsed := time.Duration(i) * time.Millisecond / 2
		c.Set(start.Add(elapsed))
		wantWait(t, l, a, "u", time.Second-elapsed, "while polling")
	}
	c.Set(start.Add(time.Second))
	wantAllowed(t, l, a, "u", "1 s after the failure, 1000 refusals later")
}

// The per-account schedule, as seen by a client that has itself failed on
// the account: AccountFree (5) failures from anywhere, then 1 s doubling
// to a 30 s cap, timed from that client's own latest failure. Failures
// come from distinct IPs so that no IP limit applies.
func TestAccountBackoffSchedule(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{1, 0}, {4, 0},
		{5, time.Second}, {6, 2 * time.Second}, {9, 16 * time.Second},
		{10, 30 * time.Second}, {11, 30 * time.Second}, {500, 30 * time.Second},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.failures), func(t *testing.T) {
			l, c := newLimiter(t)
			for i := range tc.failures - 1 {
				fail(t, l, ip(fmt.Sprintf("10.0.%d.%d", i/256, i%256)), "victim")
			}
			me := ip("203.0.113.7")
			fail(t, l, me, "victim")
			checkBoundary(t, l, c, me, "victim", tc.want)
			wantAllowed(t, l, ip("198.51.100.20"), "victim", "a client with no failure on the account")
			wantAllowed(t, l, me, "someone-else", "the same client on another account")
		})
	}
}

// The account counters decay AccountWindow (15 min) after their latest
// failure.
func TestAccountWindowBoundary(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  time.Duration
	}{
		{"1ns before the window ends", 15*time.Minute - time.Nanosecond, 30 * time.Second},
		{"at the window's end", 15 * time.Minute, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, c := newLimiter(t)
			me := ip("203.0.113.7")
			for i := range 9 {
				fail(t, l, ip(fmt.Sprintf("10.0.0.%d", i)), "victim")
			}
			fail(t, l, me, "victim")
			c.Advance(tc.after)
			fail(t, l, me, "victim")
			checkBoundary(t, l, c, me, "victim", tc.want)
		})
	}
}

// The account is the normalized username: letter case does not give an
// attacker a fresh counter.
func TestAccountCaseInsensitive(t *testing.T) {
	l, c := newLimiter(t)
	for i, name := range []string{"Victim", "VICTIM", "victim", "vIcTiM"} {
		fail(t, l, ip(fmt.Sprintf("10.0.0.%d", i)), name)
	}
	me := ip("203.0.113.7")
	fail(t, l, me, "ViCtIm")
	checkBoundary(t, l, c, me, "victim", time.Second)
}

// A success forgets that client's failures on the account, but neither
// the IP's counter (so a stuffer cannot wash its IP by logging into its
// own account) nor the account-wide one.
func TestSuccess(t *testing.T) {
	l, c := newLimiter(t)
	me, other := ip("203.0.113.7"), ip("198.51.100.20")
	for range 4 {
		fail(t, l, other, "alice")
	}
	for i := range 6 {
		fail(t, l, me, fmt.Sprint("own", i))
	}
	fail(t, l, me, "alice")
	// Account: 5 failures → 1 s for this client; IP: 7 failures, no wait.
	checkBoundary(t, l, c, me, "alice", time.Second)
	if err := l.Success(ctx, me, "alice"); err != nil {
		t.Fatal(err)
	}
	wantAllowed(t, l, me, "alice", "after a success")
	fail(t, l, me, "alice") // account count 6 → 2 s for this client again
	checkBoundary(t, l, c, me, "alice", 2*time.Second)
	for range 3 {
		fail(t, l, me, "x")
	}
	// IP: 7 + 1 + 3 = 11 failures, the success notwithstanding → 2 s.
	checkBoundary(t, l, c, me, "y", 2*time.Second)
}

// Credential stuffing from one IP: a different username on every attempt,
// attempting again the moment it is allowed, for a day. The IP is refused
// with 429 after exactly 10 failures, with Retry-After 1 s then doubling,
// and gets 114 guesses in the first day in all; the real user on another
// IP is never refused.
func TestCredentialStuffing(t *testing.T) {
	l, c := newLimiter(t)
	attacker, real := ip("203.0.113.7"), ip("198.51.100.20")
	end := c.Now().Add(24 * time.Hour)
	guesses, refusals := 0, 0
	var waits []time.Duration
	for c.Now().Before(end) {
		user := fmt.Sprintf("user%d", guesses%500)
		wait, err := l.Allow(ctx, attacker, user)
		if err != nil {
			if sesame.ErrorCode(err) != sesame.ETooMany || wait <= 0 {
				t.Fatalf("refusal: got %v, %v, want ETooMany and a positive wait", wait, err)
			}
			if refusals == 0 && guesses != 10 {
				t.Fatalf("first refusal after %d failures, want 10", guesses)
			}
			refusals++
			if len(waits) < 3 {
				waits = append(waits, wait)
			}
			wantAllowed(t, l, real, "alice", "the real user during the attack")
			c.Advance(wait)
			continue
		}
		fail(t, l, attacker, user)
		guesses++
	}
	if guesses != 114 {
		t.Fatalf("guesses in 24 h: got %d, want 114 (10 free, 10 at 1 s..512 s, then one per 15 min)", guesses)
	}
	if fmt.Sprint(waits) != "[1s 2s 4s]" {
		t.Fatalf("first waits: got %v, want [1s 2s 4s]", waits)
	}
	if got := guard.RetryAfter(time.Second); got != "1" {
		t.Fatalf("RetryAfter(1s): got %q, want 1", got)
	}
}

// A targeted attack on one account from many IPs, each attacking again
// the moment it is allowed, for 30 minutes. The attack is slowed, and the
// real user, on another IP, gets in on their first try, and after a typo
// within AccountMaxDelay (30 s), however hard the attack.
func TestTargetedAttackCannotLockOut(t *testing.T) {
	l, c := newLimiter(t)
	const nAttackers = 40
	attackers := make([]netip.Addr, nAttackers)
	nextTry := make([]time.Time, nAttackers)
	perIP := make([]int, nAttackers)
	for i := range attackers {
		attackers[i] = ip(fmt.Sprintf("203.0.113.%d", i+1))
		nextTry[i] = c.Now()
	}
	real := ip("198.51.100.20")
	start := c.Now()
	realTried := false
	for c.Now().Before(start.Add(30 * time.Minute)) {
		now := c.Now()
		for i, a := range attackers {
			if now.Before(nextTry[i]) {
				continue
			}
			if wait, err := l.Allow(ctx, a, "victim"); err != nil {
				nextTry[i] = now.Add(wait)
				continue
			}
			fail(t, l, a, "victim")
			perIP[i]++
		}
		if !realTried && !now.Before(start.Add(10*time.Minute)) {
			realTried = true
			wantAllowed(t, l, real, "victim", "the real user's first try during the attack")
			fail(t, l, real, "victim") // a typo
			wait, err := l.Allow(ctx, real, "victim")
			if err == nil || wait <= 0 || wait > 30*time.Second {
				t.Fatalf("after a typo: got wait %v, %v, want a 429 with 0 < wait ≤ 30s", wait, err)
			}
			c.Advance(wait - time.Nanosecond)
			for i, a := range attackers { // the attackers keep hammering meanwhile
				if _, err := l.Allow(ctx, a, "victim"); err == nil {
					fail(t, l, a, "victim")
					perIP[i]++
				}
			}
			c.Advance(time.Nanosecond)
			wantAllowed(t, l, real, "victim", "the real user after waiting the Retry-After")
			if err := l.Success(ctx, real, "victim"); err != nil {
				t.Fatal(err)
			}
			continue
		}
		c.Advance(time.Second)
	}
	if !realTried {
		t.Fatal("the real user never tried")
	}
	t.Logf("guesses per attacker IP in 30 min: %v", perIP)
	for i, n := range perIP {
		// Once the account has 5 failures (within the first round) each IP
		// may try every 30 s; from its 15th failure its own IP backoff (32 s,
		// 64 s, …, 512 s) is longer: failures at 0, 30, …, 420, 452, 516,
		// 644, 900 and 1412 s, so 20 in 30 min.
		if n > 20 {
			t.Fatalf("attacker %d: got %d guesses in 30 min, want at most 20", i, n)
		}
	}
}

// Many addresses of one IPv6 /64 are one client; other /64s are not.
func TestIPv6Prefix(t *testing.T) {
	l, c := newLimiter(t)
	for i := range 10 {
		fail(t, l, ip(fmt.Sprintf("2001:db8:1:2::%x", i+1)), fmt.Sprint("u", i))
	}
	checkBoundary(t, l, c, ip("2001:db8:1:2:ffff::1"), "u", time.Second)
	wantAllowed(t, l, ip("2001:db8:1:3::1"), "u", "the neighbouring /64")

	l2 := guard.NewLimiter(memstore.New(), guard.Config{Clock: c, IPv6PrefixLen: 128})
	for i := range 10 {
		fail(t, l2, ip(fmt.Sprintf("2001:db8:1:2::%x", i+1)), fmt.Sprint("u", i))
	}
	wantAllowed(t, l2, ip("2001:db8:1:2::ff"), "u", "/128: another address")
}

// An IPv4-mapped IPv6 address is its IPv4 address; the invalid Addr (no
// TCP peer) is one shared client.
func TestClientKeyForms(t *testing.T) {
	l, c := newLimiter(t)
	for i := range 10 {
		fail(t, l, ip("::ffff:203.0.113.7"), fmt.Sprint("u", i))
	}
	checkBoundary(t, l, c, ip("203.0.113.7"), "u", time.Second)
	for i := range 10 {
		fail(t, l, netip.Addr{}, fmt.Sprint("u", i))
	}
	checkBoundary(t, l, c, netip.Addr{}, "u", time.Second)
}

// The store never sees a username, in any letter case, nor a password.
func TestKeysHoldNoUsername(t *testing.T) {
	rec := &recordingStore{Store: memstore.New()}
	l := guard.NewLimiter(rec, guard.Config{Clock: newClock()})
	a := ip("203.0.113.7")
	for _, name := range []string{"Alice.Liddell@example.org", "bad name\r\n"} {
		l.Allow(ctx, a, name)
		l.Failure(ctx, a, name)
		l.Success(ctx, a, name)
	}
	keys := rec.seen()
	if len(keys) == 0 {
		t.Fatal("no keys recorded")
	}
	for _, k := range keys {
		low := strings.ToLower(k)
		if strings.Contains(low, "alice") || strings.Contains(low, "liddell") || strings.Contains(low, "bad name") || strings.ContainsAny(k, "\r\n") {
			t.Fatalf("store key %q contains the username", k)
		}
		if !strings.HasPrefix(k, "ip:") && !strings.HasPrefix(k, "acct:") && !strings.HasPrefix(k, "acctip:") {
			t.Fatalf("store key %q: want an ip:, acct: or acctip: key", k)
		}
	}
}

// A store that cannot answer fails closed with a 503, never a 500 and
// never an unthrottled login.
func TestStoreOutage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store guard.Store
	}{{"down", brokenStore{}}, {"short answer", shortStore{}}} {
		t.Run(tc.name, func(t *testing.T) {
			l := guard.NewLimiter(tc.store, guard.Config{})
			a := ip("203.0.113.7")
			wait, err := l.Allow(ctx, a, "alice")
			if sesame.ErrorCode(err) != sesame.EUnavailable || wait != 0 {
				t.Fatalf("Allow: got %v, %v, want 0 and EUnavailable", wait, err)
			}
			if tc.name == "down" {
				if !errors.Is(err, errOutage) {
					t.Fatalf("Allow: got %v, want it to wrap the store error", err)
				}
				if msg := sesame.ErrorMessage(err); strings.Contains(msg, "refused") {
					t.Fatalf("client message %q leaks the store error", msg)
				}
				if err := l.Failure(ctx, a, "alice"); sesame.ErrorCode(err) != sesame.EUnavailable {
					t.Fatalf("Failure: got %v, want EUnavailable", err)
				}
				if err := l.Success(ctx, a, "alice"); sesame.ErrorCode(err) != sesame.EUnavailable {
					t.Fatalf("Success: got %v, want EUnavailable", err)
				}
				if !strings.Contains(err.Error(), "guard: ") {
					t.Fatalf("error %q: want the guard: prefix", err)
				}
			}
		})
	}
}

func TestNewLimiterNilStorePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewLimiter(nil): got no panic")
		}
	}()
	guard.NewLimiter(nil, guard.Config{})
}

// Custom settings are honoured, and a window shorter than its maximum
// delay is raised to it, so a counter never expires while its wait runs.
func TestConfigOverrides(t *testing.T) {
	c := newClock()
	l := guard.NewLimiter(memstore.New(), guard.Config{
		Clock: c, IPFree: 2, IPBaseDelay: time.Minute, IPMaxDelay: 3 * time.Minute, IPWindow: time.Second,
	})
	a := ip("203.0.113.7")
	for i := range 4 {
		fail(t, l, a, fmt.Sprint("u", i))
	}
	checkBoundary(t, l, c, a, "u", 3*time.Minute) // 1 min, 2 min, 4 min → capped at 3
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{time.Nanosecond, "1"}, {time.Second, "1"}, {time.Second + time.Nanosecond, "2"},
		{15 * time.Minute, "900"}, {0, "1"}, {-time.Second, "1"}, {1<<63 - 1, "9223372037"},
	} {
		if got := guard.RetryAfter(tc.d); got != tc.want {
			t.Errorf("RetryAfter(%v): got %q, want %q", tc.d, got, tc.want)
		}
	}
}
