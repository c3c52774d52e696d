// Command api is a small JSON API for a mobile client on the standard mux,
// using Sesame as a library: password login (throttled, the same work for
// unknown users), one session per device carried by tokens (a short-lived
// access JWT sent as Bearer, a refresh token that rotates on every use),
// refresh, revoke (RFC 7009) and logout. `go run ./examples/api -addr
// 127.0.0.1:8082 -db api.db` (the master key goes to api.db.key), then:
//
//	POST /signup         {"username","password"}  201 {}
//	POST /login          {"username","password"}  200 {"access_token","token_type","expires_in","refresh_token"}
//	GET  /me             Bearer                   200 {"user_id","session_id"}
//	POST /token/refresh  {"refresh_token"}        200 a new pair; the old refresh token is spent
//	POST /token/revoke   {"token"}                200 whatever the token (RFC 7009): its session ends
//	POST /logout         Bearer                   204: the session and all its tokens end
//
// Errors are {"error":{"code","message"}}. The client sends no cookie, so
// there is nothing for CSRF to ride on.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log"
	"mime"
	"net/http"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/sqlite"
	"github.com/sesame-auth/sesame/token"
)

// API is the example's handler and what it is built from.
type API struct {
	Sessions *session.Manager
	Accounts *account.Service
	Tokens   *token.Service
}

// New builds the API over a SQLite database at path. master seals the
// signing keys kept in the database and derives the refresh-token key: the
// same on every node and across restarts. cfg.Clock, when set, is every
// component's clock.
func New(ctx context.Context, path, issuer string, master *keyring.MasterKey, cfg session.Config, hasher account.Hasher) (*API, func(), error) {
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	a, ring := &API{}, (*keyring.Ring)(nil)
	if a.Sessions, err = session.New(db, cfg); err == nil {
		a.Sessions.Start(ctx)
		ring, err = keyring.Open(ctx, db, master, keyring.Config{Clock: cfg.Clock}) // an ES256 key, made on first start
	}
	if err == nil {
		ring.Start(ctx)
		a.Accounts = &account.Service{Users: db, Sessions: a.Sessions, Hasher: hasher, Clock: cfg.Clock,
			Throttle: guard.NewLimiter(db, guard.Config{Clock: cfg.Clock})} // per IP and per account (SEC-46)
		a.Tokens, err = token.New(token.Config{Issuer: issuer, Keys: ring, SuccessorKey: master.Derive("refresh successor", 32),
			Store: db, Sessions: a.Sessions, CheckUser: a.Accounts.CheckUser, Clock: cfg.Clock})
	}
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return a, func() { db.Close() }, nil
}

// Handler is the API: the token middleware outside (a valid Bearer token
// puts its sesame.Principal in the context, a bad one is 401 at once), and
// sesame.RequireAuth on the routes that need a caller.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /signup", endpoint(func(r *http.Request, in body) (int, any, error) {
		_, err := a.Accounts.Register(r.Context(), account.SignupRequest{Username: in.Username, Password: in.Password,
			IP: guard.IPResolver{}.ClientIP(r)}) // 400 policy, 409 taken, 429 throttled
		return http.StatusCreated, struct{}{}, err
	}))
	mux.Handle("POST /login", endpoint(a.login))
	mux.Handle("GET /me", sesame.RequireAuth(endpoint(func(r *http.Request, _ body) (int, any, error) {
		p := sesame.PrincipalFrom(r.Context()) // whoever RequireAuth let through
		return http.StatusOK, map[string]string{"user_id": p.UserID, "session_id": p.SessionID}, nil
	})))
	mux.Handle("POST /token/refresh", endpoint(func(r *http.Request, in body) (int, any, error) {
		pair, err := a.Tokens.Refresh(r.Context(), in.RefreshToken, "", "") // 401 invalid_grant: spent, revoked, expired
		return http.StatusOK, pair, err
	}))
	mux.Handle("POST /token/revoke", endpoint(func(r *http.Request, in body) (int, any, error) {
		return http.StatusOK, struct{}{}, a.Tokens.Revoke(r.Context(), in.Token, in.Hint)
	}))
	mux.Handle("POST /logout", sesame.RequireAuth(endpoint(func(r *http.Request, _ body) (int, any, error) {
		_, err := a.Sessions.Revoke(r.Context(), sesame.PrincipalFrom(r.Context()).SessionID, "logout")
		return http.StatusNoContent, nil, err
	})))
	return token.NewMiddleware(a.Tokens).Handler(mux) // the Authorization header only, never a cookie
}

// login checks the password under the account policy (401 with one message
// for an unknown user or a wrong password, 403 blocked, 429 throttled) and
// starts the device's session, which logout, revoke or a block end with
// every token bound to it.
func (a *API) login(r *http.Request, in body) (int, any, error) {
	ctx, ip := r.Context(), guard.IPResolver{}.ClientIP(r) // set TrustedProxies behind a proxy
	u, err := a.Accounts.Login(ctx, account.LoginRequest{Username: in.Username, Password: in.Password, IP: ip, UserAgent: r.UserAgent()})
	var pair *token.Pair
	if err == nil {
		var sess *sesame.Session
		sess, err = a.Sessions.StartTokenSession(ctx, u.ID, session.LoginOptions{Remember: true,
			Device: &sesame.Device{UserAgent: r.UserAgent(), IP: ip.String()}})
		if err == nil {
			pair, err = a.Tokens.Issue(ctx, sess, "mobile", "")
		}
	}
	return http.StatusOK, pair, err
}

// body is every request body of the API.
type body struct {
	Username, Password, Token string
	RefreshToken              string `json:"refresh_token"`
	Hint                      string `json:"token_type_hint"` // "access_token" or "refresh_token": which to try first
}

// endpoint adapts f: it reads the JSON body, if any (at most 16 KiB), and
// answers with f's status and the JSON of its value (never cached,
// SEC-50), or with its error as {"error":{"code","message"}}.
func endpoint(f func(*http.Request, body) (int, any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in body
		status, v, err := 0, any(nil), error(nil)
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); r.ContentLength != 0 && mt != "application/json" {
			err = sesame.Errorf(sesame.EUnsupported, "Content-Type must be application/json")
		} else if r.ContentLength != 0 && json.NewDecoder(io.LimitReader(r.Body, 16<<10)).Decode(&in) != nil {
			err = sesame.Errorf(sesame.EInvalid, "the body is not JSON of the expected shape")
		} else {
			status, v, err = f(r, in)
		}
		if wait, ok := account.RetryAfter(err); ok {
			w.Header().Set("Retry-After", guard.RetryAfter(wait))
		}
		if err != nil {
			session.WriteJSONError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if v == nil {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	})
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "listen address")
	path := flag.String("db", "api.db", "SQLite database")
	flag.Parse()
	master, err := keyring.CreateMasterKeyFile(*path + ".key") // mode 0600; loaded when it exists
	if err != nil {
		log.Fatal(err)
	}
	api, closeDB, err := New(context.Background(), *path, "http://"+*addr, master, session.Config{}, &password.Hasher{})
	if err != nil {
		log.Fatal(err)
	}
	defer closeDB()
	log.Printf("API on http://%s (behind TLS in production)", *addr)
	log.Fatal(http.ListenAndServe(*addr, api.Handler()))
}
