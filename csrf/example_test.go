package csrf_test

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/sesame-auth/sesame/csrf"
)

// A form page and its POST handler behind a Protection. The session lookup
// stands in for session.Current: the request with the cookie "sid=s1" has
// the session "s1".
func Example() {
	p, err := csrf.New(csrf.Config{
		Key: bytes.Repeat([]byte{0x42}, 32), // in real use: 32 bytes from crypto/rand
		SessionID: func(r *http.Request) string {
			if c, err := r.Cookie("sid"); err == nil {
				return c.Value
			}
			return ""
		},
		OnReject: func(r *http.Request, err error) { fmt.Println("audit:", err) },
	})
	if err != nil {
		panic(err)
	}
	page := template.Must(template.New("").Parse(
		`<form method="post" action="/email"><input type="hidden" name="csrf_token" value="{{.}}"></form>`))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /email", func(w http.ResponseWriter, r *http.Request) {
		tok, err := p.Token(w, r) // before the body: may set the pre-session cookie
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		_ = page.Execute(w, tok)
	})
	mux.HandleFunc("POST /email", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "email changed")
	})
	srv := p.Handler(mux)

	// The browser loads the form...
	rec := httptest.NewRecorder()
	get := httptest.NewRequest("GET", "https://sesame.example/email", nil)
	get.AddCookie(&http.Cookie{Name: "sid", Value: "s1"})
	srv.ServeHTTP(rec, get)
	body := rec.Body.String()
	tok := body[strings.Index(body, `value="`)+7 : strings.LastIndex(body, `"`)]

	// ...and submits it, same-origin.
	post := func(form url.Values, site string) {
		r := httptest.NewRequest("POST", "https://sesame.example/email", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", site)
		r.AddCookie(&http.Cookie{Name: "sid", Value: "s1"})
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		fmt.Println(rec.Code, strings.TrimSpace(strings.SplitN(rec.Body.String(), "\n", 2)[0]))
	}
	post(url.Values{"csrf_token": {tok}}, "same-origin")
	post(url.Values{"csrf_token": {tok}}, "cross-site") // a cross-site page replaying the form
	post(url.Values{}, "same-origin")                   // no token

	// Output:
	// 200 email changed
	// audit: csrf: cross-site request
	// 403 {"error":{"code":"csrf_origin","message":"cross-site request refused"}}
	// audit: csrf: missing token
	// 403 {"error":{"code":"csrf_token","message":"missing or invalid CSRF token"}}
}

// The login form has no session yet: Token sets the pre-session cookie and
// binds the token to it (login CSRF, SEC-39).
func ExampleProtection_Token_preSession() {
	p, err := csrf.New(csrf.Config{Key: bytes.Repeat([]byte{0x42}, 32)})
	if err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	tok, err := p.Token(rec, httptest.NewRequest("GET", "https://sesame.example/login", nil))
	if err != nil {
		panic(err)
	}
	c := rec.Result().Cookies()[0]
	fmt.Println(c.Name, c.Path, c.Secure, c.HttpOnly, c.SameSite == http.SameSiteStrictMode)

	login := httptest.NewRequest("POST", "https://sesame.example/login",
		strings.NewReader(url.Values{"csrf_token": {tok}, "email": {"a@example.org"}}.Encode()))
	login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	login.Header.Set("Origin", "https://sesame.example")
	login.AddCookie(c)
	fmt.Println(p.Check(login))

	// Output:
	// __Host-sesame-csrf / true true true
	// <nil>
}

// Check is the decision alone, for callers that enforce it themselves.
func ExampleProtection_Check() {
	p, err := csrf.New(csrf.Config{Key: bytes.Repeat([]byte{0x42}, 32)})
	if err != nil {
		panic(err)
	}
	r := httptest.NewRequest("DELETE", "https://sesame.example/api/v1/sessions/x", nil)
	r.Header.Set("Origin", "https://sesame.example.attacker.com")
	err = p.Check(r)
	var e *csrf.Error
	if errors.As(err, &e) {
		fmt.Println(e.Stage, e.Reason)
	}
	// Output:
	// origin origin mismatch
}
