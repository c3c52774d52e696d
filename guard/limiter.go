package guard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/sesame-auth/sesame"
)

// Config is the throttling policy of a [Limiter]. The zero value is the
// recommended policy; each field documents its default. Durations and
// counts that are zero or negative mean their default.
type Config struct {
	// Clock tells the time. Default: the system clock.
	Clock sesame.Clock

	// IPFree is how many failed logins a client IP may make, across all
	// accounts, before it must wait between attempts. Default 10.
	IPFree int
	// IPBaseDelay is the wait after the IPFree-th failure; it doubles with
	// every further failure. Default 1 s.
	IPBaseDelay time.Duration
	// IPMaxDelay caps the per-IP wait. Default 15 min.
	IPMaxDelay time.Duration
	// IPWindow is how long an IP's counter is kept after its latest
	// failure; an IP with no failure for IPWindow starts afresh. Default
	// 1 h, and never less than IPMaxDelay.
	IPWindow time.Duration
	// IPv6PrefixLen is how many leading bits of an IPv6 address identify
	// one client: a single subscriber usually holds a whole /64, and could
	// otherwise rotate through 2^64 addresses. Default 64; values above
	// 128 mean 128.
	IPv6PrefixLen int

	// AccountFree is how many failed logins an account may see, from
	// anywhere, before a client that has itself failed on the account must
	// wait between its attempts on it. Default 5.
	AccountFree int
	// AccountBaseDelay is the per-account wait after the AccountFree-th
	// failure; it doubles with every further failure. Default 1 s.
	AccountBaseDelay time.Duration
	// AccountMaxDelay caps the per-account wait: the longest the real user
	// ever waits because of failures on their account. Default 30 s.
	AccountMaxDelay time.Duration
	// AccountWindow is how long the per-account counters are kept after
	// their latest failure, so an attack's slow-down decays AccountWindow
	// after it stops. Default 15 min, and never less than AccountMaxDelay.
	AccountWindow time.Duration
}

// The defaults of [Config].
const (
	DefaultIPFree           = 10
	DefaultIPBaseDelay      = time.Second
	DefaultIPMaxDelay       = 15 * time.Minute
	DefaultIPWindow         = time.Hour
	DefaultIPv6PrefixLen    = 64
	DefaultAccountFree      = 5
	DefaultAccountBaseDelay = time.Second
	DefaultAccountMaxDelay  = 30 * time.Second
	DefaultAccountWindow    = 15 * time.Minute
)

func (c Config) withDefaults() Config {
	c.Clock = sesame.ClockOrSystem(c.Clock)
	orInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	orDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	orInt(&c.IPFree, DefaultIPFree)
	orDur(&c.IPBaseDelay, DefaultIPBaseDelay)
	orDur(&c.IPMaxDelay, DefaultIPMaxDelay)
	orDur(&c.IPWindow, DefaultIPWindow)
	c.IPWindow = max(c.IPWindow, c.IPMaxDelay)
	orInt(&c.IPv6PrefixLen, DefaultIPv6PrefixLen)
	c.IPv6PrefixLen = min(c.IPv6PrefixLen, 128)
	orInt(&c.AccountFree, DefaultAccountFree)
	orDur(&c.AccountBaseDelay, DefaultAccountBaseDelay)
	orDur(&c.AccountMaxDelay, DefaultAccountMaxDelay)
	orDur(&c.AccountWindow, DefaultAccountWindow)
	c.AccountWindow = max(c.AccountWindow, c.AccountMaxDelay)
	return c
}

// Limiter throttles password logins per client IP and per account, with
// counters in a shared [Store] so that every server of a deployment
// enforces one budget. See the package documentation for the policy. It is
// safe for concurrent use.
type Limiter struct {
	store Store
	c     Config
}

// NewLimiter returns a Limiter over s with policy c. It panics if s is nil.
func NewLimiter(s Store, c Config) *Limiter {
	if s == nil {
		panic("guard: NewLimiter with a nil Store")
	}
	return &Limiter{store: s, c: c.withDefaults()}
}

// Allow reports whether a login attempt for username from ip may go on to
// check the password. Call it before hashing anything.
//
// When the attempt must wait, Allow returns how long (positive) and an
// *sesame.Error with code [sesame.ETooMany] (429); send the wait as
// Retry-After (see [RetryAfter]). When the store cannot answer, Allow
// fails closed: it returns an *sesame.Error with code [sesame.EUnavailable]
// (503), because counters that cannot be read cannot be trusted and an
// outage must not switch throttling off.
//
// ip is the client address from [IPResolver.ClientIP]; an invalid (zero)
// Addr is one shared client "unknown". username is as typed; it is
// normalized by [sesame.NormalizeUsername], so "Alice" and "alice" share a
// counter, and only its SHA-256 is stored.
func (l *Limiter) Allow(ctx context.Context, ip netip.Addr, username string) (time.Duration, error) {
	k := l.keys(ip, username)
	now := l.c.Clock.Now()
	st, err := l.store.Get(ctx, now, k.ip, k.account, k.pair)
	if err == nil && len(st) != 3 {
		err = fmt.Errorf("got %d states for 3 keys", len(st))
	}
	if err != nil {
		return 0, unavailable(fmt.Errorf("guard: read throttle counters: %w", err))
	}
	wait := max(l.ipWait(st[0], now), l.accountWait(st[1], st[2], now))
	if wait > 0 {
		return wait, sesame.Errorf(sesame.ETooMany, "too many failed login attempts: try again later")
	}
	return 0, nil
}

