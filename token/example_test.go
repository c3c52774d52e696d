package token_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// newService is the setup of the examples: a session manager and a token
// service over one store, on a clock the examples move by hand. A server
// keeps its signing keys in a keyring (package keyring) and derives the
// successor key from its master key.
func newService(ctx context.Context, clock sesame.Clock) (*session.Manager, *token.Service) {
	store := memstore.New() // or sqlite, postgres, redis
	sessions, err := session.New(store, session.Config{Clock: clock})
	if err != nil {
		panic(err)
	}
	sessions.Start(ctx)
	key, err := jose.GenerateKey(jose.ES256, "")
	if err != nil {
		panic(err)
	}
	keys, err := jose.NewKeySet(key)
	if err != nil {
		panic(err)
	}
	tokens, err := token.New(token.Config{
		Issuer:       "https://auth.example",
		Keys:         keys,
		SuccessorKey: []byte("an example key of 32 bytes, only"), // 32+ bytes from crypto/rand
		Store:        store,
		Sessions:     sessions,
		Clock:        clock,
	})
	if err != nil {
		panic(err)
	}
	return sessions, tokens
}

// Protecting routes with access tokens: the middleware puts the caller's
// sesame.Principal in the context, sesame.RequireAuth lets through only
// requests that have one. A missing token is RequireAuth's 401; a bad,
// malformed or revoked one is the middleware's 401 and never reaches the
// routes.
func ExampleMiddleware() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sessions, tokens := newService(ctx, nil)

	// At login (after the password check, package account): a session for
	// the device, and the first token pair bound to it.
	sess, err := sessions.StartTokenSession(ctx, "alice", session.LoginOptions{})
	if err != nil {
		panic(err)
	}
	pair, err := tokens.Issue(ctx, sess, "mobile", "orders:read")
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "up") })
	mux.Handle("GET /orders", sesame.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := sesame.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "orders of %s (%s, scope %q)", p.UserID, p.Method, p.Claims.Scope)
	})))
	m := token.NewMiddleware(tokens) // m.AcceptCookie(token.AccessCookie) for a same-site SPA
	h := m.Handler(mux)

	get := func(path, authorization string) {
		r := httptest.NewRequest("GET", path, nil)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"), strings.TrimSpace(w.Body.String()))
	}
	get("/orders", "Bearer "+pair.AccessToken)
	get("/status", "")                             // public: no token needed
	get("/orders", "")                             // RequireAuth's challenge
	get("/orders", "Basic YWxpY2U6c2VjcmV0")       // only Bearer (SEC-20)
	get("/status", "Bearer "+pair.AccessToken+"x") // a forged token is refused even here
	if _, err := sessions.Revoke(ctx, sess.ID, "logout"); err != nil {
		panic(err)
	}
	get("/orders", "Bearer "+pair.AccessToken) // its session is gone
	// Output:
	// 200  orders of alice (bearer, scope "orders:read")
	// 200  up
	// 401 Bearer {"error":{"code":"unauthenticated","message":"authentication required"}}
	// 401 Bearer error="invalid_token" {"error":{"code":"unauthenticated","message":"malformed Authorization header: want Bearer <token>"}}
	// 401 Bearer error="invalid_token" {"error":{"code":"unauthenticated","message":"invalid access token"}}
	// 401 Bearer error="invalid_token" {"error":{"code":"unauthenticated","message":"invalid access token"}}
}

// Check is the decision alone, for code that is not a middleware chain (a
// WebSocket upgrade, a handler that answers anonymous and signed-in
// callers differently).
func ExampleMiddleware_Check() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sessions, tokens := newService(ctx, nil)
	sess, _ := sessions.StartTokenSession(ctx, "alice", session.LoginOptions{})
	pair, _ := tokens.Issue(ctx, sess, "", "")
	m := token.NewMiddleware(tokens)

	for _, authorization := range []string{"Bearer " + pair.AccessToken, "", "Bearer not.a.token"} {
		r := httptest.NewRequest("GET", "/", nil)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		p, err := m.Check(r)
		switch {
		case err == nil:
			fmt.Println("signed in:", p.UserID, p.SessionID == sess.ID)
		case errors.Is(err, token.ErrNoToken):
			fmt.Println("anonymous")
		default:
			fmt.Println("refused:", sesame.ErrorCode(err)) // EUnavailable (503) when the store cannot answer
		}
	}
	// Output:
	// signed in: alice true
	// anonymous
	// refused: unauthenticated
}

// Refresh rotates the refresh token: each one is spent by its use. A
// client retrying within the grace (10 s) gets the same successor; a spent
// token presented later is taken as stolen, and the whole family and its
// session end (SEC-29), the thief's and the owner's tokens alike.
func ExampleService_Refresh() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := testclock.New(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	sessions, tokens := newService(ctx, clock)
	sess, _ := sessions.StartTokenSession(ctx, "alice", session.LoginOptions{Remember: true})
	first, _ := tokens.Issue(ctx, sess, "mobile", "")

	second, err := tokens.Refresh(ctx, first.RefreshToken, "mobile", "")
	fmt.Println("refresh:", err == nil, second.RefreshToken != first.RefreshToken)
	retry, err := tokens.Refresh(ctx, first.RefreshToken, "mobile", "") // a retried request
	fmt.Println("retry within the grace:", err == nil, retry.RefreshToken == second.RefreshToken)

	clock.Add(time.Minute)
	_, err = tokens.Refresh(ctx, first.RefreshToken, "mobile", "") // replayed by a thief
	fmt.Println("spent token later:", sesame.ErrorMessage(err))
	_, err = tokens.Refresh(ctx, second.RefreshToken, "mobile", "")
	fmt.Println("its successor:", sesame.ErrorMessage(err))
	_, err = tokens.Authenticate(ctx, second.AccessToken)
	fmt.Println("the access token:", sesame.ErrorCode(err))
	// Output:
	// refresh: true true
	// retry within the grace: true true
	// spent token later: invalid_grant: the refresh token is invalid, expired or revoked
	// its successor: invalid_grant: the refresh token is invalid, expired or revoked
	// the access token: unauthenticated
}

// Revoke is RFC 7009's revocation: the token's session and refresh family
// end, and every access token of the session with them. An unknown token
// is not an error, so a client's logout never fails on a stale token.
func ExampleService_Revoke() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sessions, tokens := newService(ctx, nil)
	sess, _ := sessions.StartTokenSession(ctx, "alice", session.LoginOptions{})
	pair, _ := tokens.Issue(ctx, sess, "mobile", "")

	fmt.Println(tokens.Revoke(ctx, pair.RefreshToken, "refresh_token"))
	_, err := tokens.Authenticate(ctx, pair.AccessToken)
	fmt.Println("access token:", sesame.ErrorCode(err))
	_, err = tokens.Refresh(ctx, pair.RefreshToken, "", "")
	fmt.Println("refresh token:", errors.Is(err, token.ErrInvalidGrant))
	fmt.Println(tokens.Revoke(ctx, "not-a-token", ""))
	// Output:
	// <nil>
	// access token: unauthenticated
	// refresh token: true
	// <nil>
}
