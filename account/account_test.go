package account_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/session"
)

var ctx = context.Background()

func newService(t *testing.T, p password.Params) (*account.Service, *memstore.Store) {
	t.Helper()
	store := memstore.New()
	m, err := session.New(store, session.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return &account.Service{Users: store, Sessions: m, Hasher: &password.Hasher{Params: p, AllowWeakParams: true}}, store
}

// SEC-41: a hash with stale parameters is replaced at the next successful
// login, and only then.
func TestRehashOnLogin(t *testing.T) {
	old := password.Params{Memory: 64, Time: 1, Threads: 1}
	svc, store := newService(t, old)
	if _, err := svc.Signup(ctx, "alice", "correct horse battery", false); err != nil {
		t.Fatal(err)
	}
	u, _ := store.UserByName(ctx, "alice")
	stale := u.PasswordHash
	if !strings.Contains(stale, "m=64,t=1,p=1") {
		t.Fatalf("stored hash %q: want the old parameters", stale)
	}
	svc.Hasher = &password.Hasher{Params: password.Params{Memory: 128, Time: 2, Threads: 1}, AllowWeakParams: true}
	if _, err := svc.Authenticate(ctx, "alice", "wrong password here"); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("wrong password: got %v", err)
	}
	if u, _ = store.UserByName(ctx, "alice"); u.PasswordHash != stale {
		t.Fatal("a failed login rehashed the password")
	}
	if _, err := svc.Authenticate(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	u, _ = store.UserByName(ctx, "alice")
	if !strings.Contains(u.PasswordHash, "m=128,t=2,p=1") {
		t.Fatalf("after login the hash is %q: want the new parameters", u.PasswordHash)
	}
	if _, err := svc.Authenticate(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatalf("login with the rehashed password: %v", err)
	}
}

func TestNormalizeUsername(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"Alice", "alice", true},
		{"bob.smith+tag@example.org", "bob.smith+tag@example.org", true},
		{"", "", false},
		{strings.Repeat("a", 64), strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), "", false},
		{"al ice", "", false},
		{"alice\r\nevil", "", false},
		{"ålice", "", false},
		{"../etc", "", false},
		{"a'b", "", false},
	}
	for _, tc := range cases {
		got, err := account.NormalizeUsername(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("NormalizeUsername(%q): got %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// A blocked account is revealed only to someone who knows its password.
func TestBlockedAnswers(t *testing.T) {
	svc, _ := newService(t, password.Params{Memory: 64, Time: 1, Threads: 1})
	if _, err := svc.Signup(ctx, "alice", "correct horse battery", false); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetBlocked(ctx, "ALICE", true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, "alice", "wrong password here"); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("blocked + wrong password: got %v, want ErrBadCredentials", err)
	}
	if _, err := svc.Authenticate(ctx, "alice", "correct horse battery"); !errors.Is(err, account.ErrBlocked) {
		t.Fatalf("blocked + right password: got %v, want ErrBlocked", err)
	}
	if _, err := svc.SetBlocked(ctx, "nobody", true); sesame.ErrorCode(err) != sesame.ENotFound {
		t.Fatalf("block unknown user: got %v, want not found", err)
	}
}
