package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/password"
)

// BenchmarkServerMetrics measures one authenticated GET /api/v1/me through
// the whole public handler of `sesame serve` (every middleware, the route,
// the JSON answer), in process, with metrics off (no metrics_addr) and on:
// the difference is what the HTTP metrics cost a request (issue 14).
//   - cookie: a session cookie, found in the in-process view.
//   - bearer: an access token, verified once and then cached.
func BenchmarkServerMetrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "metrics-off"
		if on {
			name = "metrics-on"
		}
		b.Run(name, func(b *testing.B) {
			h, cookie, bearer := metricsServer(b, on)
			b.Run("cookie", func(b *testing.B) { runMe(b, h, "Cookie", cookie) })
			b.Run("bearer", func(b *testing.B) { runMe(b, h, "Authorization", "Bearer "+bearer) })
		})
	}
}

func metricsServer(b *testing.B, metrics bool) (h http.Handler, cookie, bearer string) {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	cfg := config.Default()
	cfg.DB = filepath.Join(b.TempDir(), "sesame.db")
	cfg.PublicURL = "https://auth.bench.test"
	cfg.MasterKey = config.Secret(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if metrics {
		cfg.MetricsAddr = "127.0.0.1:0"
	}
	a, err := app.New(ctx, cfg, app.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		app.WithPasswordParams(password.Params{Memory: 64, Time: 1, Threads: 1}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	a.Start(ctx)
	if (a.MetricsHandler() != nil) != metrics {
		b.Fatal("metrics not as configured")
	}
	h = a.Handler()
	post := func(body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "https://auth.bench.test/api/v1/"+body[:strings.IndexByte(body, ' ')], strings.NewReader(body[strings.IndexByte(body, ' ')+1:]))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Origin", "https://auth.bench.test")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	const creds = `"username":"bench-user","password":"bench password 0123456789"`
	if w := post(`signup {` + creds + `}`); w.Code != 201 {
		b.Fatalf("signup: %d %s", w.Code, w.Body)
	}
	w := post(`login {` + creds + `}`)
	for _, c := range w.Result().Cookies() {
		cookie = c.Name + "=" + c.Value
	}
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	w = post(`login {` + creds + `,"transport":"header"}`)
	if json.Unmarshal(w.Body.Bytes(), &pair); cookie == "" || pair.AccessToken == "" {
		b.Fatalf("login: no cookie or token: %s", w.Body)
	}
	return h, cookie, pair.AccessToken
}

// meWriter is a reusable ResponseWriter that keeps nothing.
type meWriter struct {
	h    http.Header
	code int
}

func (w *meWriter) Header() http.Header         { return w.h }
func (w *meWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *meWriter) WriteHeader(code int)        { w.code = code }

func runMe(b *testing.B, h http.Handler, header, value string) {
	r := httptest.NewRequest("GET", "https://auth.bench.test/api/v1/me", nil)
	r.Header.Set(header, value)
	w := &meWriter{h: make(http.Header)}
	h.ServeHTTP(w, r)
	if w.code != 0 && w.code != 200 {
		b.Fatalf("GET /api/v1/me: %d", w.code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}
