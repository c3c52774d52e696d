package storetest

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/passkey"
)

// RunPasskeys runs the conformance suite of passkey.Store. newStore is
// called once per subtest and must return an empty store that shares
// nothing with earlier calls:
//
//	func TestPasskeyConformance(t *testing.T) {
//		storetest.RunPasskeys(t, func(t *testing.T) passkey.Store { return memstore.New() })
//	}
//
// Beyond the doc comments of passkey.Store, the suite holds a store to:
// times read back as the same instant to the nanosecond (the zero
// LastUsedAt as the zero time), byte fields and transports read back as
// written, and a credential changed only through its owner's user ID.
func RunPasskeys(t *testing.T, newStore func(t *testing.T) passkey.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s passkey.Store)
	}{
		{"Handle", testPasskeyHandle},
		{"ConcurrentHandleOneWinner", testPasskeyHandleConcurrent},
		{"AddAndList", testPasskeyAddAndList},
		{"DuplicateCredential", testPasskeyDuplicate},
		{"UseCounterOnlyGrows", testPasskeyUse},
		{"OtherUsersPasskey", testPasskeyOtherUser},
		{"RenameDelete", testPasskeyRenameDelete},
		{"ChallengeSingleUse", testPasskeyChallengeOnce},
		{"ConcurrentTakeOneWinner", testPasskeyChallengeConcurrent},
		{"ChallengeExpired", testPasskeyChallengeExpired},
	} {
		t.Run("Passkey/"+tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var pkBase = time.Date(2026, 4, 1, 9, 30, 0, 123456789, time.UTC)

func newPasskey(id, user string, credID byte) *passkey.Credential {
	return &passkey.Credential{ID: id, UserID: user, CredentialID: bytes.Repeat([]byte{credID}, 32), Name: "Laptop " + id,
		CreatedAt: pkBase, SignCount: 5, BackupEligible: true, BackupState: true, Transports: []string{"internal", "hybrid"},
		Data: []byte(`{"publicKey":"AQID"}`)}
}

func testPasskeyHandle(t *testing.T, s passkey.Store) {
	ctx := t.Context()
	h1, err := s.PasskeyHandle(ctx, "u1", bytes.Repeat([]byte{1}, 64))
	if err != nil {
		t.Fatal(err)
	}
	h2, err := s.PasskeyHandle(ctx, "u1", bytes.Repeat([]byte{2}, 64))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h1, bytes.Repeat([]byte{1}, 64)) || !bytes.Equal(h2, h1) {
		t.Fatalf("handle changed: %x then %x", h1, h2)
	}
	if id, err := s.PasskeyUserByHandle(ctx, h1); err != nil || id != "u1" {
		t.Fatalf("user by handle: %q, %v", id, err)
	}
	if _, err := s.PasskeyUserByHandle(ctx, bytes.Repeat([]byte{2}, 64)); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("unknown handle: %v, want ErrNotFound", err)
	}
}

func testPasskeyHandleConcurrent(t *testing.T, s passkey.Store) {
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Go(func() {
			h, err := s.PasskeyHandle(t.Context(), "u1", bytes.Repeat([]byte{byte(i + 1)}, 64))
			if err != nil {
				t.Error(err)
			}
			got[i] = h
		})
	}
	wg.Wait()
	for _, h := range got {
		if !bytes.Equal(h, got[0]) {
			t.Fatalf("concurrent calls returned different handles")
		}
	}
}

