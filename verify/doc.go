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
//		Revocations: &verify.RevocationConfig{}, // https://auth.example/api/v1/revocations
//	})
//	if err != nil {
//		return err
//	}
//	if err := v.Refresh(ctx); err != nil { // optional: fail fast at start-up
//		return err
//	}
//	v.Start(ctx) // optional: refresh and poll in the background
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
// and client_id must be present (SEC-22).
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
