package guard

import (
	"context"
	"log/slog"
	"time"
)

// State is one throttle counter as a [Store] returns it. The zero State
// means no failures: the counter does not exist or has expired.
type State struct {
	// Count is the number of failures recorded since the counter was
	// (re)started.
	Count int
	// Last is the latest failure time the counter has seen.
	Last time.Time
	// Expires is when the counter is forgotten if no further failure is
	// recorded: at and after Expires it reads as the zero State.
	Expires time.Time
}

// Counter names one counter to record a failure on, and how long the
// counter lives after it.
type Counter struct {
	// Key is an opaque string built by the [Limiter]; at most a few hundred
	// bytes. Keys never contain a raw username or password.
	Key string
	// Window is how long the counter is kept after this failure; it must be
	// positive.
	Window time.Duration
}

// Store keeps throttle counters where every server of a deployment sees
// them: the session-state store. Implementations must be safe for
// concurrent use, also by several processes on one database, and pass
// storetest.RunGuard. A [Limiter] makes at most one Store call per step of
// a login attempt (one Get before the password is hashed, one Fail or
// Reset after), each carrying all the keys of that step, so that every
// step is a single round trip.
//
// Times are those passed in (the caller's clock) and read back exactly, to
// the nanosecond (SQL adapters store unix nanoseconds as integers);
// implementations must not read their own clock.
//
// Errors: any error means the store could not answer, and the Limiter fails
// closed on it (see [Limiter.Allow]). A missing or expired key is not an
// error.
type Store interface {
	// Fail records one failure on each counter at now and returns each
	// counter's new State, in the order given. For each counter, atomically:
	// when the key is missing or now is at or after its Expires, the counter
	// restarts as {Count: 1, Last: now, Expires: now + Window}; otherwise
	// Count grows by one, Last becomes the later of Last and now, and
	// Expires the later of Expires and now + Window (so a node whose clock
	// lags never moves a counter back).
	//
	// Atomicity is required per key, not across keys: concurrent Fail calls
	// on one key, from any number of processes, must each add exactly one
	// and each return a distinct Count (no lost updates, no read-then-write
	// across round trips). A crash may record some counters of a call and
	// not others. On SQL databases this is one INSERT ... ON CONFLICT (key)
	// DO UPDATE ... RETURNING per key, all in one transaction (SQLite,
	// PostgreSQL); on Redis, one Lua script per key, pipelined, so keys may
	// sit in different cluster slots, with PEXPIREAT for Expires.
	//
	// Naming one key twice in a call counts it twice.
	Fail(ctx context.Context, now time.Time, counters ...Counter) ([]State, error)

	// Get returns the State of each key at now, in the order given: the
	// zero State for a key that is missing or whose Expires is at or before
	// now. It changes nothing. It needs no isolation beyond reading
	// committed states, and may be served by a replica that lags by
	// milliseconds.
	Get(ctx context.Context, now time.Time, keys ...string) ([]State, error)

	// Reset deletes the counters. Deleting a missing key is not an error.
	Reset(ctx context.Context, keys ...string) error
}

// Cleaner is implemented by stores that keep expired counters until told
// to delete them (SQL databases; Redis expires keys by itself). Expired
// counters already read as zero, so cleaning only reclaims space; without
// it an attacker who rotates usernames grows the table by one row per
// attempt until the next cleanup.
type Cleaner interface {
	// DeleteStaleThrottles deletes the counters whose Expires is at or
	// before now and returns how many it deleted.
	DeleteStaleThrottles(ctx context.Context, now time.Time) (int, error)
}

// RunCleanup calls c.DeleteStaleThrottles with the system time every
// interval (one minute when every <= 0) until ctx ends; errors are logged
// and retried next round. A nil logger discards. Run it in its own
// goroutine.
func RunCleanup(ctx context.Context, c Cleaner, every time.Duration, logger *slog.Logger) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := c.DeleteStaleThrottles(ctx, time.Now()); err != nil && ctx.Err() == nil {
			logger.Error("guard: throttle cleanup failed", "err", err)
		} else if n > 0 {
			logger.Debug("guard: deleted stale throttle counters", "deleted", n)
		}
	}
}
