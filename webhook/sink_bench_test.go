package webhook_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/sqlite"
	"github.com/sesame-auth/sesame/webhook"
)

// BenchmarkSinkEmit is what an event costs its emitter (a login emits
// two): the payload, and one outbox insert (one row per matching
// endpoint) in memstore and in SQLite (one BEGIN IMMEDIATE transaction,
// synchronous commit).
func BenchmarkSinkEmit(b *testing.B) {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "sesame.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	e := sesame.Event{Type: sesame.EventLoginSuccess, UserID: "u1", Username: "alice", SessionID: "s1", Reason: "password"}
	for _, tc := range []struct {
		name  string
		store webhook.Store
		eps   int
	}{{"memstore/1_endpoint", memstore.New(), 1}, {"sqlite/1_endpoint", db, 1}, {"sqlite/3_endpoints", db, 3}} {
		b.Run(tc.name, func(b *testing.B) {
			var eps []webhook.Endpoint
			for i := range tc.eps {
				eps = append(eps, webhook.Endpoint{URL: "https://h.example/" + string(rune('a'+i)), Events: webhook.Filter{"*"}})
			}
			s := &webhook.Sink{Store: tc.store, Endpoints: eps}
			b.ReportAllocs()
			for range b.N {
				s.Emit(context.Background(), e)
			}
		})
	}
}
