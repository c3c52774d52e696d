// Package guard protects Sesame's login door: it throttles password logins
// per client IP and per account with exponential backoff (SEC-46), finds
// the client IP behind trusted proxies only (SEC-52), and bounds how many
// password hashes run at once (SEC-44).
//
//	limiter := guard.NewLimiter(db, guard.Config{}) // db: the session-state store
//	proxies, err := guard.ParsePrefixes(trustedProxiesFlag)
//	resolver := guard.IPResolver{TrustedProxies: proxies}
//	hashing := guard.NewHashLimiter(guard.HashConfig{})
//
// The login policy built from these parts (ask [Limiter.Allow] before any
// hashing, check the password inside [HashLimiter.Do], count a wrong
// password or an unknown user with [Limiter.Failure] and fail closed when
// it cannot be counted, forget the client's failures with
// [Limiter.Success]) is written once, in package account: give the limiter
// and the gate to an account.Service and call its Login, Register and
// Reauthenticate. An HTTP handler only translates their errors:
//
//	accounts.Throttle, accounts.Hashing = limiter, hashing
//
//	// per login request:
//	user, err := accounts.Login(ctx, account.LoginRequest{Username: name, Password: pw, IP: resolver.ClientIP(r)})
//	if wait, ok := account.RetryAfter(err); ok {
//		w.Header().Set("Retry-After", guard.RetryAfter(wait)) // 429 throttled, or 503 busy
//	}
//	// err's code gives the status: 401, 403, 429, or 503 when the store is down
//
// # Policy
//
// Every failed login (a wrong password or an unknown username, which must
// look alike, SEC-45) adds one to each of three counters in the shared
// [Store]:
//
//   - the client IP ("ip:203.0.113.7"; IPv6 by /64 prefix, since one
//     subscriber holds a whole /64). After [Config.IPFree] (10) failures the
//     IP must wait [Config.IPBaseDelay] (1 s) after its latest failure before
//     its next attempt, doubling with every further failure up to
//     [Config.IPMaxDelay] (15 min): 10 failures → 1 s, 11 → 2 s, 12 → 4 s,
//     …, 19 → 512 s, 20 and more → 15 min. The counter is forgotten after
//     [Config.IPWindow] (1 h) without a failure. A success does not reset
//     it.
//   - the account ("acct:" and the SHA-256 of the normalized username; the
//     store never holds a username), counting failures from everywhere.
//   - the (account, client IP) pair.
//
// When the account has seen [Config.AccountFree] (5) or more failures, a
// client that has itself failed on that account must wait, after its own
// latest failure there, [Config.AccountBaseDelay] (1 s) doubling with every
// further account failure up to [Config.AccountMaxDelay] (30 s). These
// counters are forgotten after [Config.AccountWindow] (15 min) without a
// failure; a successful login forgets the pair. An attempt is allowed when
// neither the IP wait nor the account wait is running; the caller is told
// the longer of the two as Retry-After. Waits end at exactly Last + delay.
//
// # Why the real user cannot be locked out
//
// Lockout-based throttling turns into denial of service: whoever knows a
// username can keep its owner out. The classic fix, a per-account delay
// instead of a lock, is not enough when the delay is shared: once it ends,
// the attacker's script, polling every few milliseconds, takes the next turn
// and starts the delay again, and the real user almost never wins the race.
// So the per-account delay here is shared in its length only, never in its
// turns: it is timed from each client's own latest failure on the account,
// and a client that has not failed on the account in the last 15 minutes is
// not delayed by it at all. Hence, whatever any number of attackers do:
//
//   - the real user's first attempt from their own IP goes through (unless
//     their own IP is over its limit, which only their own failures, or
//     those of others behind the same address, can cause);
//   - after each of their own mistakes they wait at most AccountMaxDelay
//     (30 s) — slowed, never blocked;
//   - nothing an attacker does from other addresses can take their turn.
//
// # The trade-off: credential stuffing versus targeted brute force
//
// Credential stuffing tries a few leaked passwords on each of many
// accounts; targeted brute force tries many passwords on one account.
// Per-IP limits come first and do most of the work against both: an
// address gets 10 free failures, then 12 more within the first hour and one
// every 15 minutes after that (114 in the first day, then 96 a day),
// whichever accounts it tries. Per-account limits could only stop an attacker who has
// many addresses (a botnet) by slowing attempts from addresses that have
// never failed on the account, which is exactly what would let the
// attacker lock the owner out. We choose availability for the real user:
// against a botnet the per-account counter slows every repeated attempt
// per address on the account to one per 30 s, but each new address still
// gets its per-IP budget. The remaining defences against a large botnet
// are the password policy's breached-password checks (SEC-43), strong
// hashing, and multi-factor authentication, which throttling cannot
// replace.
//
// # Store outages and races
//
// Allow fails closed: when the store cannot answer it returns
// [sesame.EUnavailable] (503), never an internal error and never an
// unthrottled login. The check (Allow) and the count (Failure) are two
// round trips, so attempts already between them when an IP crosses its
// threshold still complete; their number is bounded by the
// [HashLimiter]'s slots and queue.
//
// # Client IP
//
// [IPResolver.ClientIP] believes X-Forwarded-For only when the TCP peer
// is a configured trusted proxy (--trusted-proxies, none by default), and
// takes the right-most untrusted address, so that a client cannot choose
// the address its attempts are counted against.
//
// # Hashing
//
// [HashLimiter] runs the password check under a concurrency limit (half
// of GOMAXPROCS by default) with a short bounded queue, and refuses the
// excess with 503 at once, so that a login flood costs the server a
// bounded share of its CPU and memory (argon2id takes 19 MiB per hash).
package guard
