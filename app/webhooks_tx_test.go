package app

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/postgres"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/sqlite"
	"github.com/sesame-auth/sesame/webhook"
)

// lostStore is a webhook outbox whose inserts fail: the sink's own
// insert, made after the event's cause committed, never lands, as when
// the process dies between the two.
type lostStore struct{ webhook.Store }

func (lostStore) AddWebhooks(context.Context, []*webhook.Message) error {
	return errors.New("injected: the process died after the write")
}

// outboxEvents lists the pending webhooks: "type user session" each.
func outboxEvents(t *testing.T, ws webhook.Store) []webhook.Payload {
	t.Helper()
	ms, err := ws.ListWebhooks(context.Background(), false, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]webhook.Payload, 0, len(ms))
	for _, m := range ms {
		var p webhook.Payload
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func hasEvent(ps []webhook.Payload, typ, user, sess string) bool {
	return slices.ContainsFunc(ps, func(p webhook.Payload) bool {
		return p.Type == typ && p.Data.UserID == user && (sess == "" || p.Data.SessionID == sess)
	})
}

// TestWebhooksOutboxInTheCausesTransaction: with sessions in the SQL
// database, the webhooks of a sign-up, sessions created and revoked, a
// password change, a block and an unblock are written in the transaction
// of their cause. The sink's own insert (after the cause) is made to fail
// here, as a process killed between the two would: every one of those
// events is in the outbox all the same, once, while an event that has no
// such write (login.success) is lost, which shows that the insert after
// the write is indeed what failed. The other way round, a write that
// fails (a taken username) or whose events cannot be made leaves neither
// the cause nor an event: never a cause without its event, never an event
// without its cause.
func TestWebhooksOutboxInTheCausesTransaction(t *testing.T) {
	for _, tc := range []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "sesame.db") }},
		{"postgres", pgTestDB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHookReceiver(t, nil)
			cfg := webhookConfig(t, h, "*")
			cfg.DB = tc.db(t)
			a, err := newApp(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			sink, ok := a.opts.events.(*webhook.Sink)
			if !ok {
				t.Fatalf("the event sink is %T, not the webhook sink", a.opts.events)
			}
			ws := sink.Store
			sink.Store = lostStore{ws}
			ctx := context.Background()

			u, err := a.Accounts().Signup(ctx, "alice", "correct horse battery staple", false)
			if err != nil {
				t.Fatal(err)
			}
			var sessions []string
			for range 3 {
				s, err := a.Sessions().StartTokenSession(ctx, u.ID, session.LoginOptions{})
				if err != nil {
					t.Fatal(err)
				}
				sessions = append(sessions, s.ID)
			}
			if _, err := a.Sessions().Revoke(ctx, sessions[0], "logout"); err != nil {
				t.Fatal(err)
			}
			// A password change ends the other two sessions.
			if err := a.Accounts().SetPassword(ctx, "alice", "another horse battery staple", ""); err != nil {
				t.Fatal(err)
			}
			s4, err := a.Sessions().StartTokenSession(ctx, u.ID, session.LoginOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Accounts().SetBlocked(ctx, "alice", true); err != nil { // ends s4
				t.Fatal(err)
			}
			if _, err := a.Accounts().SetBlocked(ctx, "alice", false); err != nil {
				t.Fatal(err)
			}
			// An event with no write of its own goes through the sink only.
			a.opts.events.Emit(ctx, sesame.Event{Type: sesame.EventLoginSuccess, UserID: u.ID, Time: time.Now()})

			ps := outboxEvents(t, ws)
			want := []struct{ typ, sess string }{
				{"user.signup", ""}, {"user.password_changed", ""}, {"user.blocked", ""}, {"user.unblocked", ""},
				{"session.created", sessions[0]}, {"session.created", sessions[1]}, {"session.created", sessions[2]}, {"session.created", s4.ID},
				{"session.revoked", sessions[0]}, {"session.revoked", sessions[1]}, {"session.revoked", sessions[2]}, {"session.revoked", s4.ID},
			}
			for _, w := range want {
				if !hasEvent(ps, w.typ, u.ID, w.sess) {
					t.Errorf("no %s webhook (session %q) in the outbox: the cause committed without its event", w.typ, w.sess)
				}
			}
			if len(ps) != len(want) {
				t.Errorf("%d webhooks in the outbox, want %d (each event once): %+v", len(ps), len(want), ps)
			}
			if hasEvent(ps, "login.success", u.ID, "") {
				t.Error("login.success is in the outbox: the injected failure of the sink's insert did not happen")
			}
			for _, p := range ps { // each session event names a session the store had
				if p.Data.SessionID != "" && !slices.Contains(append(sessions, s4.ID), p.Data.SessionID) {
					t.Errorf("a %s webhook for session %s, which never existed", p.Type, p.Data.SessionID)
				}
			}

			// A write that fails leaves no event: a taken username.
			before := len(ps)
			wctx, te := sesame.WithTxEvents(ctx, sesame.Event{Type: sesame.EventSignup, UserID: "u-dup", Username: "alice", Time: time.Now()})
			dup := &sesame.User{ID: "u-dup", Username: "alice", PasswordHash: "x", CreatedAt: time.Now(), UpdatedAt: time.Now()}
			if err := a.Durable().CreateUser(wctx, dup); sesame.ErrorCode(err) != sesame.EConflict {
				t.Fatalf("a taken username: %v", err)
			}
			if te.Covers(sesame.Event{Type: sesame.EventSignup, UserID: "u-dup", Username: "alice"}) {
				t.Error("a failed write reports its event queued")
			}
			if n := len(outboxEvents(t, ws)); n != before {
				t.Errorf("a failed sign-up left %d webhooks", n-before)
			}
			// Events that cannot be made fail the write: no user without
			// its sign-up event.
			enc := func([]sesame.Event) ([]*webhook.Message, error) { return nil, errors.New("injected: no message") }
			switch d := a.Durable().(type) {
			case *sqlite.DB:
				d.QueueEventsWith(enc)
			case *postgres.DB:
				d.QueueEventsWith(enc)
			default:
				t.Fatalf("durable store %T", d)
			}
			if _, err := a.Accounts().Signup(ctx, "bob", "correct horse battery staple", false); err == nil {
				t.Fatal("a sign-up whose event could not be queued succeeded")
			}
			if _, err := a.Durable().UserByName(ctx, "bob"); !errors.Is(err, sesame.ErrNotFound) {
				t.Fatalf("bob exists without his sign-up event: %v", err)
			}
			if n := len(outboxEvents(t, ws)); n != before {
				t.Errorf("a refused sign-up left %d webhooks", n-before)
			}
		})
	}
}

