package email_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/email"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/session"
)

// recorder wraps a memstore and records the name of every store call
// (users, email and outbox), to compare the work of two requests.
type recorder struct {
	*memstore.Store
	mu    sync.Mutex
	calls []string
	mail  []*mail.Message
}

func (r *recorder) rec(name string) {
	r.mu.Lock()
	r.calls = append(r.calls, name)
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func (r *recorder) UserByName(ctx context.Context, n string) (*sesame.User, error) {
	r.rec("UserByName")
	return r.Store.UserByName(ctx, n)
}
func (r *recorder) UserByID(ctx context.Context, id string) (*sesame.User, error) {
	r.rec("UserByID")
	return r.Store.UserByID(ctx, id)
}
func (r *recorder) UserIDByEmail(ctx context.Context, k string) (string, error) {
	r.rec("UserIDByEmail")
	return r.Store.UserIDByEmail(ctx, k)
}
func (r *recorder) EmailOf(ctx context.Context, id string) (*email.Address, error) {
	r.rec("EmailOf")
	return r.Store.EmailOf(ctx, id)
}
func (r *recorder) PutEmailToken(ctx context.Context, t *email.Token) error {
	r.rec("PutEmailToken")
	return r.Store.PutEmailToken(ctx, t)
}
func (r *recorder) AddMail(ctx context.Context, m *mail.Message) error {
	r.rec("AddMail")
	r.mu.Lock()
	r.mail = append(r.mail, m)
	r.mu.Unlock()
	return r.Store.AddMail(ctx, m)
}

type fixture struct {
	svc   *email.Service
	store *recorder
	box   *mail.Outbox
	sent  *sink
	clock *testclock.Clock
}

// sink is a Sender that keeps what it was given.
type sink struct {
	mu  sync.Mutex
	got []mail.Rendered
}

func (s *sink) Send(_ context.Context, m mail.Rendered) error {
	s.mu.Lock()
	s.got = append(s.got, m)
	s.mu.Unlock()
	return nil
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := &recorder{Store: memstore.New()}
	clock := testclock.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	mgr, err := session.New(st.Store, session.Config{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	acc := &account.Service{Users: st, Sessions: mgr, Clock: clock,
		Hasher: &password.Hasher{Params: password.Params{Memory: 64, Time: 1, Threads: 1}, AllowWeakParams: true}}
	tpl, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	snk := &sink{}
	box, err := mail.NewOutbox(mail.Config{Store: st, Sender: snk, Key: bytes.Repeat([]byte{7}, 32), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	svc := &email.Service{Store: st, Accounts: acc, Outbox: box, Templates: tpl, PublicURL: "https://auth.example", Clock: clock}
	return &fixture{svc: svc, store: st, box: box, sent: snk, clock: clock}
}

func (f *fixture) user(t *testing.T, name, addr string) *sesame.User {
	t.Helper()
	u, err := f.svc.Accounts.Signup(context.Background(), name, "correct horse battery", false)
	if err != nil {
		t.Fatal(err)
	}
	if addr != "" {
		if err := f.store.SetEmail(context.Background(), &email.Address{UserID: u.ID, Email: addr}); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

var ip = netip.MustParseAddr("192.0.2.1")

// TestSEC62_ForgotEqualWork: a forgot-password request does the same
// store calls, in the same order, and queues one sealed message of the
// same size class, whether the login names an account with an address, an
// unknown name, an unknown address, a user without an address or a
// blocked user.
func TestSEC62_ForgotEqualWork(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user(t, "alice", "alice@example.com")
	f.user(t, "noaddr", "")
	f.user(t, "blocked", "blocked@example.com")
	if _, err := f.svc.Accounts.SetBlocked(ctx, "blocked", true); err != nil {
		t.Fatal(err)
	}
	f.store.take()
	if err := f.svc.Forgot(ctx, "alice", ip); err != nil {
		t.Fatal(err)
	}
	want := f.store.take()
	if !slices.Contains(want, "PutEmailToken") || !slices.Contains(want, "AddMail") {
		t.Fatalf("known user: calls %v, want a token write and an outbox insert", want)
	}
	for _, login := range []string{"alice@example.com", "nobody", "nobody@example.com", "noaddr", "blocked", "not valid @@"} {
		if err := f.svc.Forgot(ctx, login, ip); err != nil {
			t.Fatalf("forgot %q: %v", login, err)
		}
		if got := f.store.take(); !slices.Equal(got, want) {
			t.Errorf("forgot %q: store calls %v, want %v (the known user's)", login, got, want)
		}
	}
	// Every queued message is sealed: no link, token or address in the store.
	for _, m := range f.store.mail {
		if bytes.Contains(m.Body, []byte("token=")) || bytes.Contains(m.Body, []byte("@example.com")) {
			t.Fatalf("a stored message holds a link or an address in clear")
		}
	}
	// Only the two real requests for alice are sent.
	for f.box.RunOnce(ctx) > 0 {
	}
	if len(f.sent.got) != 2 || f.sent.got[0].To != "alice@example.com" || f.sent.got[1].To != "alice@example.com" {
		t.Fatalf("sent %d messages, want 2 to alice", len(f.sent.got))
	}
}

// TestSEC62_TokenStoredHashed: the link carries 256 random bits; the
// store holds only their SHA-256, and the hash itself opens nothing.
func TestSEC62_TokenStoredHashed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user(t, "alice", "alice@example.com")
	if err := f.svc.Forgot(ctx, "alice", ip); err != nil {
		t.Fatal(err)
	}
	for f.box.RunOnce(ctx) > 0 {
	}
	text := f.sent.got[0].Text
	i := strings.Index(text, "token=")
	tok := strings.Fields(text[i+len("token="):])[0]
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %q: want 32 bytes of base64url", tok)
	}
	sum := sha256.Sum256(raw)
	// The hash is what the store keys on: used as a token, it opens nothing.
	if _, err := f.svc.Reset(ctx, base64.RawURLEncoding.EncodeToString(sum[:]), "a brand new passphrase", ip, ""); err != email.ErrBadLink {
		t.Fatalf("the stored hash as a token: got %v, want ErrBadLink", err)
	}
	got, err := f.store.TakeEmailToken(ctx, sum[:], email.PurposeReset, f.clock.Now())
	if err != nil || got.Email != "alice@example.com" {
		t.Fatalf("the store has no token under the SHA-256 of the link's: %v", err)
	}
}

// TestSEC62_ResetLinkLifetime: valid until 30 minutes, not at 30.
func TestSEC62_ResetLinkLifetime(t *testing.T) {
	for _, c := range []struct {
		after time.Duration
		ok    bool
	}{{30*time.Minute - time.Second, true}, {30 * time.Minute, false}} {
		f := newFixture(t)
		ctx := context.Background()
		f.user(t, "alice", "alice@example.com")
		f.svc.Forgot(ctx, "alice", ip)
		for f.box.RunOnce(ctx) > 0 {
		}
		tok := strings.Fields(f.sent.got[0].Text[strings.Index(f.sent.got[0].Text, "token=")+6:])[0]
		f.clock.Add(c.after)
		_, err := f.svc.Reset(ctx, tok, "a brand new passphrase", ip, "")
		if (err == nil) != c.ok {
			t.Fatalf("after %v: got %v, want ok=%v", c.after, err, c.ok)
		}
	}
}

// TestTemplatesOverride: a file in mail_templates replaces the built-in
// template of its name; a broken one is an error at start.
func TestTemplatesOverride(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/reset.txt", "Custom subject\nHi {{.Username}}: {{.Link}}\n")
	tpl, err := mail.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tpl.Render(mail.KindReset, "a@example.com", mail.Data{Username: "a<b", Link: "https://x/password/reset?token=abc"})
	if err != nil || r.Subject != "Custom subject" || !strings.Contains(r.Text, "Hi a<b: https://x/password/reset?token=abc") || !strings.Contains(r.HTML, "a&lt;b") {
		t.Fatalf("got %+v, %v", r, err)
	}
	writeFile(t, dir+"/verify.txt", "Subject\n{{.Nope\n")
	if _, err := mail.LoadTemplates(dir); err == nil {
		t.Fatal("a broken template was accepted")
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
