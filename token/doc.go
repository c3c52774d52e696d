// Package token issues and checks the second carrier of a Sesame session:
// short-lived access JWTs (typ at+jwt; claims iss sub aud exp iat jti sid
// client_id scope) and opaque refresh tokens, both bound to one
// server-side session, so that every way of ending the session (logout,
// revoke, block, refresh-token reuse) ends its tokens too.
//
// Refresh tokens rotate on every use. A token presented again within the
// grace window (default 10 s) after its first use gets the same successor
// pair, so two tabs or a retried request do not log the user out and no new
// branch is created; presented later, or from an already-rotated branch, it
// is reuse: the whole family and its session are revoked (SEC-29).
// Redemption is a compare-and-swap in the store, so N concurrent
// redemptions of one token yield exactly one successor (SEC-30), across
// nodes too.
//
// Successor tokens are derived, not stored: successor = HMAC(SuccessorKey,
// token). That is how a replay within the grace gets the very same refresh
// token back although the store keeps only hashes.
//
// Access tokens are checked on every request against the session manager's
// in-process denylist of revoked session IDs (no store round-trip), so a
// logout or block rejects every access token of the session at once.
//
//	svc, _ := token.New(token.Config{Issuer: "https://auth.example", Keys: ring,
//		SuccessorKey: key, Store: store, Sessions: sessions})
//	pair, _ := svc.Issue(ctx, sess, "mobile-app", "")
//	claims, err := svc.Authenticate(ctx, pair.AccessToken)
//	next, err := svc.Refresh(ctx, pair.RefreshToken, "", "")
package token
