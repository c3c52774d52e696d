package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/email"
	"github.com/sesame-auth/sesame/mail"
)

// EmailStore is what an adapter implements for email: addresses, tokens
// and devices (email.Store) and the mail outbox (mail.Store).
type EmailStore interface {
	email.Store
	mail.Store
}

// RunEmail runs the conformance suite of email.Store and mail.Store.
// newStore must return an empty store each call.
func RunEmail(t *testing.T, newStore func(t *testing.T) EmailStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s EmailStore)
	}{
		{"AddressUniqueByKey", testEmailUnique},
		{"AddressReplaceAndRemove", testEmailReplace},
		{"TokenSingleUse", testTokenSingleUse},
		{"TokenExpiry", testTokenExpiry},
		{"TokenNewerVoidsOlder", testTokenNewerVoidsOlder},
		{"TokenConcurrentTakeOneWinner", testTokenConcurrentTake},
		{"TokenDeleteByUser", testTokenDeleteByUser},
		{"Devices", testDevices},
		{"DeleteStale", testDeleteStale},
		{"OutboxClaimLease", testMailClaimLease},
		{"OutboxRetryDelete", testMailRetryDelete},
	}
	for _, tc := range tests {
		t.Run("Email/"+tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var emailT0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func emailHash() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

func testEmailUnique(t *testing.T, s EmailStore) {
	ctx := context.Background()
	if err := s.SetEmail(ctx, &email.Address{UserID: "u1", Email: "Alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	err := s.SetEmail(ctx, &email.Address{UserID: "u2", Email: "alice@example.com"})
	if sesame.ErrorCode(err) != sesame.EConflict {
		t.Fatalf("another user's address (other case): got %v, want EConflict", err)
	}
	id, err := s.UserIDByEmail(ctx, "alice@example.com")
	if err != nil || id != "u1" {
		t.Fatalf("UserIDByEmail: got %q, %v, want u1", id, err)
	}
	a, err := s.EmailOf(ctx, "u1")
	if err != nil || a.Email != "Alice@example.com" || a.Verified() {
		t.Fatalf("EmailOf: got %+v, %v, want Alice@example.com unverified", a, err)
	}
	if _, err := s.EmailOf(ctx, "u2"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("EmailOf(no address): got %v, want ErrNotFound", err)
	}
	if _, err := s.UserIDByEmail(ctx, "bob@example.com"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("UserIDByEmail(unknown): got %v, want ErrNotFound", err)
	}
	// The same user may set it again (verified now).
	if err := s.SetEmail(ctx, &email.Address{UserID: "u1", Email: "Alice@example.com", VerifiedAt: emailT0}); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.EmailOf(ctx, "u1"); !a.VerifiedAt.Equal(emailT0) {
		t.Fatalf("VerifiedAt: got %v, want %v", a.VerifiedAt, emailT0)
	}
}

func testEmailReplace(t *testing.T, s EmailStore) {
	ctx := context.Background()
	mustE(t, s.SetEmail(ctx, &email.Address{UserID: "u1", Email: "a@example.com", VerifiedAt: emailT0}))
	mustE(t, s.SetEmail(ctx, &email.Address{UserID: "u1", Email: "b@example.com"}))
	if _, err := s.UserIDByEmail(ctx, "a@example.com"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("old address after a change: got %v, want ErrNotFound", err)
	}
	mustE(t, s.SetEmail(ctx, &email.Address{UserID: "u2", Email: "a@example.com"})) // free again
	mustE(t, s.SetEmail(ctx, &email.Address{UserID: "u1", Email: ""}))
	if _, err := s.EmailOf(ctx, "u1"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("removed address: got %v, want ErrNotFound", err)
	}
}

func mustE(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func putToken(t *testing.T, s EmailStore, user, purpose string, exp time.Time) []byte {
	t.Helper()
	h := emailHash()
	mustE(t, s.PutEmailToken(context.Background(), &email.Token{Hash: h, UserID: user, Purpose: purpose, Email: "a@example.com", CreatedAt: emailT0, ExpiresAt: exp}))
	return h
}

func testTokenSingleUse(t *testing.T, s EmailStore) {
	ctx := context.Background()
	h := putToken(t, s, "u1", email.PurposeReset, emailT0.Add(30*time.Minute))
	if _, err := s.TakeEmailToken(ctx, h, email.PurposeVerify, emailT0); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("take with another purpose: got %v, want ErrNotFound", err)
	}
	tok, err := s.TakeEmailToken(ctx, h, email.PurposeReset, emailT0)
	if err != nil || tok.UserID != "u1" || tok.Email != "a@example.com" || !bytes.Equal(tok.Hash, h) || !tok.ExpiresAt.Equal(emailT0.Add(30*time.Minute)) {
		t.Fatalf("take: got %+v, %v", tok, err)
	}
	if _, err := s.TakeEmailToken(ctx, h, email.PurposeReset, emailT0); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("second take: got %v, want ErrNotFound", err)
	}
}

func testTokenExpiry(t *testing.T, s EmailStore) {
	ctx := context.Background()
	exp := emailT0.Add(30 * time.Minute)
	h := putToken(t, s, "u1", email.PurposeReset, exp)
	if _, err := s.TakeEmailToken(ctx, h, email.PurposeReset, exp); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("take at expiry: got %v, want ErrNotFound", err)
	}
	h = putToken(t, s, "u1", email.PurposeReset, exp)
	if _, err := s.TakeEmailToken(ctx, h, email.PurposeReset, exp.Add(-time.Nanosecond)); err != nil {
		t.Fatalf("take 1 ns before expiry: got %v, want it", err)
	}
}

func testTokenNewerVoidsOlder(t *testing.T, s EmailStore) {
	ctx := context.Background()
	old := putToken(t, s, "u1", email.PurposeReset, emailT0.Add(time.Hour))
	verify := putToken(t, s, "u1", email.PurposeVerify, emailT0.Add(time.Hour))
	other := putToken(t, s, "u2", email.PurposeReset, emailT0.Add(time.Hour))
	newer := putToken(t, s, "u1", email.PurposeReset, emailT0.Add(time.Hour))
	if _, err := s.TakeEmailToken(ctx, old, email.PurposeReset, emailT0); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("superseded token: got %v, want ErrNotFound", err)
	}
	for name, h := range map[string][]byte{"newer": newer, "other user": other} {
		if _, err := s.TakeEmailToken(ctx, h, email.PurposeReset, emailT0); err != nil {
			t.Fatalf("%s token: got %v", name, err)
		}
	}
	if _, err := s.TakeEmailToken(ctx, verify, email.PurposeVerify, emailT0); err != nil {
		t.Fatalf("a token of another purpose is not voided: got %v", err)
	}
}

func testTokenConcurrentTake(t *testing.T, s EmailStore) {
	ctx := context.Background()
	h := putToken(t, s, "u1", email.PurposeReset, emailT0.Add(time.Hour))
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.TakeEmailToken(ctx, h, email.PurposeReset, emailT0); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("concurrent takes: got %d winners, want 1", wins)
	}
}

