// Package verify lets another Go service accept Sesame's access tokens: a
// middleware that verifies them against the issuer's published key set
// (JWKS) and, optionally, refuses tokens of revoked sessions by following
// the issuer's revocation feed.
//
// # Usage
//
//	v, err := verify.New(verify.Config{
//		JWKSURL:     "https://auth.example/.well-known/jwks.json",
//		Issuer:      "https://auth.example",
//		Audience:    []string{"https://api.example"},
//		// https://auth.example/api/v1/revocations, followed on its stream
//		// .../revocations/stream (revocations pushed in milliseconds),
//		// falling back to polling every second; 503 after 3 s unheard.
//		Revocations: &verify.RevocationConfig{},
//		// or: &verify.RevocationConfig{Transport: verify.TransportPoll},
//	})
//	if err != nil {
//		return err
//	}
//	if err := v.Refresh(ctx); err != nil { // optional: fail fast at start-up
//		return err
//	}
//	v.Start(ctx) // follow the stream (or poll) and refresh keys in the background
//	http.ListenAndServe(addr, v.Middleware(mux))
//
// and in a handler:
//
//	c := verify.FromContext(r.Context()) // c.Subject, c.SessionID, c.ClientID, c.HasScope("read")
//
// The decision, [Verifier.Check] (or [Verifier.Verify] for a token from
// elsewhere), is separate from the enforcement, [Verifier.Middleware],
// whose deny handler is replaceable.
//
// # What is checked
//
// The token is read only from "Authorization: Bearer" (never the query
// string). Its signature must verify with a key of the pinned key set whose
// one algorithm the header must name; "none", and keys named or embedded in
// the header (jwk, jku, x5u, x5c), are refused (SEC-16 to SEC-18). Then typ
// must be at+jwt (SEC-20), iss must equal [Config.Issuer] and aud must meet
// [Config.Audience] (SEC-21), exp must lie ahead (refused from exp itself,
// with [Config.Leeway] of tolerance, default 0), and sub, aud, iat, jti, sid
// and client_id must be present (SEC-22). A client's own token (OAuth 2
// client credentials: no sid, sub = client_id) is refused unless
// [Config.AcceptClientTokens] is set; a token without sid whose sub is not
// its client_id is always refused.
//
// # Key set
//
// The key set is fetched from [Config.JWKSURL] only, with bounded time and
// size, and refreshed every [Config.RefreshInterval]. Concurrent callers
// share one fetch. A token with an unknown kid triggers a fetch at most once
// per [Config.RefetchCooldown], so that a new signing key is picked up at
// once while a flood of tokens with made-up kids costs one fetch per
// cooldown. A failed fetch (network error, non-200, oversized, not JSON, no
// usable key) keeps the last good set and is logged. A key that cannot be
// used (for encryption, an HMAC secret, invalid material) is skipped with a
// warning while the others are used. Until a first set is fetched, requests
// are refused with 503.
//
// # Revocation feed
//
// With [Config.Revocations] set, the verifier follows the issuer's feed of
// revoked sessions and refuses any token whose sid is on it. The client
// side of the protocol is:
//
//	GET {URL}?since=N
//	200 {"revocations":[{"seq":12,"sid":"...","at":"2026-03-01T12:00:00Z"}],"next":13}
//	410 Gone
//
// in these steps:
//
//   - Priming: the first request (and the first after a 410) sends since=0.
//     The issuer answers with its newest position, {"revocations":[],
//     "next":N}; any revocations it does include are applied as well.
//   - Polling: every request after sends since=<next of the previous
//     response>, and applies the listed revocations (oldest first). next
//     is an opaque cursor to the client, but must be at least 1, and must
//     grow when revocations are listed. While a page lists revocations the
//     client asks again at once with the new next (pages of at most 1000),
//     until a page is empty: the view is then caught up, and its age counts
//     from the start of that read.
//   - 410 Gone, or a next lower than since (the issuer's history was
//     reset), means revocations after the client's position are lost: every
//     token is refused with 503 until the client has re-primed with since=0,
//     which it does at once.
//   - Other statuses, network errors and malformed pages count as failed
//     reads. When no read has caught up for [RevocationConfig.MaxStaleness],
//     every token is refused with 503: the verifier fails closed rather
//     than accept a token whose session may have been revoked.
//   - A revoked sid is remembered for [RevocationConfig.MaxTokenLifetime]
//     (plus Leeway) after its "at", by which time every token of the
//     session has expired. An "at" that is missing, unreadable or in the
//     future counts as the time of the read.
//   - Priming learns the position, not the sessions revoked before it. So
//     that a restart (or a 410) cannot let such a session's token back in,
//     tokens issued (iat) before the moment of priming are refused as
//     revoked; clients refresh once and carry on. Set
//     [RevocationConfig.TrustTokensIssuedBeforePrime] to accept them.
//
// # Revocation stream
//
// After [Verifier.Start], with [RevocationConfig.Transport] left at
// [TransportStream], the verifier follows the feed's Server-Sent Events
// stream ([RevocationConfig.StreamURL], default URL + "/stream"), which
// pushes each revocation as the issuer learns of it:
//
//	GET {StreamURL}?heartbeat_ms=H      (Last-Event-ID: N when resuming)
//	200 text/event-stream
//	event: revocation
//	id: 12
//	data: {"seq":12,"sid":"...","at":"2026-03-01T12:00:00Z"}
//
//	event: position
//	id: 13
//	data: {"next":13}
//
//	: heartbeat
//
// Event ids are positions of the same feed as the polls' since and next,
// and the stream and the polls share one position:
//
//   - Priming: a connection made while the view is not primed (at start,
//     or after a lost position) sends no Last-Event-ID; the issuer sends
//     the revocations it holds, then a position event, which primes the
//     view exactly as a poll with since=0 does (barrier included).
//   - Every revocation event is applied at once; every position event
//     ends a catch-up. The first position event of a connection, every
//     later one and every heartbeat comment count as hearing from the
//     issuer: [RevocationConfig.MaxStaleness] runs from the last of them,
//     as it runs from the last caught-up read when polling. Heartbeats are
//     asked every [RevocationConfig.Heartbeat] (default MaxStaleness / 3).
//   - A connection that breaks (network error, end of the response, no
//     sign of life (a heartbeat after the catch-up, a revocation or a
//     position; other bytes do not count) for 2 × Heartbeat + 500 ms, an
//     event over the parser's bounds
//     (8 KiB a line, 32 KiB an event) or malformed: an id that is not a
//     number or does not grow, data that is not the expected JSON) is
//     reconnected with Last-Event-ID set to the position, after a pause
//     that doubles from 100 ms to 5 s, with jitter (a random point in its
//     upper half). Revocations made while disconnected are sent on
//     reconnection: none is missed.
//   - 410 Gone on reconnection, or a position event going back, means the
//     position was lost: every token is refused with 503 until the next
//     connection (at once, without Last-Event-ID) has primed, which sets
//     the barrier whatever TrustTokensIssuedBeforePrime says (SEC-64).
//   - The verifier falls back to polling every PollInterval, the first
//     read at once, when the stream is absent (404, 405, 501), refused
//     (503, any other 4xx), not text/event-stream, or has broken 3 times
//     in a row without delivering its catch-up; it tries the stream again
//     after [RevocationConfig.StreamRetry] (default 30 s).
//
// Fail-closed is the same on both transports: a verifier that has heard
// neither the stream (catch-up, position or heartbeat) nor a caught-up
// read of the feed for MaxStaleness refuses every token with 503, never a
// stale 200. With the stream cut, that happens MaxStaleness after the last
// heartbeat, unless the reconnection or the fallback polls are heard
// first. Without Start, with [TransportPoll], or with a MaxStaleness under
// 750 ms (three of the shortest heartbeats the issuer sends) and no
// Heartbeat set, the feed is polled as described above.
//
// The revocation check runs on every request, also for tokens served from
// the cache of verified tokens ([Config.CacheSize]).
//
// # Errors
//
// Refusals are *[sesame.Error] values: [sesame.EUnauthenticated] (401, with
// "WWW-Authenticate: Bearer", plus error="invalid_token" when a token was
// presented) or [sesame.EUnavailable] (503). They wrap [ErrNoToken],
// [ErrMalformedAuthorization], [ErrRevoked], [ErrUnavailable] or a jose
// sentinel such as [jose.ErrExpired], for logs and [errors.Is]; their
// client-facing messages are fixed and never contain the token.
//
// A Verifier is safe for concurrent use.
package verify
