package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

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