func testPasskeyAddAndList(t *testing.T, s passkey.Store) {
	ctx := t.Context()
	a, b := newPasskey("pk_a", "u1", 1), newPasskey("pk_b", "u1", 2)
	b.CreatedAt = pkBase.Add(time.Second)
	b.Transports, b.BackupEligible, b.BackupState = nil, false, false
	for _, c := range []*passkey.Credential{b, a, newPasskey("pk_c", "u2", 3)} {
		if err := s.AddPasskey(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Passkeys(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "pk_a" || got[1].ID != "pk_b" {
		t.Fatalf("Passkeys(u1) = %v, want pk_a, pk_b", ids(got))
	}
	g := got[0]
	if g.UserID != "u1" || !bytes.Equal(g.CredentialID, a.CredentialID) || g.Name != a.Name || !g.CreatedAt.Equal(pkBase) ||
		!g.LastUsedAt.IsZero() || g.SignCount != 5 || g.CloneWarning || !g.BackupEligible || !g.BackupState ||
		!slices.Equal(g.Transports, a.Transports) || !bytes.Equal(g.Data, a.Data) {
		t.Fatalf("read back %+v, want %+v", g, a)
	}
	if len(got[1].Transports) != 0 || got[1].BackupEligible {
		t.Fatalf("second passkey read back %+v", got[1])
	}
	if none, err := s.Passkeys(ctx, "nobody"); err != nil || len(none) != 0 {
		t.Fatalf("Passkeys(nobody) = %v, %v", none, err)
	}
}

func ids(cs []*passkey.Credential) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func testPasskeyDuplicate(t *testing.T, s passkey.Store) {
	ctx := t.Context()
	if err := s.AddPasskey(ctx, newPasskey("pk_a", "u1", 1)); err != nil {
		t.Fatal(err)
	}
	// The same authenticator credential for another user, or the same ID.
	for _, c := range []*passkey.Credential{newPasskey("pk_b", "u2", 1), newPasskey("pk_a", "u2", 2)} {
		if err := s.AddPasskey(ctx, c); sesame.ErrorCode(err) != sesame.EConflict {
			t.Fatalf("AddPasskey(%s) = %v, want EConflict", c.ID, err)
		}
	}
	if got, _ := s.Passkeys(ctx, "u2"); len(got) != 0 {
		t.Fatalf("a refused passkey was stored: %v", ids(got))
	}
}

func testPasskeyUse(t *testing.T, s passkey.Store) {
	ctx := t.Context()
	if err := s.AddPasskey(ctx, newPasskey("pk_a", "u1", 1)); err != nil {
		t.Fatal(err)
	}
	at := pkBase.Add(time.Hour)
	if err := s.UsePasskey(ctx, "u1", "pk_a", passkey.Use{At: at, SignCount: 9, BackupState: false}); err != nil {
		t.Fatal(err)
	}
	// A smaller counter (a clone, or a replay the verifier flagged) never
	// moves it back; the warning sticks.
	if err := s.UsePasskey(ctx, "u1", "pk_a", passkey.Use{At: at.Add(time.Minute), SignCount: 3, CloneWarning: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.UsePasskey(ctx, "u1", "pk_a", passkey.Use{At: at.Add(2 * time.Minute), SignCount: 4}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Passkeys(ctx, "u1")
	if g := got[0]; g.SignCount != 9 || !g.CloneWarning || g.BackupState || !g.LastUsedAt.Equal(at.Add(2*time.Minute)) {
		t.Fatalf("after uses: count %d clone %v backup %v used %v", g.SignCount, g.CloneWarning, g.BackupState, g.LastUsedAt)
	}
	if err := s.UsePasskey(ctx, "u1", "pk_nope", passkey.Use{At: at}); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("UsePasskey(unknown) = %v, want ErrNotFound", err)
	}
}

func testPasskeyOtherUser(t *testing.T, s passkey.Store) {
	ctx := t.Context()
	if err := s.AddPasskey(ctx, newPasskey("pk_a", "u1", 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.UsePasskey(ctx, "u2", "pk_a", passkey.Use{At: pkBase, SignCount: 100}); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("UsePasskey by another user = %v, want ErrNotFound", err)
	}
	if err := s.RenamePasskey(ctx, "u2", "pk_a", "mine now"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("RenamePasskey by another user = %v, want ErrNotFound", err)
	}
	if err := s.DeletePasskey(ctx, "u2", "pk_a"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("DeletePasskey by another user = %v, want ErrNotFound", err)
	}
	got, _ := s.Passkeys(ctx, "u1")
	if len(got) != 1 || got[0].Name != "Laptop pk_a" || got[0].SignCount != 5 {
		t.Fatalf("another user changed the passkey: %+v", got)
	}
}

func testPasskeyRenameDelete(t *testing.T, s passkey.Store) {
	ctx := t.Context()
	if err := s.AddPasskey(ctx, newPasskey("pk_a", "u1", 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.RenamePasskey(ctx, "u1", "pk_a", "Phone ✓"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Passkeys(ctx, "u1"); got[0].Name != "Phone ✓" {
		t.Fatalf("name %q", got[0].Name)
	}
	if err := s.DeletePasskey(ctx, "u1", "pk_a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePasskey(ctx, "u1", "pk_a"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("second delete = %v, want ErrNotFound", err)
	}
	if got, _ := s.Passkeys(ctx, "u1"); len(got) != 0 {
		t.Fatalf("deleted passkey listed: %v", ids(got))
	}
	// Its credential ID may be registered again.
	if err := s.AddPasskey(ctx, newPasskey("pk_b", "u1", 1)); err != nil {
		t.Fatal(err)
	}
}

func newChallenge(key string, exp time.Time) *passkey.Challenge {
	return &passkey.Challenge{Key: key, Kind: passkey.KindRegister, UserID: "u1", SessionID: "s1",
		Data: []byte(`{"challenge":"abc"}`), ExpiresAt: exp}
}

func testPasskeyChallengeOnce(t *testing.T, s passkey.Store) {
	ctx := t.Context()
	want := newChallenge("k1", pkBase.Add(5*time.Minute))
	if err := s.PutPasskeyChallenge(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.TakePasskeyChallenge(ctx, "k1", pkBase)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != "k1" || got.Kind != want.Kind || got.UserID != "u1" || got.SessionID != "s1" ||
		!bytes.Equal(got.Data, want.Data) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("took %+v, want %+v", got, want)
	}
	if _, err := s.TakePasskeyChallenge(ctx, "k1", pkBase); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("second take = %v, want ErrNotFound", err)
	}
	if _, err := s.TakePasskeyChallenge(ctx, "k2", pkBase); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("unknown take = %v, want ErrNotFound", err)
	}
}

func testPasskeyChallengeConcurrent(t *testing.T, s passkey.Store) {
	ctx := t.Context()
	if err := s.PutPasskeyChallenge(ctx, newChallenge("k1", pkBase.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range 8 {
		wg.Go(func() {
			_, err := s.TakePasskeyChallenge(ctx, "k1", pkBase)
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, sesame.ErrNotFound) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent takes got the challenge, want 1", wins)
	}
}

func testPasskeyChallengeExpired(t *testing.T, s passkey.Store) {
	ctx := t.Context()
	if err := s.PutPasskeyChallenge(ctx, newChallenge("k1", pkBase)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakePasskeyChallenge(ctx, "k1", pkBase.Add(time.Nanosecond)); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("expired take = %v, want ErrNotFound", err)
	}
	// A later ceremony's Put may drop long-expired ones; a live one stays.
	if err := s.PutPasskeyChallenge(ctx, newChallenge("k2", pkBase.Add(3*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPasskeyChallenge(ctx, newChallenge("k3", pkBase.Add(3*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakePasskeyChallenge(ctx, "k2", pkBase.Add(2*time.Hour)); err != nil {
		t.Fatalf("live take = %v", err)
	}
}
