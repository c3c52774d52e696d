package postgres_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/storetest"
	"github.com/sesame-auth/sesame/webhook"
)

func TestWebhookConformance(t *testing.T) {
	storetest.RunWebhooks(t, func(t *testing.T) webhook.Store { return openTest(t) })
}

// TestWebhookTwoNodes: two dispatchers, each with its own connection pool
// (two nodes) on one database, deliver 200 messages to a healthy receiver
// exactly once each: SKIP LOCKED claims are disjoint.
func TestWebhookTwoNodes(t *testing.T) {
	schema := newSchema(t)
	a, b := openSchema(t, testURL(t), schema), openSchema(t, testURL(t), schema)
	secret := webhook.NewSecret()
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("webhook-id")]++
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	eps := []webhook.Endpoint{{URL: srv.URL, Events: webhook.Filter{"*"}, Keys: [][]byte{key}}}
	const n = 200
	var ms []*webhook.Message
	now := time.Now().UTC()
	for i := range n {
		ms = append(ms, &webhook.Message{ID: fmt.Sprintf("msg_%04d", i), URL: srv.URL, Type: "login.success",
			Payload: []byte(`{}`), CreatedAt: now, DueAt: now})
	}
	if err := a.AddWebhooks(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, db := range []webhook.Store{a, b} {
		d, err := webhook.NewDispatcher(webhook.Config{Store: db, Endpoints: eps,
			Tuning: webhook.Tuning{Poll: 10 * time.Millisecond, Workers: 4}})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); d.Run(ctx) }()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		left, err := a.ListWebhooks(context.Background(), false, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not every message delivered within 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != n {
		t.Fatalf("delivered %d distinct messages, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s delivered %d times by two nodes with a healthy receiver", id, k)
		}
	}
}
