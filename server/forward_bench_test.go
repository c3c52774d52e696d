package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// discardWriter is a ResponseWriter that keeps only the header, so that
// the benchmark measures the endpoint, not a recorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkForward is the forward-auth endpoint alone, in-process, through
// the server's whole middleware chain: an allowed request described by
// nginx's headers, with a cookie session (served from the in-process
// view and the user cache), with a Bearer token, and anonymously on a
// bypass rule; and GET /livez through the same chain, for reference. Run: go test -run XXX -bench BenchmarkForward -benchmem ./server
func BenchmarkForward(b *testing.B) {
	a := newForwardHandler(b, nil)
	if _, err := a.Accounts().Signup(context.Background(), "alice", "correct horse battery", false); err != nil {
		b.Fatal(err)
	}
	login := func(transport string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "https://sesame.test/api/v1/login",
			strings.NewReader(`{"username":"alice","password":"correct horse battery","transport":"`+transport+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "https://sesame.test")
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("login: %d %s", rec.Code, rec.Body)
		}
		return rec
	}
	var cookie string
	for _, c := range login("session").Result().Cookies() {
		if c.Name == "__Host-sesame" {
			cookie = c.Name + "=" + c.Value
		}
	}
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(login("header").Body.Bytes(), &pair); err != nil || cookie == "" {
		b.Fatalf("login: %v, cookie %q", err, cookie)
	}
	b.Run("livez-reference", func(b *testing.B) {
		req := httptest.NewRequest("GET", "https://sesame.test/livez", nil)
		req.RemoteAddr = "127.0.0.1:40000"
		h := a.Handler()
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			w.h = http.Header{}
			h.ServeHTTP(w, req)
		}
	})
	for _, bc := range []struct {
		name string
		hdr  []string
		user string
	}{
		{"cookie", []string{"Cookie", cookie}, "alice"},
		{"bearer", []string{"Authorization", "Bearer " + pair.AccessToken}, "alice"},
		{"anonymous-bypass", nil, ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			uri := "https://wiki.example.com/page?x=1"
			if bc.user == "" {
				uri = "https://wiki.example.com/static/app.css"
			}
			req := httptest.NewRequest("GET", "https://sesame.test/api/v1/authz/forward", nil)
			req.RemoteAddr = "127.0.0.1:40000"
			req.Header.Set("X-Original-URL", uri)
			req.Header.Set("X-Original-Method", "GET")
			req.Header.Set("X-Forwarded-For", "192.0.2.1")
			for i := 0; i+1 < len(bc.hdr); i += 2 {
				req.Header.Set(bc.hdr[i], bc.hdr[i+1])
			}
			h := a.Handler()
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, req)
			if w.code != 200 || w.h.Get("Remote-User") != bc.user {
				b.Fatalf("got %d, Remote-User %q", w.code, w.h.Get("Remote-User"))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w.h = http.Header{}
				h.ServeHTTP(w, req)
			}
		})
	}
}