func testTokenDeleteByUser(t *testing.T, s EmailStore) {
	ctx := context.Background()
	h := putToken(t, s, "u1", email.PurposeReset, emailT0.Add(time.Hour))
	v := putToken(t, s, "u1", email.PurposeVerify, emailT0.Add(time.Hour))
	mustE(t, s.DeleteEmailTokens(ctx, "u1", email.PurposeReset))
	if _, err := s.TakeEmailToken(ctx, h, email.PurposeReset, emailT0); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("deleted token: got %v, want ErrNotFound", err)
	}
	if _, err := s.TakeEmailToken(ctx, v, email.PurposeVerify, emailT0); err != nil {
		t.Fatalf("token of another purpose: got %v", err)
	}
}

func testDevices(t *testing.T, s EmailStore) {
	ctx := context.Background()
	d1, d2 := emailHash(), emailHash()
	for i, c := range []struct {
		user  string
		hash  []byte
		isNew bool
		known int
	}{
		{"u1", d1, true, 0}, {"u1", d1, false, 1}, {"u1", d2, true, 1}, {"u1", d2, false, 2}, {"u2", d1, true, 0},
	} {
		isNew, known, err := s.SeeDevice(ctx, c.user, c.hash, emailT0.Add(time.Duration(i)*time.Minute), fmt.Sprintf("agent %d", i))
		if err != nil || isNew != c.isNew || known != c.known {
			t.Fatalf("step %d: got new=%v known=%d err=%v, want new=%v known=%d", i, isNew, known, err, c.isNew, c.known)
		}
	}
	// The list: most recently seen first, each with its first and last
	// sign-in and the latest user agent.
	ds, err := s.Devices(ctx, "u1")
	if err != nil || len(ds) != 2 {
		t.Fatalf("devices of u1: %d %v, want 2", len(ds), err)
	}
	if !bytes.Equal(ds[0].Hash, d2) || ds[0].UserID != "u1" || !ds[0].FirstSeen.Equal(emailT0.Add(2*time.Minute)) ||
		!ds[0].LastSeen.Equal(emailT0.Add(3*time.Minute)) || ds[0].UserAgent != "agent 3" {
		t.Fatalf("devices of u1, first: %+v, want d2 seen at steps 2 and 3", ds[0])
	}
	if !bytes.Equal(ds[1].Hash, d1) || !ds[1].FirstSeen.Equal(emailT0) || !ds[1].LastSeen.Equal(emailT0.Add(time.Minute)) || ds[1].UserAgent != "agent 1" {
		t.Fatalf("devices of u1, second: %+v, want d1 seen at steps 0 and 1", ds[1])
	}
	// An older sign-in reported late never moves LastSeen back.
	mustE2(t)(s.SeeDevice(ctx, "u1", d2, emailT0, "late"))
	if ds, _ := s.Devices(ctx, "u1"); len(ds) != 2 || !ds[0].LastSeen.Equal(emailT0.Add(3*time.Minute)) {
		t.Fatalf("devices of u1 after a late report: %+v", ds)
	}
	if ds, err := s.Devices(ctx, "nobody"); err != nil || len(ds) != 0 {
		t.Fatalf("devices of an unknown user: %d %v, want none", len(ds), err)
	}
}