// Failure records a failed login for username from ip: a wrong password,
// and equally an unknown username, so that throttling reveals nothing
// about which accounts exist (SEC-45). A store error is an *sesame.Error
// with code [sesame.EUnavailable]; answer the login with it (503) rather
// than with the credential error, since the failure went uncounted.
func (l *Limiter) Failure(ctx context.Context, ip netip.Addr, username string) error {
	k := l.keys(ip, username)
	_, err := l.store.Fail(ctx, l.c.Clock.Now(),
		Counter{Key: k.ip, Window: l.c.IPWindow},
		Counter{Key: k.account, Window: l.c.AccountWindow},
		Counter{Key: k.pair, Window: l.c.AccountWindow},
	)
	if err != nil {
		return unavailable(fmt.Errorf("guard: record login failure: %w", err))
	}
	return nil
}

// Success records a successful login for username from ip: that client's
// own failures on the account are forgotten. The per-IP counter is kept
// (otherwise a credential stuffer who owns one account could wash its IP
// by logging into it between guesses) and so is the account-wide counter
// (otherwise the real user logging in would hand an attacker fresh free
// guesses); both decay with their windows. A store error is an
// *sesame.Error with code [sesame.EUnavailable]; the login itself has
// succeeded, so log it and carry on.
func (l *Limiter) Success(ctx context.Context, ip netip.Addr, username string) error {
	if err := l.store.Reset(ctx, l.keys(ip, username).pair); err != nil {
		return unavailable(fmt.Errorf("guard: reset login failures: %w", err))
	}
	return nil
}

// Strike records one strike against key and returns how many strikes the
// key has had since it was last quiet for window (AccountWindow when window
// is zero or negative). It is the counter
// behind limits that end something instead of slowing it down, such as the
// wrong passwords a signed-in session may give before it is ended
// (account.Service.Reauthenticate). key is chosen by the caller in its own
// namespace ("reauth:" and a public session ID); it must never hold a
// password or a raw username. Like [Limiter.Failure], the count is atomic
// across processes sharing the store. A store error is an *sesame.Error
// with code [sesame.EUnavailable].
func (l *Limiter) Strike(ctx context.Context, key string, window time.Duration) (int, error) {
	if window <= 0 {
		window = l.c.AccountWindow
	}
	st, err := l.store.Fail(ctx, l.c.Clock.Now(), Counter{Key: "strike:" + key, Window: window})
	if err == nil && len(st) != 1 {
		err = fmt.Errorf("got %d states for 1 key", len(st))
	}
	if err != nil {
		return 0, unavailable(fmt.Errorf("guard: record strike: %w", err))
	}
	return st[0].Count, nil
}

// ipWait is how long past now the IP must still wait.
func (l *Limiter) ipWait(ip State, now time.Time) time.Duration {
	if ip.Count < l.c.IPFree {
		return 0
	}
	return until(ip.Last.Add(backoff(l.c.IPBaseDelay, ip.Count-l.c.IPFree, l.c.IPMaxDelay)), now)
}

// accountWait is how long past now this client must still wait before its
// next attempt on the account. The delay grows with the account-wide count
// but is timed from this client's own latest failure on the account, and a
// client with no failure on it is never delayed by it: other clients'
// failures can slow the real user by at most AccountMaxDelay after the
// user's own mistake, and can never take the user's turn.
func (l *Limiter) accountWait(acct, pair State, now time.Time) time.Duration {
	if pair.Count == 0 || acct.Count < l.c.AccountFree {
		return 0
	}
	return until(pair.Last.Add(backoff(l.c.AccountBaseDelay, acct.Count-l.c.AccountFree, l.c.AccountMaxDelay)), now)
}

func until(t, now time.Time) time.Duration {
	if now.Before(t) {
		return t.Sub(now)
	}
	return 0
}

// backoff returns base·2^n, capped at limit, without overflow.
func backoff(base time.Duration, n int, limit time.Duration) time.Duration {
	d := base
	for range n {
		if d >= limit || d > limit/2 {
			return limit
		}
		d *= 2
	}
	return min(d, limit)
}

type keySet struct{ ip, account, pair string }

// keys builds the three counter keys of an attempt: the client, the
// account, and the (account, client) pair. The account is identified by
// the SHA-256 of its normalized name, so the store never holds a username.
// The hash is unkeyed: usernames are guessable, so this keeps names out of
// the store and its logs rather than making them secret.
func (l *Limiter) keys(ip netip.Addr, username string) keySet {
	client := l.clientKey(ip)
	name, err := sesame.NormalizeUsername(username)
	if err != nil {
		name = username // an invalid name cannot equal a valid normalized one
	}
	sum := sha256.Sum256([]byte("sesame/guard/account\x00" + name))
	acct := hex.EncodeToString(sum[:])
	return keySet{ip: "ip:" + client, account: "acct:" + acct, pair: "acctip:" + acct + "|" + client}
}

// clientKey is the text identifying one client: an IPv4 address, an IPv6
// prefix of IPv6PrefixLen bits, or "unknown".
func (l *Limiter) clientKey(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	switch {
	case !ip.IsValid():
		return "unknown"
	case ip.Is4():
		return ip.String()
	}
	p, _ := ip.Prefix(l.c.IPv6PrefixLen)
	return p.String()
}

func unavailable(err error) error {
	return sesame.Wrap(sesame.EUnavailable, err, "login is temporarily unavailable: try again shortly")
}

// RetryAfter formats a wait for the Retry-After header: whole seconds,
// rounded up, at least 1.
func RetryAfter(d time.Duration) string {
	s := d / time.Second
	if d%time.Second > 0 {
		s++
	}
	return strconv.FormatInt(int64(max(s, 1)), 10)
}
