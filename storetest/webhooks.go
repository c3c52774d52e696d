package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/webhook"
)

// RunWebhooks runs the conformance suite of webhook.Store (the webhook
// outbox). newStore is called once per subtest and must return an empty
// store that shares nothing with earlier calls:
//
//	func TestWebhookConformance(t *testing.T) {
//		storetest.RunWebhooks(t, func(t *testing.T) webhook.Store { return memstore.New() })
//	}
//
// Beyond the doc comments of webhook.Store, the suite holds a store to:
//
//   - Times read back as the same instant to the nanosecond; the zero time
//     (DeadAt of a pending message) reads back as the zero time.
//   - The payload reads back byte for byte (it is signed as stored).
//   - ClaimWebhooks returns the records as they are after the claim
//     (DueAt = until, Attempts incremented), ordered by their DueAt before
//     it (ties by ID); two concurrent claimers never get the same message.
//   - The store reads no clock: "due" is the caller's now.
func RunWebhooks(t *testing.T, newStore func(t *testing.T) webhook.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s webhook.Store)
	}{
		{"AddAndList", testWebhookAddAndList},
		{"AddAllOrNone", testWebhookAddAllOrNone},
		{"Claim", testWebhookClaim},
		{"ClaimGivenBackAtUntil", testWebhookClaimGivenBack},
		{"ConcurrentClaimsDisjoint", testWebhookConcurrentClaims},
		{"Retry", testWebhookRetry},
		{"Delete", testWebhookDelete},
		{"DeadLetterAndRevive", testWebhookDeadAndRevive},
		{"ReviveAll", testWebhookReviveAll},
		{"ListPages", testWebhookListPages},
		{"CopiesInAndOut", testWebhookCopies},
	} {
		t.Run("Webhook/"+tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var whBase = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

func newMessage(id string, due time.Time) *webhook.Message {
	return &webhook.Message{ID: id, URL: "https://hooks.example.com/sesame", Type: "login.success",
		Payload:   []byte(`{"type":"login.success","data":{"user_id":"u1"}}`),
		CreatedAt: whBase, DueAt: due}
}

func sameMessage(t *testing.T, what string, got, want *webhook.Message) {
	t.Helper()
	if got.ID != want.ID || got.URL != want.URL || got.Type != want.Type || !bytes.Equal(got.Payload, want.Payload) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.DueAt.Equal(want.DueAt) || got.Attempts != want.Attempts ||
		got.LastError != want.LastError || !got.DeadAt.Equal(want.DeadAt) || got.DeadAt.IsZero() != want.DeadAt.IsZero() {
		t.Fatalf("%s: got %+v, want %+v", what, got, want)
	}
}

func listWebhooks(t *testing.T, s webhook.Store, dead bool) []*webhook.Message {
	t.Helper()
	got, err := s.ListWebhooks(ctx(), dead, "", 1000)
	must(t, "ListWebhooks", err)
	return got
}

func testWebhookAddAndList(t *testing.T, s webhook.Store) {
	a, b := newMessage("msg_a", whBase), newMessage("msg_b", whBase.Add(time.Second))
	b.URL, b.Type = "http://127.0.0.1:9000/hook", "session.revoked"
	must(t, "AddWebhooks", s.AddWebhooks(ctx(), []*webhook.Message{b, a}))
	got := listWebhooks(t, s, false)
	if len(got) != 2 {
		t.Fatalf("ListWebhooks(pending): got %d messages, want 2", len(got))
	}
	sameMessage(t, "first (by ID)", got[0], a)
	sameMessage(t, "second", got[1], b)
	if dead := listWebhooks(t, s, true); len(dead) != 0 {
		t.Fatalf("ListWebhooks(dead): got %d, want none", len(dead))
	}
	must(t, "AddWebhooks(none)", s.AddWebhooks(ctx(), nil))
}

func testWebhookAddAllOrNone(t *testing.T, s webhook.Store) {
	must(t, "AddWebhooks", s.AddWebhooks(ctx(), []*webhook.Message{newMessage("msg_a", whBase)}))
	err := s.AddWebhooks(ctx(), []*webhook.Message{newMessage("msg_new", whBase), newMessage("msg_a", whBase)})
	if sesame.ErrorCode(err) != sesame.EConflict {
		t.Fatalf("AddWebhooks with a stored ID: got %v, want EConflict", err)
	}
	if got := listWebhooks(t, s, false); len(got) != 1 || got[0].ID != "msg_a" {
		t.Fatalf("after a refused batch: got %d messages, want only msg_a (all or none)", len(got))
	}
}

func testWebhookClaim(t *testing.T, s webhook.Store) {
	late, early, tie := newMessage("msg_1", whBase.Add(2*time.Second)), newMessage("msg_2", whBase), newMessage("msg_0", whBase.Add(2*time.Second))
	future := newMessage("msg_f", whBase.Add(time.Hour))
	must(t, "AddWebhooks", s.AddWebhooks(ctx(), []*webhook.Message{late, early, tie, future}))
	now, until := whBase.Add(2*time.Second), whBase.Add(time.Minute)
	got, err := s.ClaimWebhooks(ctx(), now, until, 10)
	must(t, "ClaimWebhooks", err)
	if len(got) != 3 {
		t.Fatalf("ClaimWebhooks: got %d, want the 3 due at or before now", len(got))
	}
	for i, want := range []string{"msg_2", "msg_0", "msg_1"} {
		if got[i].ID != want {
			t.Fatalf("claim %d: got %s, want %s (earliest due first, ties by ID)", i, got[i].ID, want)
		}
		if !got[i].DueAt.Equal(until) || got[i].Attempts != 1 {
			t.Fatalf("claim %d: got DueAt %v Attempts %d, want until %v and 1", i, got[i].DueAt, got[i].Attempts, until)
		}
	}
	again, err := s.ClaimWebhooks(ctx(), now, until, 10)
	must(t, "ClaimWebhooks again", err)
	if len(again) != 0 {
		t.Fatalf("claimed messages were claimed again before their lease ended: %d", len(again))
	}
	one, err := s.ClaimWebhooks(ctx(), whBase.Add(2*time.Hour), whBase.Add(3*time.Hour), 1)
	must(t, "ClaimWebhooks limit 1", err)
	if len(one) != 1 {
		t.Fatalf("ClaimWebhooks limit 1: got %d", len(one))
	}
	if none, err := s.ClaimWebhooks(ctx(), now, until, 0); err != nil || len(none) != 0 {
		t.Fatalf("ClaimWebhooks limit 0: got %d, %v", len(none), err)
	}
}

func testWebhookClaimGivenBack(t *testing.T, s webhook.Store) {
	must(t, "AddWebhooks", s.AddWebhooks(ctx(), []*webhook.Message{newMessage("msg_a", whBase)}))
	until := whBase.Add(30 * time.Second)
	if got, err := s.ClaimWebhooks(ctx(), whBase, until, 5); err != nil || len(got) != 1 {
		t.Fatalf("first claim: %d, %v", len(got), err)
	}
	if got, _ := s.ClaimWebhooks(ctx(), until.Add(-time.Nanosecond), until.Add(time.Minute), 5); len(got) != 0 {
		t.Fatal("claimed again before until")
	}
	got, err := s.ClaimWebhooks(ctx(), until, until.Add(time.Minute), 5)
	must(t, "claim at until", err)
	if len(got) != 1 || got[0].Attempts != 2 {
		t.Fatalf("claim at until (a dead dispatcher's lease ended): got %d messages, want 1 with 2 attempts", len(got))
	}
}

func testWebhookConcurrentClaims(t *testing.T, s webhook.Store) {
	const msgs, workers = 300, 8
	var all []*webhook.Message
	for i := range msgs {
		all = append(all, newMessage(fmt.Sprintf("msg_%03d", i), whBase))
	}
	must(t, "AddWebhooks", s.AddWebhooks(ctx(), all))
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				got, err := s.ClaimWebhooks(ctx(), whBase, whBase.Add(time.Hour), 3)
				if err != nil {
					t.Errorf("concurrent ClaimWebhooks: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, x := range got {
					seen[x.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(seen) != msgs {
		t.Fatalf("%d concurrent dispatchers claimed %d distinct messages, want %d", workers, len(seen), msgs)
	}
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("message %s claimed %d times at once", id, k)
		}
	}
}

func testWebhookRetry(t *testing.T, s webhook.Store) {
	must(t, "AddWebhooks", s.AddWebhooks(ctx(), []*webhook.Message{newMessage("msg_a", whBase)}))
	_, err := s.ClaimWebhooks(ctx(), whBase, whBase.Add(time.Minute), 1)
	must(t, "ClaimWebhooks", err)
	due := whBase.Add(5 * time.Second)
	must(t, "RetryWebhook", s.RetryWebhook(ctx(), "msg_a", due, "answered HTTP 503"))
	got := listWebhooks(t, s, false)
	if len(got) != 1 || !got[0].DueAt.Equal(due) || got[0].LastError != "answered HTTP 503" || got[0].Attempts != 1 {
		t.Fatalf("after RetryWebhook: got %+v", got)
	}
	must(t, "RetryWebhook(missing)", s.RetryWebhook(ctx(), "msg_missing", due, "x"))
	// A dead message stays dead: a late RetryWebhook does not revive it.
	must(t, "KillWebhook", s.KillWebhook(ctx(), "msg_a", whBase.Add(time.Hour), "given up"))
	must(t, "RetryWebhook(dead)", s.RetryWebhook(ctx(), "msg_a", due, "late"))
	dead := listWebhooks(t, s, true)
	if len(dead) != 1 || dead[0].LastError != "given up" {
		t.Fatalf("RetryWebhook changed a dead message: %+v", dead)
	}
}

func testWebhookDelete(t *testing.T, s webhook.Store) {
	must(t, "AddWebhooks", s.AddWebhooks(ctx(), []*webhook.Message{newMessage("msg_a", whBase), newMessage("msg_b", whBase)}))
	must(t, "DeleteWebhook", s.DeleteWebhook(ctx(), "msg_a"))
	must(t, "DeleteWebhook(missing)", s.DeleteWebhook(ctx(), "msg_a"))
	if got := listWebhooks(t, s, false); len(got) != 1 || got[0].ID != "msg_b" {
		t.Fatalf("after DeleteWebhook: got %d", len(got))
	}
}

func testWebhookDeadAndRevive(t *testing.T, s webhook.Store) {
	must(t, "AddWebhooks", s.AddWebhooks(ctx(), []*webhook.Message{newMessage("msg_a", whBase), newMessage("msg_b", whBase)}))
	_, err := s.ClaimWebhooks(ctx(), whBase, whBase.Add(time.Minute), 10)
	must(t, "ClaimWebhooks", err)
	deadAt := whBase.Add(24 * time.Hour)
	must(t, "KillWebhook", s.KillWebhook(ctx(), "msg_a", deadAt, "answered HTTP 500"))
	must(t, "KillWebhook(missing)", s.KillWebhook(ctx(), "msg_missing", deadAt, "x"))
	if got, _ := s.ClaimWebhooks(ctx(), whBase.Add(48*time.Hour), whBase.Add(49*time.Hour), 10); len(got) != 1 || got[0].ID != "msg_b" {
		t.Fatalf("a dead message was claimed (or the pending one was not): %+v", got)
	}
	dead := listWebhooks(t, s, true)
	if len(dead) != 1 || dead[0].ID != "msg_a" || !dead[0].DeadAt.Equal(deadAt) || dead[0].LastError != "answered HTTP 500" {
		t.Fatalf("ListWebhooks(dead): got %+v", dead)
	}
	if err := s.ReviveWebhook(ctx(), "msg_b", whBase); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("ReviveWebhook of a pending message: got %v, want ErrNotFound", err)
	}
	if err := s.ReviveWebhook(ctx(), "msg_missing", whBase); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("ReviveWebhook of a missing message: got %v, want ErrNotFound", err)
	}
	due := whBase.Add(25 * time.Hour)
	must(t, "ReviveWebhook", s.ReviveWebhook(ctx(), "msg_a", due))
	if dead := listWebhooks(t, s, true); len(dead) != 0 {
		t.Fatalf("still dead after ReviveWebhook: %d", len(dead))
	}
	got, err := s.ClaimWebhooks(ctx(), due, due.Add(time.Minute), 10)
	must(t, "ClaimWebhooks after revive", err)
	if len(got) != 1 || got[0].ID != "msg_a" || got[0].Attempts != 1 || !got[0].DeadAt.IsZero() {
		t.Fatalf("claim of the revived message: got %+v, want msg_a with Attempts 1 (a new schedule)", got)
	}
}

func testWebhookReviveAll(t *testing.T, s webhook.Store) {
	var ms []*webhook.Message
	for i := range 5 {
		ms = append(ms, newMessage(fmt.Sprintf("msg_%d", i), whBase))
	}
	must(t, "AddWebhooks", s.AddWebhooks(ctx(), ms))
	for i := range 3 {
		must(t, "KillWebhook", s.KillWebhook(ctx(), fmt.Sprintf("msg_%d", i), whBase, "x"))
	}
	n, err := s.ReviveDeadWebhooks(ctx(), whBase.Add(time.Hour))
	must(t, "ReviveDeadWebhooks", err)
	if n != 3 {
		t.Fatalf("ReviveDeadWebhooks: got %d, want 3", n)
	}
	if n, err := s.ReviveDeadWebhooks(ctx(), whBase); err != nil || n != 0 {
		t.Fatalf("ReviveDeadWebhooks again: got %d, %v, want 0", n, err)
	}
	if got := listWebhooks(t, s, false); len(got) != 5 {
		t.Fatalf("pending after ReviveDeadWebhooks: %d, want 5", len(got))
	}
}

func testWebhookListPages(t *testing.T, s webhook.Store) {
	var ms []*webhook.Message
	for i := range 7 {
		ms = append(ms, newMessage(fmt.Sprintf("msg_%d", i), whBase))
	}
	must(t, "AddWebhooks", s.AddWebhooks(ctx(), ms))
	var ids []string
	after := ""
	for {
		page, err := s.ListWebhooks(ctx(), false, after, 3)
		must(t, "ListWebhooks", err)
		for _, m := range page {
			ids = append(ids, m.ID)
		}
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1].ID
	}
	if fmt.Sprint(ids) != "[msg_0 msg_1 msg_2 msg_3 msg_4 msg_5 msg_6]" {
		t.Fatalf("pages: got %v", ids)
	}
}

func testWebhookCopies(t *testing.T, s webhook.Store) {
	m := newMessage("msg_a", whBase)
	must(t, "AddWebhooks", s.AddWebhooks(ctx(), []*webhook.Message{m}))
	m.Payload[0] = 'X'
	m.URL = "changed"
	got := listWebhooks(t, s, false)
	if got[0].Payload[0] != '{' || got[0].URL == "changed" {
		t.Fatal("the store kept the caller's message, not a copy")
	}
	got[0].Payload[0] = 'Y'
	if again := listWebhooks(t, s, false); again[0].Payload[0] != '{' {
		t.Fatal("the store returned its own record, not a copy")
	}
}
