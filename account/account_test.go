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

// countingHasher counts argon2 computations through the real hasher.
type countingHasher struct {
	*password.Hasher
	hashes, verifies, dummies int
}

func (c *countingHasher) Hash(pw string) (string, error) { c.hashes++; return c.Hasher.Hash(pw) }
func (c *countingHasher) Verify(pw, enc string) (bool, bool, error) {
	c.verifies++
	return c.Hasher.Verify(pw, enc)
}
func (c *countingHasher) Dummy(pw string) { c.dummies++; c.Hasher.Dummy(pw) }

// SEC-45, structurally rather than by timing: an unknown user and a wrong
// password each cost exactly one argon2 verification with the same
// parameters (Dummy does a Verify against a hash made with the hasher's own
// parameters, see password.TestDummy), and give the same error. A 1 MB
// password costs none (SEC-44).
func TestSEC45_SameWorkUnknownUserAndWrongPassword(t *testing.T) {
	svc, _ := newService(t, password.Params{Memory: 64, Time: 1, Threads: 1})
	if _, err := svc.Signup(ctx, "alice", "correct horse battery", false); err != nil {
		t.Fatal(err)
	}
	h := &countingHasher{Hasher: svc.Hasher.(*password.Hasher)}
	svc.Hasher = h
	_, errWrong := svc.Authenticate(ctx, "alice", "wrong password here")
	if h.verifies != 1 || h.dummies != 0 {
		t.Fatalf("wrong password: %d verifies, %d dummies; want 1 verify", h.verifies, h.dummies)
	}
	for _, name := range []string{"nobody", "bad name!"} {
		h.verifies, h.dummies = 0, 0
		_, errUnknown := svc.Authenticate(ctx, name, "wrong password here")
		if h.verifies != 0 || h.dummies != 1 {
			t.Fatalf("unknown user %q: %d verifies, %d dummies; want 1 dummy", name, h.verifies, h.dummies)
		}
		if errUnknown != errWrong || !errors.Is(errWrong, account.ErrBadCredentials) {
			t.Fatalf("unknown user %q: error %v, wrong password: %v; want the same ErrBadCredentials", name, errUnknown, errWrong)
		}
	}
	h.verifies, h.dummies, h.hashes = 0, 0, 0
	if _, err := svc.Authenticate(ctx, "alice", strings.Repeat("p", 1<<20)); err == nil {
		t.Fatal("a 1 MB password was accepted")
	}
	if h.verifies+h.dummies+h.hashes != 0 {
		t.Fatal("SEC-44: a 1 MB password was hashed")
	}
	// Sign-up of a taken name costs a hash too.
	h.dummies = 0
	if _, err := svc.Signup(ctx, "alice", "another long passphrase", false); sesame.ErrorCode(err) != sesame.EConflict {
		t.Fatalf("taken username: got %v", err)
	}
	if h.dummies != 1 {
		t.Fatal("sign-up of a taken name did no hashing work")
	}
}
