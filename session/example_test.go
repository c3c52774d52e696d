package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/session"
)

// A shopping cart before login: with anonymous sessions on, the first Put
// of a visitor creates a session (and its cookie); login replaces it by a
// signed-in session with a new ID that keeps the cart.
func ExampleAnonymousConfig() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sessions, err := session.New(memstore.New(), session.Config{
		Anonymous: session.AnonymousConfig{Enabled: true}, // 30 min idle, 24 h at most
	})
	if err != nil {
		panic(err)
	}
	sessions.Start(ctx)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		cart, _, err := session.Get[[]string](r.Context(), "cart")
		if err == nil {
			err = session.Put(r.Context(), "cart", append(cart, r.FormValue("item")))
		}
		if err != nil {
			session.WriteJSONError(w, r, err)
		}
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// (check the password first, with package account)
		if _, err := sessions.Login(w, r, "alice", session.LoginOptions{}); err != nil {
			session.WriteJSONError(w, r, err)
		}
	})
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		cart, _, _ := session.Get[[]string](r.Context(), "cart")
		who := "a visitor"
		if s, ok := session.Current(r.Context()); ok { // not for an anonymous session
			who = s.UserID
		}
		fmt.Fprintf(w, "%s has %v", who, cart)
	})
	h := sessions.Middleware(mux)

	// A browser: sends back the last session cookie it was given.
	var cookie string
	send := func(method, target string) string {
		r := httptest.NewRequest(method, target, nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if c := w.Result().Cookies(); len(c) > 0 {
			cookie = c[0].Name + "=" + c[0].Value
		}
		return w.Body.String()
	}

	send("GET", "/cart") // browsing stores nothing: no session, no cookie
	fmt.Println("cookie after browsing:", cookie != "")
	send("POST", "/cart?item=book")
	send("POST", "/cart?item=pen")
	anonymous := cookie
	fmt.Println(send("GET", "/cart"))
	send("POST", "/login")
	fmt.Println("new cookie at login:", cookie != anonymous)
	fmt.Println(send("GET", "/cart"))
	cookie = anonymous // the old anonymous cookie is dead
	fmt.Println(strings.TrimSpace(send("GET", "/cart")))
	// Output:
	// cookie after browsing: false
	// a visitor has [book pen]
	// new cookie at login: true
	// alice has [book pen]
	// a visitor has []
}

// exampleBrowser sends requests to h the way a browser does: with the
// last session cookie it was given, or the one a test plants.
type exampleBrowser struct {
	h      http.Handler
	cookie string
}

func (b *exampleBrowser) send(method, target string) (int, string) {
	r := httptest.NewRequest(method, "https://app.example"+target, nil)
	if b.cookie != "" {
		r.AddCookie(&http.Cookie{Name: "__Host-sesame", Value: b.cookie})
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.Name == "__Host-sesame" {
			b.cookie = c.Value // a deletion (logout) sets it empty
		}
	}
	return w.Code, strings.TrimSpace(w.Body.String())
}

// Login after the password check: the session gets a fresh ID and token
// whatever the browser carried (a cookie planted by an attacker is never
// adopted, SEC-09), the cookie is __Host-, Secure, HttpOnly and SameSite,
// and Logout ends the session on the server (SEC-12).
func ExampleManager_Login() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sessions, err := session.New(memstore.New(), session.Config{}) // the zero Config is the secure default
	if err != nil {
		panic(err)
	}
	sessions.Start(ctx)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// (check the password first, with package account: throttled, equal work for unknown users)
		s, err := sessions.Login(w, r, "alice", session.LoginOptions{Remember: false})
		if err != nil {
			session.WriteJSONError(w, r, err)
			return
		}
		c := w.Header().Get("Set-Cookie")
		fmt.Fprintln(w, "signed in; cookie:", strings.Contains(c, "; HttpOnly") && strings.Contains(c, "; Secure") &&
			strings.Contains(c, "; SameSite=Lax") && !strings.Contains(c, "Max-Age"), s.UserID)
	})
	mux.Handle("GET /me", sessions.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.Current(r.Context()) // a read-only copy; no token hash
		fmt.Fprintf(w, "hello %s", s.UserID)
	})))
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.Logout(w, r); err != nil {
			session.WriteJSONError(w, r, err)
		}
	})
	b := &exampleBrowser{h: sessions.Middleware(mux), cookie: "planted-by-an-attacker"}

	fmt.Println(b.send("GET", "/me"))
	fmt.Println(b.send("POST", "/login"))
	fmt.Println("planted cookie adopted:", b.cookie == "planted-by-an-attacker")
	fmt.Println(b.send("GET", "/me"))
	stolen := b.cookie
	b.send("POST", "/logout")
	b.cookie = stolen // a copy of the cookie, replayed after logout
	fmt.Println(b.send("GET", "/me"))
	// Output:
	// 401 {"error":{"code":"unauthenticated","message":"authentication required"}}
	// 200 signed in; cookie: true alice
	// planted cookie adopted: false
	// 200 hello alice
	// 401 {"error":{"code":"unauthenticated","message":"authentication required"}}
}

// Renew after a privilege change (SEC-10): the session keeps its ID and
// data under a new token. The old token still works for RenewGrace (10 s),
// for requests already in flight, then dies.
func ExampleManager_Renew() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := testclock.New(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	sessions, err := session.New(memstore.New(), session.Config{Clock: clock})
	if err != nil {
		panic(err)
	}
	sessions.Start(ctx)

	var loginID string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, err := sessions.Login(w, r, "alice", session.LoginOptions{})
		if err == nil {
			loginID = s.ID
			err = session.Put(r.Context(), "theme", "dark")
		}
		if err != nil {
			session.WriteJSONError(w, r, err)
		}
	})
	mux.Handle("POST /sudo", sessions.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// (check the password again first: account.Service.Reauthenticate)
		if err := sessions.Renew(r); err != nil { // the new cookie goes out with this response
			session.WriteJSONError(w, r, err)
		}
	})))
	mux.Handle("GET /me", sessions.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.Current(r.Context())
		theme, _, _ := session.Get[string](r.Context(), "theme")
		fmt.Fprintf(w, "%s, same session: %v, theme=%s", s.UserID, s.ID == loginID, theme)
	})))
	b := &exampleBrowser{h: sessions.Middleware(mux)}

	b.send("POST", "/login")
	before := b.cookie
	b.send("POST", "/sudo")
	fmt.Println("new token:", b.cookie != before)
	fmt.Println(b.send("GET", "/me"))
	old := &exampleBrowser{h: b.h, cookie: before}
	fmt.Println(old.send("GET", "/me")) // a request that was already in flight
	clock.Add(11 * time.Second)
	fmt.Println(old.send("GET", "/me"))
	fmt.Println(b.send("GET", "/me"))
	// Output:
	// new token: true
	// 200 alice, same session: true, theme=dark
	// 200 alice, same session: true, theme=dark
	// 401 {"error":{"code":"unauthenticated","message":"authentication required"}}
	// 200 alice, same session: true, theme=dark
}
