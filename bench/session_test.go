package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/sqlite"
)

// discard is a reusable ResponseWriter, so that the benchmark measures the
// middleware rather than a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkSessionLoad measures one authenticated request through the
// session middleware: the cookie is parsed, the session found (in the
// in-process view for Sesame, in the store for scs), the handler reads the
// user from it, and nothing is changed.
func BenchmarkSessionLoad(b *testing.B) {
	b.Run("sesame-mem", func(b *testing.B) {
		benchSesame(b, memstore.New())
	})
	b.Run("sesame-sqlite", func(b *testing.B) {
		db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		benchSesame(b, db)
	})
	b.Run("scs-mem", benchSCS)
}

func benchSesame(b *testing.B, store session.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, err := session.New(store, session.Config{})
	if err != nil {
		b.Fatal(err)
	}
	m.Start(ctx)
	login := httptest.NewRecorder()
	if _, err := m.Login(login, httptest.NewRequest("POST", "/login", nil), "user-1", session.LoginOptions{}); err != nil {
		b.Fatal(err)
	}
	cookie := login.Result().Cookies()[0]
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := session.Current(r.Context()); !ok || s.UserID != "user-1" {
			b.Fatal("no session")
		}
	}))
	run(b, h, cookie)
}

func benchSCS(b *testing.B) {
	sm := scs.New() // its default store is memstore
	var token string
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			sm.Put(r.Context(), "user", "user-1")
			return
		}
		if sm.GetString(r.Context(), "user") != "user-1" {
			b.Fatal("no session")
		}
	}))
	login := httptest.NewRecorder()
	h.ServeHTTP(login, httptest.NewRequest("POST", "/login", nil))
	for _, c := range login.Result().Cookies() {
		if c.Name == sm.Cookie.Name {
			token = c.Value
		}
	}
	run(b, h, &http.Cookie{Name: sm.Cookie.Name, Value: token})
}

func run(b *testing.B, h http.Handler, c *http.Cookie) {
	r := httptest.NewRequest("GET", "/me", nil)
	r.Header.Set("Cookie", c.Name+"="+c.Value)
	w := &discard{h: make(http.Header)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}
