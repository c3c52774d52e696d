package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/password"
)

// BenchmarkAdminPage renders one page of the admin user table (GET /admin,
// 50 rows, the whole public handler: session, CSRF token, template) with
// 100,000 users in SQLite (issue 16): the first page, a page deep in the
// table (keyset: after=user0750000), a prefix search, and a user's own
// page. Each is a range of the username index, so the cost does not grow
// with the number of users.
func BenchmarkAdminPage(b *testing.B) {
	const users = 100_000
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	cfg := config.Default()
	cfg.DB = filepath.Join(b.TempDir(), "sesame.db")
	cfg.PublicURL = "https://auth.bench.test"
	cfg.MasterKey = config.Secret(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	a, err := app.New(ctx, cfg, app.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		app.WithPasswordParams(password.Params{Memory: 64, Time: 1, Threads: 1}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	a.Start(ctx)
	start := time.Now()
	now := time.Now().UTC()
	for i := range users {
		u := &sesame.User{ID: fmt.Sprintf("bench-%07d", i), Username: fmt.Sprintf("user%07d", i), PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
		if err := a.Accounts().Users.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d users created in %v", users, time.Since(start).Round(time.Millisecond))
	const pw = "bench admin password 0123"
	if _, err := a.Accounts().Signup(ctx, "admin", pw, true); err != nil {
		b.Fatal(err)
	}
	h := a.Handler()
	r := httptest.NewRequest("POST", "https://auth.bench.test/api/v1/login", strings.NewReader(`{"username":"admin","password":"`+pw+`"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Origin", "https://auth.bench.test")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	cookie := ""
	for _, c := range w.Result().Cookies() {
		cookie = c.Name + "=" + c.Value
	}
	if cookie == "" {
		b.Fatalf("login: %d %s", w.Code, w.Body)
	}
	for _, c := range []struct{ name, path, want string }{
		{"first-page", "/admin", `data-user="user0000048"`},
		{"deep-page", "/admin?after=user0075000", `data-user="user0075050"`},
		{"search", "/admin?q=user00999", `data-user="user0099949"`},
		{"user-page", "/admin/users/user0050000", `id="user-name">user0050000<`},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "https://auth.bench.test"+c.path, nil)
			r.Header.Set("Cookie", cookie)
			r.Header.Set("Accept", "text/html")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 || !strings.Contains(w.Body.String(), c.want) {
				b.Fatalf("GET %s: %d, want 200 with %s", c.path, w.Code, c.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("GET %s: %d", c.path, w.Code)
				}
			}
		})
	}
}
