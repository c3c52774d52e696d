package passkey_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/passkey"
	"github.com/sesame-auth/sesame/passkey/passkeytest"
)

const origin = "https://auth.example.com"

func newService(t *testing.T, store passkey.Store) *passkey.Service {
	t.Helper()
	s, err := passkey.New(passkey.Config{Store: store, PublicURL: origin})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var alice = &sesame.User{ID: "u_alice", Username: "alice"}
var bob = &sesame.User{ID: "u_bob", Username: "bob"}

// register registers a passkey of a new authenticator for u by session sid.
func register(t *testing.T, s *passkey.Service, u *sesame.User, sid string) (*passkeytest.Authenticator, *passkey.Credential) {
	t.Helper()
	ctx := context.Background()
	opts, cookie, err := s.BeginRegistration(ctx, u, sid)
	if err != nil {
		t.Fatal(err)
	}
	a := passkeytest.New(origin)
	body, err := a.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.FinishRegistration(ctx, u, sid, cookie, "Laptop", body)
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	return a, c
}

func mustFail(t *testing.T, err error, reason string) {
	t.Helper()
	if sesame.ErrorCode(err) != sesame.EUnauthenticated {
		t.Fatalf("got %v, want a refused ceremony", err)
	}
	if got := passkey.FailureReason(err); !strings.Contains(got, reason) {
		t.Fatalf("reason %q, want it to contain %q", got, reason)
	}
	if strings.Contains(sesame.ErrorMessage(err), reason) {
		t.Fatalf("the client message names the check: %q", sesame.ErrorMessage(err))
	}
}

func TestRegisterAndPasswordless(t *testing.T) {
	store := memstore.New()
	s := newService(t, store)
	ctx := context.Background()
	a, c := register(t, s, alice, "s1")
	if c.UserID != alice.ID || c.Name != "Laptop" || len(c.CredentialID) != 32 || !strings.HasPrefix(c.ID, "pk_") {
		t.Fatalf("registered %+v", c)
	}
	// The user handle is random, not the username.
	h, _ := store.PasskeyHandle(ctx, alice.ID, nil)
	if len(h) != 64 || strings.Contains(string(h), "alice") || string(a.Only().User) != string(h) {
		t.Fatalf("user handle %x", h)
	}
	opts, cookie, err := s.BeginPasswordless(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var o map[string]map[string]any
	json.Unmarshal(opts, &o)
	if o["publicKey"]["userVerification"] != "required" || o["publicKey"]["rpId"] != "auth.example.com" {
		t.Fatalf("passwordless options %s", opts)
	}
	body, err := a.Get(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.FinishPasswordless(ctx, cookie, body)
	if err != nil {
		t.Fatalf("FinishPasswordless: %v", err)
	}
	if got.UserID != alice.ID || got.ID != c.ID || got.LastUsedAt.IsZero() {
		t.Fatalf("signed in as %+v", got)
	}
}

// TestSEC61_PasskeyChallengeSingleUse: an assertion answered once is
// refused when posted again (replay), and a ceremony's cookie is spent by
// any answer, right or wrong.
func TestSEC61_PasskeyChallengeSingleUse(t *testing.T) {
	s := newService(t, memstore.New())
	ctx := context.Background()
	a, _ := register(t, s, alice, "s1")
	opts, cookie, _ := s.BeginPasswordless(ctx)
	body, _ := a.Get(opts, nil)
	if _, err := s.FinishPasswordless(ctx, cookie, body); err != nil {
		t.Fatal(err)
	}
	_, err := s.FinishPasswordless(ctx, cookie, body)
	mustFail(t, err, "unknown, used or expired challenge")

	// The same assertion under a fresh ceremony: its challenge is not the
	// fresh one.
	_, cookie2, _ := s.BeginPasswordless(ctx)
	_, err = s.FinishPasswordless(ctx, cookie2, body)
	mustFail(t, err, "not verified")
	// ... and that failure spent the fresh ceremony too.
	opts3, _, _ := s.BeginPasswordless(ctx)
	body3, _ := a.Get(opts3, nil)
	_, err = s.FinishPasswordless(ctx, cookie2, body3)
	mustFail(t, err, "unknown, used or expired challenge")
}

func TestPasskeyChallengeExpires(t *testing.T) {
	now := time.Now()
	s, _ := passkey.New(passkey.Config{Store: memstore.New(), PublicURL: origin, Now: func() time.Time { return now }})
	ctx := context.Background()
	a, _ := register(t, s, alice, "s1")
	opts, cookie, _ := s.BeginPasswordless(ctx)
	body, _ := a.Get(opts, nil)
	now = now.Add(5*time.Minute + time.Second)
	_, err := s.FinishPasswordless(ctx, cookie, body)
	mustFail(t, err, "unknown, used or expired challenge")
}

// TestPasskeyClientChallengeIgnored: a client that answers a challenge of
// its own choosing (not the one the server issued for its cookie) is
// refused: the server compares with what it stored, never with what the
// client says the challenge was.
func TestPasskeyClientChallengeIgnored(t *testing.T) {
	s := newService(t, memstore.New())
	ctx := context.Background()
	a, _ := register(t, s, alice, "s1")
	_, cookie, _ := s.BeginPasswordless(ctx)
	forged := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	body, err := a.Sign(a.Only(), forged, passkeytest.ClientData("webauthn.get", forged, origin))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.FinishPasswordless(ctx, cookie, body)
	mustFail(t, err, "not verified")
}

func TestPasskeyWrongOriginOrRPID(t *testing.T) {
	s := newService(t, memstore.New())
	ctx := context.Background()
	a, _ := register(t, s, alice, "s1")
	t.Run("origin", func(t *testing.T) {
		opts, cookie, _ := s.BeginPasswordless(ctx)
		ch := passkeytest.Challenge(opts)
		body, _ := a.Sign(a.Only(), ch, passkeytest.ClientData("webauthn.get", ch, "https://auth.example.com.evil.test"))
		_, err := s.FinishPasswordless(ctx, cookie, body)
		mustFail(t, err, "not verified")
	})
	t.Run("rpid", func(t *testing.T) {
		opts, cookie, _ := s.BeginPasswordless(ctx)
		a.RPID = "evil.test"
		defer func() { a.RPID = "" }()
		body, _ := a.Get(opts, nil)
		_, err := s.FinishPasswordless(ctx, cookie, body)
		mustFail(t, err, "not verified")
	})
	t.Run("registration origin", func(t *testing.T) {
		opts, cookie, _ := s.BeginRegistration(ctx, alice, "s1")
		evil := passkeytest.New("https://evil.test")
		body, _ := evil.Create(opts)
		_, err := s.FinishRegistration(ctx, alice, "s1", cookie, "x", body)
		mustFail(t, err, "registration not verified")
	})
	t.Run("ceremony type", func(t *testing.T) {
		opts, cookie, _ := s.BeginPasswordless(ctx)
		ch := passkeytest.Challenge(opts)
		body, _ := a.Sign(a.Only(), ch, passkeytest.ClientData("webauthn.create", ch, origin))
		_, err := s.FinishPasswordless(ctx, cookie, body)
		mustFail(t, err, "not verified")
	})
}

// TestPasskeyPasswordlessNeedsUserVerification: presence alone (a key
// touched without its PIN or biometric) is not a passwordless sign-in.
func TestPasskeyPasswordlessNeedsUserVerification(t *testing.T) {
	s := newService(t, memstore.New())
	ctx := context.Background()
	a, _ := register(t, s, alice, "s1")
	a.NoUV = true
	opts, cookie, _ := s.BeginPasswordless(ctx)
	body, _ := a.Get(opts, nil)
	_, err := s.FinishPasswordless(ctx, cookie, body)
	mustFail(t, err, "not verified")
}

// TestPasskeyAnotherUsersCredential: Bob's credential presented with
// Alice's user handle (or for Alice's second factor) is refused.
func TestPasskeyAnotherUsersCredential(t *testing.T) {
	store := memstore.New()
	s := newService(t, store)
	ctx := context.Background()
	a, _ := register(t, s, alice, "s1")
	b, _ := register(t, s, bob, "s2")
	bobKey := b.Only()
	t.Run("passwordless with alice's handle", func(t *testing.T) {
		opts, cookie, _ := s.BeginPasswordless(ctx)
		forged := *bobKey
		forged.User = a.Only().User
		body, _ := b.Sign(&forged, passkeytest.Challenge(opts), passkeytest.ClientData("webauthn.get", passkeytest.Challenge(opts), origin))
		_, err := s.FinishPasswordless(ctx, cookie, body)
		mustFail(t, err, "not verified")
	})
	t.Run("second factor", func(t *testing.T) {
		opts, cookie, err := s.BeginSecondFactor(ctx, alice.ID, "pending1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := b.Sign(bobKey, passkeytest.Challenge(opts), passkeytest.ClientData("webauthn.get", passkeytest.Challenge(opts), origin))
		_, err = s.FinishSecondFactor(ctx, alice.ID, "pending1", cookie, body)
		mustFail(t, err, "not verified")
	})
}

func TestPasskeySecondFactor(t *testing.T) {
	s := newService(t, memstore.New())
	ctx := context.Background()
	a, c := register(t, s, alice, "s1")
	if _, _, err := s.BeginSecondFactor(ctx, bob.ID, "p"); sesame.ErrorCode(err) != sesame.EInvalid {
		t.Fatalf("second factor for a user without passkeys: %v", err)
	}
	opts, cookie, err := s.BeginSecondFactor(ctx, alice.ID, "pending1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := a.Get(opts, nil)
	// Bound to the pending session that began it.
	_, err = s.FinishSecondFactor(ctx, alice.ID, "pending2", cookie, body)
	mustFail(t, err, "another ceremony or session")
	opts, cookie, _ = s.BeginSecondFactor(ctx, alice.ID, "pending1")
	body, _ = a.Get(opts, nil)
	got, err := s.FinishSecondFactor(ctx, alice.ID, "pending1", cookie, body)
	if err != nil || got.ID != c.ID {
		t.Fatalf("second factor: %v, %v", got, err)
	}
	// A registration cookie is not a second-factor one.
	_, rc, _ := s.BeginRegistration(ctx, alice, "pending1")
	_, err = s.FinishSecondFactor(ctx, alice.ID, "pending1", rc, body)
	mustFail(t, err, "another ceremony or session")
}

func TestPasskeyRegistrationBoundToSession(t *testing.T) {
	s := newService(t, memstore.New())
	ctx := context.Background()
	opts, cookie, _ := s.BeginRegistration(ctx, alice, "s1")
	body, _ := passkeytest.New(origin).Create(opts)
	_, err := s.FinishRegistration(ctx, alice, "s2", cookie, "x", body)
	mustFail(t, err, "another ceremony or session")
	opts, cookie, _ = s.BeginRegistration(ctx, alice, "s1")
	body, _ = passkeytest.New(origin).Create(opts)
	_, err = s.FinishRegistration(ctx, bob, "s1", cookie, "x", body)
	mustFail(t, err, "another ceremony or session")
	if _, err := s.FinishRegistration(ctx, alice, "s1", "", "x", body); sesame.ErrorCode(err) != sesame.EUnauthenticated {
		t.Fatalf("no cookie: %v", err)
	}
	if _, _, err := s.BeginRegistration(ctx, alice, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishRegistration(ctx, alice, "s1", cookie, strings.Repeat("n", 65), body); sesame.ErrorCode(err) != sesame.EInvalid {
		t.Fatalf("long name: %v", err)
	}
}

// TestPasskeyCloneWarning: an authenticator that counts and presents a
// counter that did not grow (a cloned key used after the original) is
// refused, and the credential stays refused.
func TestPasskeyCloneWarning(t *testing.T) {
	store := memstore.New()
	s := newService(t, store)
	ctx := context.Background()
	opts, cookie, _ := s.BeginRegistration(ctx, alice, "s1")
	a := passkeytest.New(origin)
	a.Counter = 10
	body, _ := a.Create(opts)
	if _, err := s.FinishRegistration(ctx, alice, "s1", cookie, "Key", body); err != nil {
		t.Fatal(err)
	}
	signIn := func() error {
		opts, cookie, _ := s.BeginPasswordless(ctx)
		body, _ := a.Get(opts, nil)
		_, err := s.FinishPasswordless(ctx, cookie, body)
		return err
	}
	if err := signIn(); err != nil { // counter 11
		t.Fatal(err)
	}
	a.Counter = 5 // the clone's counter is behind
	mustFail(t, signIn(), "possibly cloned")
	a.Counter = 100
	mustFail(t, signIn(), "possibly cloned")
	cs, _ := store.Passkeys(ctx, alice.ID)
	if !cs[0].CloneWarning || cs[0].SignCount != 11 {
		t.Fatalf("stored %+v", cs[0])
	}
}

func TestPasskeyExcludesRegistered(t *testing.T) {
	s := newService(t, memstore.New())
	ctx := context.Background()
	_, c := register(t, s, alice, "s1")
	opts, _, _ := s.BeginRegistration(ctx, alice, "s1")
	if !strings.Contains(string(opts), `"excludeCredentials"`) {
		t.Fatalf("options do not exclude %s: %s", c.ID, opts)
	}
}

func TestPasskeyConfig(t *testing.T) {
	st := memstore.New()
	for _, tc := range []struct {
		url, rpid, wantRPID, wantOrigin string
	}{
		{"https://auth.example.com", "", "auth.example.com", "https://auth.example.com"},
		{"https://Auth.Example.com:443", "", "auth.example.com", "https://auth.example.com"},
		{"http://localhost:8080", "", "localhost", "http://localhost:8080"},
		{"https://auth.example.com", "example.com", "example.com", "https://auth.example.com"},
	} {
		s, err := passkey.New(passkey.Config{Store: st, PublicURL: tc.url, RPID: tc.rpid})
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if s.RPID() != tc.wantRPID || s.Origin() != tc.wantOrigin {
			t.Fatalf("%s: RP ID %q origin %q", tc.url, s.RPID(), s.Origin())
		}
	}
	for _, bad := range []struct{ url, rpid string }{
		{"", ""}, {"ftp://x", ""}, {"https://auth.example.com", "other.com"}, {"https://auth.example.com", "ample.com"},
	} {
		if _, err := passkey.New(passkey.Config{Store: st, PublicURL: bad.url, RPID: bad.rpid}); err == nil {
			t.Fatalf("%q %q accepted", bad.url, bad.rpid)
		}
	}
}
