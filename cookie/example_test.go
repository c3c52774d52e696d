package cookie_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sesame-auth/sesame/cookie"
)

func ExampleWrite() {
	w := httptest.NewRecorder()
	// The zero value of every field is the secure default.
	if err := cookie.Write(w, cookie.Cookie{Name: "__Host-sesame", Value: "k7Qd9pX2"}); err != nil {
		panic(err)
	}
	// A "remember me" cookie is persistent, for no longer than the session.
	if err := cookie.Write(w, cookie.Cookie{Name: "__Host-sesame", Value: "k7Qd9pX2", MaxAge: 30 * 24 * time.Hour}); err != nil {
		panic(err)
	}
	// A refresh token scoped to one path needs __Secure-, not __Host-.
	err := cookie.Write(w, cookie.Cookie{
		Name:     "__Secure-refresh",
		Value:    "r8Zt",
		Path:     "/api/v1/token",
		SameSite: http.SameSiteStrictMode,
	})
	if err != nil {
		panic(err)
	}
	for _, h := range w.Header().Values("Set-Cookie") {
		fmt.Println(h)
	}
	// Output:
	// __Host-sesame=k7Qd9pX2; Path=/; HttpOnly; Secure; SameSite=Lax
	// __Host-sesame=k7Qd9pX2; Path=/; Max-Age=2592000; HttpOnly; Secure; SameSite=Lax
	// __Secure-refresh=r8Zt; Path=/api/v1/token; HttpOnly; Secure; SameSite=Strict
}

func ExampleWrite_refused() {
	w := httptest.NewRecorder()
	err := cookie.Write(w, cookie.Cookie{Name: "__Host-sesame", Value: "x", Domain: "example.com"})
	fmt.Println(err)
	err = cookie.Write(w, cookie.Cookie{Name: "big", Value: string(bytes.Repeat([]byte("a"), 4096))})
	fmt.Println(errors.Is(err, cookie.ErrTooLarge))
	fmt.Println(len(w.Header().Values("Set-Cookie")))
	// Output:
	// cookie: __Host-sesame: a __Host- cookie must not have a Domain
	// true
	// 0
}

func ExampleDelete() {
	w := httptest.NewRecorder()
	if err := cookie.Delete(w, cookie.Cookie{Name: "__Host-sesame"}); err != nil {
		panic(err)
	}
	fmt.Println(w.Header().Get("Set-Cookie"))
	// Output:
	// __Host-sesame=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax
}

func ExampleGet() {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", `theme="dark"; __Host-sesame=k7Qd9pX2; __Host-sesame=tossed`)

	token, err := cookie.Get(r, "__Host-sesame")
	fmt.Println(token, err)
	_, err = cookie.Get(r, "theme") // quoted values are skipped
	fmt.Println(err)
	// Output:
	// k7Qd9pX2 <nil>
	// cookie: not found
}

func ExampleGetAll() {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Add("Cookie", "__Host-sesame=k7Qd9pX2")
	r.Header.Add("Cookie", "__Host-sesame=tossed") // HTTP/2 may split the header

	values, err := cookie.GetAll(r, "__Host-sesame")
	if err != nil {
		panic(err)
	}
	if len(values) > 1 {
		fmt.Println("duplicate session cookie:", len(values))
	}
	// Output:
	// duplicate session cookie: 2
}

func ExampleParse() {
	pairs, err := cookie.Parse(`a=1; junk; b = 2; c="3"; d=4`)
	if err != nil {
		panic(err)
	}
	for _, p := range pairs {
		fmt.Println(p.Name, p.Value)
	}
	fmt.Println(pairs) // values are redacted when printed or logged
	// Output:
	// a 1
	// d 4
	// ["a"=REDACTED "d"=REDACTED]
}

func ExampleCodec() {
	// Real secrets come from crypto/rand and a secret store.
	oldKey := cookie.Key{ID: "2025-01", Secret: bytes.Repeat([]byte{1}, cookie.KeySize)}
	newKey := cookie.Key{ID: "2025-06", Secret: bytes.Repeat([]byte{2}, cookie.KeySize)}
	codec, err := cookie.NewCodec(newKey, oldKey) // newKey encrypts; both decrypt
	if err != nil {
		panic(err)
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	codec.Now = func() time.Time { return now }

	value, err := codec.Encode("__Host-prefs", []byte("theme=dark"), time.Hour)
	if err != nil {
		panic(err)
	}
	w := httptest.NewRecorder()
	if err := cookie.Write(w, cookie.Cookie{Name: "__Host-prefs", Value: value, MaxAge: time.Hour}); err != nil {
		panic(err)
	}

	plain, err := codec.Decode("__Host-prefs", value)
	fmt.Printf("%s %v\n", plain, err)
	_, err = codec.Decode("__Host-other", value) // moved to another cookie
	fmt.Println(err)
	now = now.Add(time.Hour)
	_, err = codec.Decode("__Host-prefs", value)
	fmt.Println(err, errors.Is(err, cookie.ErrInvalid))
	fmt.Println(codec, oldKey)
	// Output:
	// theme=dark <nil>
	// cookie: invalid value
	// cookie: expired value true
	// cookie.Codec{KeyIDs:["2025-06" "2025-01"], Secrets:REDACTED} cookie.Key{ID:"2025-01", Secret:REDACTED}
}