func mustE2(t *testing.T) func(bool, int, error) {
	return func(_ bool, _ int, err error) {
		t.Helper()
		mustE(t, err)
	}
}

// testDeleteStale: the periodic cleanup removes expired tokens (a live
// one stays), devices unseen for longer than the retention, and outbox
// messages older than theirs; at the boundaries it keeps what is not
// past them.
func testDeleteStale(t *testing.T, s EmailStore) {
	ctx := context.Background()
	now := emailT0.Add(365 * 24 * time.Hour)
	r := email.Retention{Devices: 30 * 24 * time.Hour, Mail: 7 * 24 * time.Hour}
	expired, boundary, live := emailHash(), emailHash(), emailHash()
	mustE(t, s.PutEmailToken(ctx, &email.Token{Hash: expired, UserID: "u1", Purpose: email.PurposeReset, CreatedAt: emailT0, ExpiresAt: now.Add(-time.Minute)}))
	mustE(t, s.PutEmailToken(ctx, &email.Token{Hash: boundary, UserID: "u2", Purpose: email.PurposeReset, CreatedAt: emailT0, ExpiresAt: now}))
	mustE(t, s.PutEmailToken(ctx, &email.Token{Hash: live, UserID: "u3", Purpose: email.PurposeVerify, CreatedAt: emailT0, ExpiresAt: now.Add(time.Minute)}))
	old, recent, edge := emailHash(), emailHash(), emailHash()
	mustE2(t)(s.SeeDevice(ctx, "u1", old, now.Add(-r.Devices-time.Second), "old"))
	mustE2(t)(s.SeeDevice(ctx, "u1", edge, now.Add(-r.Devices), "edge"))
	// Seen long ago first, recently again: kept.
	mustE2(t)(s.SeeDevice(ctx, "u1", recent, emailT0, "recent"))
	mustE2(t)(s.SeeDevice(ctx, "u1", recent, now.Add(-time.Hour), "recent"))
	mustE(t, s.AddMail(ctx, &mail.Message{ID: "old", Body: []byte("x"), CreatedAt: now.Add(-r.Mail - time.Second), DueAt: now.Add(time.Hour)}))
	mustE(t, s.AddMail(ctx, &mail.Message{ID: "new", Body: []byte("y"), CreatedAt: now.Add(-r.Mail), DueAt: now.Add(time.Hour)}))

	n, err := s.DeleteStale(ctx, now, r)
	if err != nil || n != 4 {
		t.Fatalf("DeleteStale: removed %d (%v), want 4: two tokens, a device, a message", n, err)
	}
	for _, h := range [][]byte{expired, boundary} {
		if _, err := s.TakeEmailToken(ctx, h, email.PurposeReset, emailT0); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("an expired token survived the cleanup (taken with an earlier clock): %v", err)
		}
	}
	if _, err := s.TakeEmailToken(ctx, live, email.PurposeVerify, emailT0); err != nil {
		t.Fatalf("the live token: %v", err)
	}
	ds, err := s.Devices(ctx, "u1")
	if err != nil || len(ds) != 2 || !bytes.Equal(ds[0].Hash, recent) || !bytes.Equal(ds[1].Hash, edge) {
		t.Fatalf("devices after the cleanup: %+v %v, want the recent one and the one at the boundary", ds, err)
	}
	got, err := s.ClaimMail(ctx, now.Add(2*time.Hour), now.Add(3*time.Hour), 10)
	if err != nil || len(got) != 1 || got[0].ID != "new" {
		t.Fatalf("outbox after the cleanup: %+v %v, want only the newer message", got, err)
	}
	if n, err := s.DeleteStale(ctx, now, r); err != nil || n != 0 {
		t.Fatalf("a second cleanup removed %d (%v), want 0", n, err)
	}
}

