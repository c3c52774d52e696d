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
// Access tokens are checked on every request against the session they are
// bound to ([session.Manager.CheckLive], SEC-64): it must be live in the
// manager's in-process view (no store round-trip) or in the store, so a
// logout, revoke or block rejects every access token of the session at
// once, and a store that lost the session rejects them too.
//
// # Usage
//
//	tokens, err := token.New(token.Config{
//		Issuer:       "https://auth.example",
//		Keys:         ring,                                   // package keyring, or a jose.KeySet
//		SuccessorKey: master.Derive("refresh successor", 32), // 32+ secret bytes, the same on every node
//		Store:        db,                                     // sqlite, postgres, redis or memstore
//		Sessions:     sessions,                               // the session.Manager the tokens are bound to
//		CheckUser:    accounts.CheckUser,                     // blocking is final on the token path (SEC-13)
//	})
//	if err != nil { ... }
//
// Issue a pair at login, after the password check (package account):
//
//	sess, err := sessions.StartTokenSession(ctx, user.ID, session.LoginOptions{Remember: true})
//	if err != nil { ... }
//	pair, err := tokens.Issue(ctx, sess, "mobile", "") // JSON: access_token, token_type, expires_in, refresh_token
//
// Protect routes: [Middleware] puts the caller's [sesame.Principal] in the
// context and refuses a bad token with 401; [sesame.RequireAuth] refuses a
// request without a Principal. A same-site SPA that keeps its token in
// the [AccessCookie] needs AcceptCookie and CSRF protection (package csrf).
//
//	m := token.NewMiddleware(tokens)
//	mux.Handle("GET /orders", sesame.RequireAuth(orders)) // in orders: sesame.PrincipalFrom(r.Context()).UserID
//	http.ListenAndServe(addr, m.Handler(mux))
//
// Wrapped in sessions.Middleware, the same routes take a session cookie as
// well: a token's Principal wins when a request has both.
//
// Refresh when the access token expires; the refresh token is spent by its
// use (ErrInvalidGrant, 401, means: sign in again):
//
//	next, err := tokens.Refresh(ctx, pair.RefreshToken, "", "")
//
// Revoke (RFC 7009) or log out: the session ends, and every token bound to
// it with it, on every node:
//
//	err := tokens.Revoke(ctx, tokenFromClient, "refresh_token") // nil for an unknown token
//	_, err = sessions.Revoke(ctx, sesame.PrincipalFrom(r.Context()).SessionID, "logout")
//
// examples/api is a complete program on this path.
//
// # OAuth 2 clients
//
// Package oauth issues through the same service. [Service.IssueWith] starts
// a family for a client with an RFC 8707 audience (the resources it asked
// for), kept in [Refresh.Audience]: its access tokens carry it as aud, so
// that [Service.Authenticate] and [Middleware] (Sesame's own API, whose
// audience is the issuer) refuse them, and [Service.RefreshWith] may narrow
// it for one token, never widen it ([ErrInvalidTarget]).
// [Service.Verify] checks a token for the audiences of an endpoint or
// resource (typ at+jwt, so never an ID or logout token; a live session
// for a token with sid). [Service.ClientCredentials] issues a client's own
// token: sub = client_id, no sid and no refresh token; only Verify (and
// package verify with AcceptClientTokens) accepts it.
package token
