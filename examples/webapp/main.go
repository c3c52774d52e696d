// Command webapp is a small server-rendered app on the standard library's
// mux that uses Sesame as a library: sign-up and password login through
// the account service (throttled, with the same work for unknown users),
// session cookies, CSRF protection on every form, and typed session data
// (a list of notes).
//
//	go run ./examples/webapp -addr 127.0.0.1:8081 -db notes.db
//
// Cookies are Secure with the __Host- prefix: browsers keep them on https
// and on http://localhost. Behind TLS, drop -insecure-cookies.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"html/template"
	"log"
	"net/http"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/csrf"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/sqlite"
)

var page = template.Must(template.New("page").Parse(`<!doctype html><title>Notes</title>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
{{if .User}}<p>Signed in as {{.User}}.</p>
<ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="/notes"><input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input name="note" required maxlength="200"> <button>Add</button></form>
<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{{.CSRF}}"><button>Sign out</button></form>
{{else}}<form method="post" action="/login"><input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input name="username" autocomplete="username"> <input type="password" name="password" autocomplete="current-password">
<button name="action" value="login">Sign in</button> <button name="action" value="signup">Create account</button></form>{{end}}`))

// App is the example's handler and what it is built from.
type App struct {
	Sessions *session.Manager
	Accounts *account.Service
	CSRF     *csrf.Protection
}

// New builds the app over a SQLite database at path. csrfKey must be 32
// random bytes, the same on every node and across restarts.
func New(ctx context.Context, path string, csrfKey []byte, cfg session.Config, hasher account.Hasher) (*App, func(), error) {
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	sessions, err := session.New(db, cfg)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	sessions.Start(ctx)
	accounts := &account.Service{Users: db, Sessions: sessions, Hasher: hasher,
		Throttle: guard.NewLimiter(db, guard.Config{})} // per IP and per account (SEC-46)
	protect, err := csrf.New(csrf.Config{Key: csrf.Key(csrfKey), SessionID: func(r *http.Request) string {
		if s, ok := session.Current(r.Context()); ok {
			return s.ID
		}
		return "" // before login: a token bound to a pre-session cookie
	}})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return &App{Sessions: sessions, Accounts: accounts, CSRF: protect}, func() { db.Close() }, nil
}

// Handler is the app: the session middleware outside, then CSRF, then the
// routes.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { a.render(w, r, "") })
	mux.HandleFunc("POST /login", a.login)
	mux.Handle("POST /notes", a.Sessions.RequireAuth(http.HandlerFunc(a.addNote)))
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := a.Sessions.Logout(w, r); err != nil {
			http.Error(w, sesame.ErrorMessage(err), sesame.HTTPStatus(sesame.ErrorCode(err)))
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	return a.Sessions.Middleware(a.CSRF.Handler(mux))
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name, pw := r.PostFormValue("username"), r.PostFormValue("password")
	ip := guard.IPResolver{}.ClientIP(r) // set TrustedProxies behind a proxy
	var u *sesame.User
	var err error
	if r.PostFormValue("action") == "signup" {
		u, err = a.Accounts.Register(ctx, account.SignupRequest{Username: name, Password: pw, IP: ip})
	} else {
		u, err = a.Accounts.Login(ctx, account.LoginRequest{Username: name, Password: pw, IP: ip, UserAgent: r.UserAgent()})
	}
	if err == nil {
		_, err = a.Sessions.Login(w, r, u.ID, session.LoginOptions{}) // a fresh session ID (fixation defence)
	}
	if err != nil {
		w.WriteHeader(sesame.HTTPStatus(sesame.ErrorCode(err))) // 401, 409, 429 ...
		a.render(w, r, sesame.ErrorMessage(err))                // a message safe to show
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *App) addNote(w http.ResponseWriter, r *http.Request) {
	notes, _, err := session.Get[[]string](r.Context(), "notes")
	if err == nil {
		err = session.Put(r.Context(), "notes", append(notes, r.PostFormValue("note"))) // saved before the response
	}
	if err != nil {
		http.Error(w, sesame.ErrorMessage(err), sesame.HTTPStatus(sesame.ErrorCode(err)))
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *App) render(w http.ResponseWriter, r *http.Request, msg string) {
	tok, err := a.CSRF.Token(w, r) // before the body: it may set the pre-session cookie
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	data := struct {
		User, Error, CSRF string
		Notes             []string
	}{Error: msg, CSRF: tok}
	if s, ok := session.Current(r.Context()); ok {
		if u, err := a.Accounts.Users.UserByID(r.Context(), s.UserID); err == nil {
			data.User = u.Username
		}
		data.Notes, _, _ = session.Get[[]string](r.Context(), "notes")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	page.Execute(w, data)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	path := flag.String("db", "notes.db", "SQLite database")
	insecure := flag.Bool("insecure-cookies", true, "plain-HTTP development on localhost")
	flag.Parse()
	key := make([]byte, 32) // a real app loads a persistent key: a restart voids every CSRF token
	rand.Read(key)
	app, closeDB, err := New(context.Background(), *path, key, session.Config{InsecureCookie: *insecure}, &password.Hasher{})
	if err != nil {
		log.Fatal(err)
	}
	defer closeDB()
	log.Printf("notes on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, app.Handler()))
}