func testMailClaimLease(t *testing.T, s EmailStore) {
	ctx := context.Background()
	for i, id := range []string{"m1", "m2", "m3"} {
		mustE(t, s.AddMail(ctx, &mail.Message{ID: id, Body: []byte{byte(i)}, CreatedAt: emailT0, DueAt: emailT0.Add(time.Duration(i) * time.Second)}))
	}
	if err := s.AddMail(ctx, &mail.Message{ID: "m1", Body: []byte{9}, CreatedAt: emailT0, DueAt: emailT0}); sesame.ErrorCode(err) != sesame.EConflict {
		t.Fatalf("duplicate id: got %v, want EConflict", err)
	}
	got, err := s.ClaimMail(ctx, emailT0.Add(time.Second), emailT0.Add(time.Minute), 10)
	if err != nil || len(got) != 2 || got[0].ID != "m1" || got[1].ID != "m2" || got[0].Attempts != 1 || !bytes.Equal(got[1].Body, []byte{1}) {
		t.Fatalf("claim: got %d messages %v, want m1, m2 with one attempt", len(got), err)
	}
	if again, _ := s.ClaimMail(ctx, emailT0.Add(2*time.Second), emailT0.Add(time.Minute), 10); len(again) != 1 || again[0].ID != "m3" {
		t.Fatalf("claim while leased: got %d messages, want only m3", len(again))
	}
	back, _ := s.ClaimMail(ctx, emailT0.Add(time.Minute), emailT0.Add(2*time.Minute), 10)
	if len(back) != 3 || back[0].Attempts != 2 {
		t.Fatalf("claim after the lease: got %d messages, want 3 with two attempts", len(back))
	}
}

func testMailRetryDelete(t *testing.T, s EmailStore) {
	ctx := context.Background()
	mustE(t, s.AddMail(ctx, &mail.Message{ID: "m1", Body: []byte("x"), CreatedAt: emailT0, DueAt: emailT0}))
	mustE(t, s.RetryMail(ctx, "m1", emailT0.Add(time.Hour), "connection refused"))
	if got, _ := s.ClaimMail(ctx, emailT0.Add(time.Minute), emailT0.Add(2*time.Minute), 10); len(got) != 0 {
		t.Fatalf("claim before the retry time: got %d, want 0", len(got))
	}
	got, _ := s.ClaimMail(ctx, emailT0.Add(time.Hour), emailT0.Add(2*time.Hour), 10)
	if len(got) != 1 || got[0].LastError != "connection refused" {
		t.Fatalf("claim at the retry time: got %+v", got)
	}
	mustE(t, s.DeleteMail(ctx, "m1"))
	mustE(t, s.DeleteMail(ctx, "m1")) // idempotent
	mustE(t, s.RetryMail(ctx, "m1", emailT0, "x"))
	if got, _ := s.ClaimMail(ctx, emailT0.Add(10*time.Hour), emailT0.Add(11*time.Hour), 10); len(got) != 0 {
		t.Fatalf("claim after delete: got %d, want 0", len(got))
	}
}
