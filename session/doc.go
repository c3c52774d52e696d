// Package session keeps server-side sessions: state on the server, a random
// token in a hardened cookie.
//
// A [Manager] creates, loads, renews and revokes sessions over a [Store]
// (package memstore, sqlite, postgres or redis). Its [Manager.Middleware]
// loads the request's session and saves its data before the response is
// written; [Manager.RequireAuth] answers 401 without one. An authenticated
// request costs no store round-trip: the manager keeps an in-process view of
// the live sessions, kept in sync by the store's change feed (and a
// [Notifier], when one is configured, within milliseconds); a view that may
// be stale is not trusted, and the store is read instead.
//
// # Usage
//
//	store, err := sqlite.Open(ctx, "app.db")
//	if err != nil { ... }
//	sessions, err := session.New(store, session.Config{}) // the zero Config is the secure default
//	if err != nil { ... }
//	sessions.Start(ctx) // keeps the in-process view in sync until ctx ends
//
//	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
//		u, err := accounts.Login(r.Context(), account.LoginRequest{...}) // package account: throttled
//		if err != nil { ... }
//		// A fresh ID every time: a session planted before login is never adopted.
//		if _, err := sessions.Login(w, r, u.ID, session.LoginOptions{Remember: true}); err != nil { ... }
//	})
//	mux.Handle("POST /cart", sessions.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		items, _, err := session.Get[[]string](r.Context(), "cart") // typed data
//		if err != nil { ... }
//		if err := session.Put(r.Context(), "cart", append(items, "book")); err != nil { ... }
//	})))
//	http.ListenAndServe(addr, sessions.Middleware(csrfProtection.Handler(mux)))
//
// Protect unsafe requests with package csrf (its SessionID function reads
// [Current]). The runnable examples of [Manager.Login], [Manager.Renew]
// and [AnonymousConfig] show each step, and examples/webapp is a complete
// program. Call [Manager.Renew] after a privilege change, [Manager.Logout]
// to end the request's session, [Manager.Revoke] and [Manager.RevokeUser]
// from an admin tool or another node: every node stops accepting the session
// within its sync bound.
//
// Sessions before login (a cart, a flash message) are opt-in: with
// Config.Anonymous enabled, the first [Put] of a request without a session
// creates an anonymous session, which never authenticates and which
// [Manager.Login] replaces by a fresh one that keeps its data (see
// [AnonymousConfig]).
//
// # Guarantees
//
//   - Tokens are 256 bits from crypto/rand; the store keeps only their
//     SHA-256. The public session ID that lists and revokes a session is not
//     a credential.
//   - Idle and absolute timeouts are enforced on the server; "remember me"
//     gets a persistent cookie, everything else a browser-session cookie.
//   - Every response that reads or sets the session cookie carries
//     "Vary: Cookie" and Config.CacheControl ("no-store" by default), so a
//     shared cache never serves one user's page to another.
//   - Concurrent requests that change different data keys both keep their
//     change (merge on a version conflict).
//   - One rule decides whether a session is live, for the cookie, the
//     access-token check, refresh and lookups alike.
package session
