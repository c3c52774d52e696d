package app

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkLoginWebhooks is POST /api/v1/login (a new session each time,
// cheap password parameters, SQLite) without webhooks and with one
// endpoint taking every event: a login then queues its login.success and
// session.created webhooks, one outbox insert each. The dispatcher is not
// started (no Start), so the difference is what the login itself pays:
// the local inserts, never a receiver.
func BenchmarkLoginWebhooks(b *testing.B) {
	for _, tc := range []struct {
		name  string
		hooks bool
	}{{"none", false}, {"one_endpoint", true}} {
		b.Run(tc.name, func(b *testing.B) {
			h := newHookReceiver(b, nil)
			cfg := webhookConfig(b, h, "*")
			if !tc.hooks {
				cfg.Webhooks = nil
			}
			a, err := New(context.Background(), cfg, quiet(), WithPasswordParams(cheap))
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			do := func(path string) int {
				req := httptest.NewRequest("POST", "https://auth.example.com"+path,
					strings.NewReader(`{"username":"bench-user","password":"bench-password-long enough"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Origin", "https://auth.example.com")
				rec := httptest.NewRecorder()
				a.Handler().ServeHTTP(rec, req)
				return rec.Code
			}
			if code := do("/api/v1/signup"); code != 201 {
				b.Fatalf("signup: %d", code)
			}
			b.ResetTimer()
			for range b.N {
				if code := do("/api/v1/login"); code != 200 {
					b.Fatalf("login: %d", code)
				}
			}
		})
	}
}
