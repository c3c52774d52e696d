package app

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/factor"
	"github.com/sesame-auth/sesame/internal/mailpit"
	"github.com/sesame-auth/sesame/passkey"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/webhook"
)

// TestWebhooksOutboxSecondFactorsPasskeysEmail: the events of second
// factors (enrolled, removed, reset, requirement, recovery codes generated
// and used), passkeys (registered, removed) and email addresses (verified,
// changed) are written in the transaction of their cause too, on SQLite
// and PostgreSQL. As in TestWebhooksOutboxInTheCausesTransaction, the
// sink's own insert fails: each event is in the outbox all the same,
// exactly once. The factor events go through the real HTTP handlers and
// account service, the email ones through the email service; passkey
// ceremonies need an authenticator, so the passkey writes are made as the
// server makes them (the event named by the store, sesame.TxEvents.Added).
func TestWebhooksOutboxSecondFactorsPasskeysEmail(t *testing.T) {
	for _, tc := range []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "sesame.db") }},
		{"postgres", pgTestDB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mp := mailpit.FromEnv(t)
			h := newHookReceiver(t, nil)
			cfg := webhookConfig(t, h, "*")
			cfg.DB = tc.db(t)
			srv := httptest.NewUnstartedServer(nil)
			cfg.PublicURL = "http://" + srv.Listener.Addr().String()
			cfg.SMTPURL, cfg.MailFrom = mp.SMTPURL(), "Sesame <auth@sesame.test>"
			cfg.Tokens = true
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
			ctx := context.Background() // not started: the outbox keeps its webhooks
			srv.Config.Handler = a.Handler()
			srv.Start()
			t.Cleanup(srv.Close)
			call := func(method, path string, body any, bearer string, want int) []byte {
				t.Helper()
				var rd io.Reader
				if body != nil {
					b, _ := json.Marshal(body)
					rd = bytes.NewReader(b)
				}
				req, _ := http.NewRequest(method, srv.URL+path, rd)
				req.Header.Set("Content-Type", "application/json")
				if bearer != "" {
					req.Header.Set("Authorization", "Bearer "+bearer)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				out, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != want {
					t.Fatalf("%s %s: got %d %s, want %d", method, path, resp.StatusCode, out, want)
				}
				return out
			}

			const pw = "correct horse battery staple"
			u, err := a.Accounts().Signup(ctx, "alice", pw, false)
			if err != nil {
				t.Fatal(err)
			}
			var toks struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.Unmarshal(call("POST", "/api/v1/login", map[string]string{"username": "alice", "password": pw, "transport": "header"}, "", 200), &toks); err != nil {
				t.Fatal(err)
			}
			cookie := toks.AccessToken

			// factor.enrolled and, with the first factor, its recovery codes.
			var begin struct{ ID, Secret string }
			if err := json.Unmarshal(call("POST", "/api/v1/factors/totp", map[string]string{"name": "phone"}, cookie, 201), &begin); err != nil {
				t.Fatal(err)
			}
			secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(begin.Secret)
			if err != nil {
				t.Fatal(err)
			}
			var confirmed struct {
				RecoveryCodes []string `json:"recovery_codes"`
			}
			body := call("POST", "/api/v1/factors/totp/confirm", map[string]string{"id": begin.ID, "code": factor.TOTP(secret, time.Now())}, cookie, 200)
			if err := json.Unmarshal(body, &confirmed); err != nil || len(confirmed.RecoveryCodes) == 0 {
				t.Fatalf("confirm: %s %v", body, err)
			}
			// recovery_code.generated (regenerated), recovery_code.used.
			var regen struct {
				RecoveryCodes []string `json:"recovery_codes"`
			}
			if err := json.Unmarshal(call("POST", "/api/v1/factors/recovery-codes", map[string]any{}, cookie, 200), &regen); err != nil || len(regen.RecoveryCodes) == 0 {
				t.Fatalf("regenerate: %v", err)
			}
			sess, err := a.Sessions().StartTokenSession(ctx, u.ID, session.LoginOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if m, err := a.Accounts().SecondFactor(ctx, account.SecondFactorRequest{UserID: u.ID, SessionID: sess.ID, Code: regen.RecoveryCodes[0]}); err != nil || m != sesame.AMRRecoveryCode {
				t.Fatalf("recovery code: %q %v", m, err)
			}
			// A spent code spends nothing: no second recovery_code.used.
			if _, err := a.Accounts().SecondFactor(ctx, account.SecondFactorRequest{UserID: u.ID, SessionID: sess.ID, Code: regen.RecoveryCodes[0]}); err == nil {
				t.Fatal("a recovery code accepted twice")
			}
			// factor.removed.
			call("DELETE", "/api/v1/factors/"+begin.ID, nil, cookie, 204)
			// factor.requirement, factor.reset.
			if _, err := a.Accounts().SetFactorRequired(ctx, "alice", true, "admin"); err != nil {
				t.Fatal(err)
			}

			// passkey.registered and passkey.removed, as the server makes them.
			ps := a.Durable().(passkey.Store)
			pctx, te := sesame.WithTxEvents(ctx)
			te.Added = func(id, name string) sesame.Event {
				return sesame.Event{Type: sesame.EventPasskeyRegistered, UserID: u.ID, Username: "alice", Reason: id + " " + name, Time: time.Now()}
			}
			c := &passkey.Credential{ID: "pk_1", UserID: u.ID, CredentialID: []byte("cred-1"), Name: "laptop", CreatedAt: time.Now(), LastUsedAt: time.Now(), Data: []byte("{}")}
			if err := ps.AddPasskey(pctx, c); err != nil {
				t.Fatal(err)
			}
			a.opts.events.Emit(pctx, te.Added(c.ID, c.Name))
			removed := sesame.Event{Type: sesame.EventPasskeyRemoved, UserID: u.ID, Username: "alice", Reason: "pk_1", Time: time.Now()}
			rctx, _ := sesame.WithTxEvents(ctx, removed)
			if err := ps.DeletePasskey(rctx, u.ID, "pk_1"); err != nil {
				t.Fatal(err)
			}
			a.opts.events.Emit(rctx, removed)
			// Nothing deleted: no event queued, and the store says so.
			gone := sesame.Event{Type: sesame.EventPasskeyRemoved, UserID: u.ID, Username: "alice", Reason: "pk_none", Time: time.Now()}
			gctx, gte := sesame.WithTxEvents(ctx, gone)
			if err := ps.DeletePasskey(gctx, u.ID, "pk_none"); err == nil {
				t.Fatal("deleted a passkey that does not exist")
			}
			if gte.Covers(gone) {
				t.Error("a delete that found nothing reports its event queued")
			}
			// A passkey so that the reset counts it with the factors.
			if err := ps.AddPasskey(ctx, &passkey.Credential{ID: "pk_2", UserID: u.ID, CredentialID: []byte("cred-2"), Name: "key",
				CreatedAt: time.Now(), LastUsedAt: time.Now(), Data: []byte("{}")}); err != nil {
				t.Fatal(err)
			}
			if _, n, err := a.Accounts().ResetFactors(ctx, "alice", "admin"); err != nil || n != 1 {
				t.Fatalf("reset: %d %v, want 1 removed (the passkey)", n, err)
			}

			// user.email_verified (by an administrator), user.email_changed.
			ms := a.EmailService()
			if ms == nil {
				t.Fatal("no email service")
			}
			addr := "alice-" + tc.name + "-" + strings.ReplaceAll(u.ID, "_", "") + "@example.test"
			if err := ms.SetAddress(ctx, "alice", addr); err != nil {
				t.Fatal(err)
			}
			if err := ms.MarkVerified(ctx, "alice", "admin"); err != nil {
				t.Fatal(err)
			}
			next := "alice2-" + tc.name + "-" + strings.ReplaceAll(u.ID, "_", "") + "@example.test"
			if err := ms.RequestChange(ctx, u.ID, next); err != nil {
				t.Fatal(err)
			}
			if n := a.Outbox().RunOnce(ctx); n == 0 {
				t.Fatal("no mail sent")
			}
			mails := mp.Wait(t, next, 1, 10*time.Second)
			if err := ms.ConfirmChange(ctx, mailpit.Token(mailpit.Link(mails[0].Text, "/email/confirm"))); err != nil {
				t.Fatal(err)
			}

			got := outboxEvents(t, ws)
			want := []string{
				"user.signup",
				"factor.enrolled", "recovery_code.generated", "recovery_code.used",
				"factor.removed", "factor.requirement", "factor.reset",
				"passkey.registered", "passkey.removed",
				"user.email_verified", "user.email_changed",
			}
			// One recovery_code.generated: the regeneration's. The first
			// factor's codes are a second write of the confirmation, after
			// the one factor.enrolled is queued with; their event goes
			// through the sink (docs/webhooks.md), lost here.
			count := map[string]int{}
			for _, p := range got {
				if p.Data.UserID == u.ID {
					count[p.Type]++
				}
			}
			wantCount := map[string]int{}
			for _, w := range want {
				wantCount[w]++
			}
			delete(count, "session.created") // the sign-ins, covered by the other test
			delete(count, "session.revoked")
			for typ, n := range wantCount {
				if count[typ] != n {
					t.Errorf("%d %s webhooks in the outbox, want %d", count[typ], typ, n)
				}
			}
			for typ, n := range count {
				if wantCount[typ] == 0 {
					t.Errorf("%d unexpected %s webhooks in the outbox", n, typ)
				}
			}
			if t.Failed() {
				t.Logf("outbox: %+v", got)
			}
		})
	}
}