// With sessions in Redis the session events are not in a database
// transaction: they go through the sink after the write (at most once,
// docs/webhooks.md), while the user events stay in the database's.
func TestWebhooksSessionsInRedisThroughTheSink(t *testing.T) {
	redisURL := needRedis(t)
	h := newHookReceiver(t, nil)
	cfg := webhookConfig(t, h, "*")
	cfg.Sessions = redisURL
	a, err := newApp(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sink := a.opts.events.(*webhook.Sink)
	ws := sink.Store
	sink.Store = lostStore{ws}
	ctx := context.Background()
	u, err := a.Accounts().Signup(ctx, "carol", "correct horse battery staple", false)
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Sessions().StartTokenSession(ctx, u.ID, session.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ps := outboxEvents(t, ws)
	if !hasEvent(ps, "user.signup", u.ID, "") {
		t.Error("no user.signup webhook: the user is in the database, its event in the same transaction")
	}
	if hasEvent(ps, "session.created", u.ID, s.ID) {
		t.Error("a session.created webhook although the sink's insert failed: Redis cannot share a transaction with the outbox")
	}
}

// needRedis is SESAME_TEST_REDIS_URL, flushed (skipped without it, a
// failure under CI=true).
func needRedis(t *testing.T) string {
	t.Helper()
	u := os.Getenv("SESAME_TEST_REDIS_URL")
	if u == "" {
		const msg = "SESAME_TEST_REDIS_URL is not set: start Redis with eval \"$(bash .ci/services start)\""
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return u
}
