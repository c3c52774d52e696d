package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/factor"
)

// RunFactors runs the conformance suite of factor.Store. newStore is
// called once per subtest and must return an empty store that shares
// nothing with earlier calls:
//
//	func TestFactorConformance(t *testing.T) {
//		storetest.RunFactors(t, func(t *testing.T) factor.Store { return memstore.New() })
//	}
//
// Beyond the doc comments of factor.Store, the suite holds a store to:
// times read back as the same instant to the nanosecond (zero times as
// the zero time), the sealed secret as written, a factor changed only
// through its owner's user ID, and one winner among concurrent uses of one
// time step or one recovery code, also through factor.Service.Check.
func RunFactors(t *testing.T, newStore func(t *testing.T) factor.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s factor.Store)
	}{
		{"AddAndList", testFactorAddAndList},
		{"Duplicate", testFactorDuplicate},
		{"StepOnlyRises", testFactorStep},
		{"ConcurrentStepOneWinner", testFactorStepConcurrent},
		{"OtherUsersFactor", testFactorOtherUser},
		{"DeleteUnconfirmed", testFactorDeleteUnconfirmed},
		{"RecoveryCodes", testRecoveryCodes},
		{"ConcurrentRecoveryOneWinner", testRecoveryConcurrent},
		{"DeleteUserFactors", testDeleteUserFactors},
		{"Required", testFactorRequired},
		{"ServiceConcurrentCheckOneWinner", testFactorServiceConcurrent},
	} {
		t.Run("Factor/"+tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var tfBase = time.Date(2026, 4, 1, 9, 30, 0, 123456789, time.UTC)

func newFactor(id, user string, age time.Duration) *factor.Factor {
	return &factor.Factor{ID: id, UserID: user, Kind: factor.KindTOTP, Name: "Phone " + id,
		Secret: []byte{0, 1, 2, 0xff, byte(len(id))}, CreatedAt: tfBase.Add(-age)}
}

func mustAddFactor(t *testing.T, s factor.Store, f *factor.Factor) {
	t.Helper()
	if err := s.AddFactor(t.Context(), f); err != nil {
		t.Fatalf("AddFactor(%s): %v", f.ID, err)
	}
}

func sameFactor(t *testing.T, got, want *factor.Factor) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Kind != want.Kind || got.Name != want.Name ||
		!bytes.Equal(got.Secret, want.Secret) || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.ConfirmedAt.Equal(want.ConfirmedAt) || !got.LastUsedAt.Equal(want.LastUsedAt) || got.LastStep != want.LastStep {
		t.Fatalf("got factor %+v, want %+v", got, want)
	}
}

func testFactorAddAndList(t *testing.T, s factor.Store) {
	ctx := t.Context()
	b := newFactor("tf_b", "u1", time.Minute)
	a := newFactor("tf_a", "u1", 2*time.Minute)
	c := newFactor("tf_c", "u2", 0)
	a.ConfirmedAt, a.LastUsedAt, a.LastStep = tfBase.Add(-90*time.Second), tfBase.Add(-80*time.Second), 123456
	for _, f := range []*factor.Factor{b, a, c} {
		mustAddFactor(t, s, f)
	}
	got, err := s.Factor(ctx, "u1", "tf_a")
	if err != nil {
		t.Fatal(err)
	}
	sameFactor(t, got, a)
	if !got.Confirmed() {
		t.Fatal("confirmed factor reads as unconfirmed")
	}
	got, _ = s.Factor(ctx, "u1", "tf_b")
	sameFactor(t, got, b)
	if got.Confirmed() || !got.LastUsedAt.IsZero() {
		t.Fatalf("unconfirmed factor reads back with times: %+v", got)
	}
	l, err := s.Factors(ctx, "u1")
	if err != nil || len(l) != 2 || l[0].ID != "tf_a" || l[1].ID != "tf_b" {
		t.Fatalf("Factors(u1): %v, %v; want tf_a then tf_b (oldest first)", l, err)
	}
	if l, err := s.Factors(ctx, "nobody"); err != nil || len(l) != 0 {
		t.Fatalf("Factors(nobody): %v, %v", l, err)
	}
	if _, err := s.Factor(ctx, "u1", "tf_nope"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("unknown factor: %v, want ErrNotFound", err)
	}
}

func testFactorDuplicate(t *testing.T, s factor.Store) {
	mustAddFactor(t, s, newFactor("tf_a", "u1", 0))
	if err := s.AddFactor(t.Context(), newFactor("tf_a", "u2", 0)); sesame.ErrorCode(err) != sesame.EConflict {
		t.Fatalf("duplicate ID: %v, want EConflict", err)
	}
}

func testFactorStep(t *testing.T, s factor.Store) {
	ctx := t.Context()
	mustAddFactor(t, s, newFactor("tf_a", "u1", 0))
	at1, at2 := tfBase.Add(time.Second), tfBase.Add(time.Minute)
	if ok, err := s.UseFactorStep(ctx, "u1", "tf_a", 100, at1, true); !ok || err != nil {
		t.Fatalf("first step with confirm: %v, %v", ok, err)
	}
	f, _ := s.Factor(ctx, "u1", "tf_a")
	if f.LastStep != 100 || !f.ConfirmedAt.Equal(at1) || !f.LastUsedAt.Equal(at1) {
		t.Fatalf("after confirm: %+v", f)
	}
	for _, step := range []int64{100, 99, 0} {
		if ok, err := s.UseFactorStep(ctx, "u1", "tf_a", step, at2, false); ok || err != nil {
			t.Fatalf("step %d after 100: %v, %v; want false, nil (replay)", step, ok, err)
		}
	}
	if ok, err := s.UseFactorStep(ctx, "u1", "tf_a", 102, at2, true); !ok || err != nil {
		t.Fatalf("step 102: %v, %v", ok, err)
	}
	f, _ = s.Factor(ctx, "u1", "tf_a")
	if f.LastStep != 102 || !f.ConfirmedAt.Equal(at1) || !f.LastUsedAt.Equal(at2) {
		t.Fatalf("confirm again moved ConfirmedAt, or the step was not recorded: %+v", f)
	}
	if _, err := s.UseFactorStep(ctx, "u1", "tf_nope", 200, at2, false); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("unknown factor: %v, want ErrNotFound", err)
	}
}

func testFactorStepConcurrent(t *testing.T, s factor.Store) {
	mustAddFactor(t, s, newFactor("tf_a", "u1", 0))
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			ok, err := s.UseFactorStep(context.Background(), "u1", "tf_a", 500, tfBase, false)
			if err != nil {
				t.Errorf("UseFactorStep: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				wins++
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("8 concurrent uses of one step: %d won, want 1", wins)
	}
}

func testFactorOtherUser(t *testing.T, s factor.Store) {
	ctx := t.Context()
	mustAddFactor(t, s, newFactor("tf_a", "u1", 0))
	if _, err := s.Factor(ctx, "u2", "tf_a"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("Factor as u2: %v, want ErrNotFound", err)
	}
	if _, err := s.UseFactorStep(ctx, "u2", "tf_a", 5, tfBase, true); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("UseFactorStep as u2: %v, want ErrNotFound", err)
	}
	if err := s.DeleteFactor(ctx, "u2", "tf_a"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("DeleteFactor as u2: %v, want ErrNotFound", err)
	}
	f, err := s.Factor(ctx, "u1", "tf_a")
	if err != nil || f.Confirmed() || f.LastStep != 0 {
		t.Fatalf("u1's factor after u2's tries: %+v, %v", f, err)
	}
	if err := s.DeleteFactor(ctx, "u1", "tf_a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFactor(ctx, "u1", "tf_a"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
}

func testFactorDeleteUnconfirmed(t *testing.T, s factor.Store) {
	ctx := t.Context()
	old := newFactor("tf_old", "u1", time.Hour)
	oldConfirmed := newFactor("tf_oldc", "u1", time.Hour)
	oldConfirmed.ConfirmedAt = tfBase.Add(-time.Hour)
	atCutoff := newFactor("tf_cut", "u2", 15*time.Minute)
	young := newFactor("tf_young", "u2", time.Minute)
	for _, f := range []*factor.Factor{old, oldConfirmed, atCutoff, young} {
		mustAddFactor(t, s, f)
	}
	n, err := s.DeleteUnconfirmedFactors(ctx, tfBase.Add(-15*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("DeleteUnconfirmedFactors: %d, %v; want 1 (created before the cutoff)", n, err)
	}
	for id, want := range map[string]bool{"tf_old": false, "tf_oldc": true, "tf_cut": true, "tf_young": true} {
		user := "u1"
		if id == "tf_cut" || id == "tf_young" {
			user = "u2"
		}
		_, err := s.Factor(ctx, user, id)
		if (err == nil) != want {
			t.Errorf("%s after cleanup: %v, want present=%v", id, err, want)
		}
	}
}

func recoveryHashes(prefix string, n int) [][]byte {
	var out [][]byte
	for i := range n {
		h := sha256.Sum256([]byte{prefix[0], byte(i)})
		out = append(out, h[:])
	}
	return out
}

func testRecoveryCodes(t *testing.T, s factor.Store) {
	ctx := t.Context()
	if st, err := s.RecoveryCodes(ctx, "u1"); err != nil || st != (factor.RecoveryState{}) {
		t.Fatalf("no set: %+v, %v; want the zero state", st, err)
	}
	first := recoveryHashes("a", 10)
	if err := s.ReplaceRecoveryCodes(ctx, "u1", first, tfBase); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRecoveryCodes(ctx, "u2", first[:3], tfBase); err != nil {
		t.Fatal(err)
	}
	used := tfBase.Add(time.Minute)
	if ok, err := s.UseRecoveryCode(ctx, "u1", first[4], used); !ok || err != nil {
		t.Fatalf("first use: %v, %v", ok, err)
	}
	if ok, err := s.UseRecoveryCode(ctx, "u1", first[4], used.Add(time.Second)); ok || err != nil {
		t.Fatalf("second use: %v, %v; want false, nil", ok, err)
	}
	if ok, err := s.UseRecoveryCode(ctx, "u1", recoveryHashes("z", 1)[0], used); ok || err != nil {
		t.Fatalf("unknown code: %v, %v; want false, nil", ok, err)
	}
	if ok, _ := s.UseRecoveryCode(ctx, "u3", first[5], used); ok {
		t.Fatal("another user's code spent")
	}
	st, err := s.RecoveryCodes(ctx, "u1")
	if err != nil || st.Total != 10 || st.Unused != 9 || !st.CreatedAt.Equal(tfBase) || !st.LastUsedAt.Equal(used) {
		t.Fatalf("state: %+v, %v; want 10, 9 unused, created %v, last used %v", st, err, tfBase, used)
	}
	if st, _ := s.RecoveryCodes(ctx, "u2"); st.Total != 3 || st.Unused != 3 || !st.LastUsedAt.IsZero() {
		t.Fatalf("u2's state: %+v", st)
	}
	// A new set voids the old one.
	second := recoveryHashes("b", 10)
	later := tfBase.Add(time.Hour)
	if err := s.ReplaceRecoveryCodes(ctx, "u1", second, later); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.UseRecoveryCode(ctx, "u1", first[0], later); ok {
		t.Fatal("a code of the old set spent after replacement")
	}
	st, _ = s.RecoveryCodes(ctx, "u1")
	if st.Total != 10 || st.Unused != 10 || !st.CreatedAt.Equal(later) || !st.LastUsedAt.IsZero() {
		t.Fatalf("state after replacement: %+v", st)
	}
	if ok, _ := s.UseRecoveryCode(ctx, "u1", second[9], later); !ok {
		t.Fatal("a code of the new set refused")
	}
}

func testRecoveryConcurrent(t *testing.T, s factor.Store) {
	hs := recoveryHashes("c", 10)
	if err := s.ReplaceRecoveryCodes(t.Context(), "u1", hs, tfBase); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			ok, err := s.UseRecoveryCode(context.Background(), "u1", hs[3], tfBase)
			if err != nil {
				t.Errorf("UseRecoveryCode: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				wins++
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("8 concurrent uses of one code: %d won, want 1", wins)
	}
}

func testDeleteUserFactors(t *testing.T, s factor.Store) {
	ctx := t.Context()
	mustAddFactor(t, s, newFactor("tf_a", "u1", 0))
	mustAddFactor(t, s, newFactor("tf_b", "u1", time.Second))
	mustAddFactor(t, s, newFactor("tf_c", "u2", 0))
	s.ReplaceRecoveryCodes(ctx, "u1", recoveryHashes("d", 10), tfBase)
	s.ReplaceRecoveryCodes(ctx, "u2", recoveryHashes("d", 10), tfBase)
	n, err := s.DeleteUserFactors(ctx, "u1")
	if err != nil || n != 2 {
		t.Fatalf("DeleteUserFactors: %d, %v; want 2", n, err)
	}
	if l, _ := s.Factors(ctx, "u1"); len(l) != 0 {
		t.Fatalf("u1 still has %d factors", len(l))
	}
	if st, _ := s.RecoveryCodes(ctx, "u1"); st.Total != 0 {
		t.Fatalf("u1 still has recovery codes: %+v", st)
	}
	if l, _ := s.Factors(ctx, "u2"); len(l) != 1 {
		t.Fatal("u2's factor went too")
	}
	if st, _ := s.RecoveryCodes(ctx, "u2"); st.Total != 10 {
		t.Fatal("u2's codes went too")
	}
	if n, err := s.DeleteUserFactors(ctx, "u1"); n != 0 || err != nil {
		t.Fatalf("second reset: %d, %v", n, err)
	}
}

func testFactorRequired(t *testing.T, s factor.Store) {
	ctx := t.Context()
	if on, err := s.FactorRequired(ctx, "u1"); on || err != nil {
		t.Fatalf("never set: %v, %v", on, err)
	}
	for _, want := range []bool{true, true, false, true} {
		if err := s.SetFactorRequired(ctx, "u1", want); err != nil {
			t.Fatal(err)
		}
		if on, err := s.FactorRequired(ctx, "u1"); on != want || err != nil {
			t.Fatalf("after set %v: %v, %v", want, on, err)
		}
	}
	if on, _ := s.FactorRequired(ctx, "u2"); on {
		t.Fatal("another user's switch")
	}
}

// plainSealer is a test Sealer that binds the purpose and ID but does not
// encrypt (the keyring's own tests cover encryption).
type plainSealer struct{}

func (plainSealer) Seal(purpose, id string, p []byte) []byte {
	return append([]byte(purpose+"\x00"+id+"\x00"), p...)
}

func (plainSealer) Unseal(purpose, id string, b []byte) ([]byte, error) {
	prefix := []byte(purpose + "\x00" + id + "\x00")
	if !bytes.HasPrefix(b, prefix) {
		return nil, errors.New("storetest: not sealed for this factor")
	}
	return b[len(prefix):], nil
}

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

// testFactorServiceConcurrent: one TOTP code, and one recovery code, sent
// by many requests at once through factor.Service.Check: one succeeds
// (SEC-61).
func testFactorServiceConcurrent(t *testing.T, s factor.Store) {
	ctx := t.Context()
	clock := &fixedClock{t: tfBase}
	svc, err := factor.New(factor.Config{Store: s, Sealer: plainSealer{}, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	e, err := svc.BeginTOTP(ctx, "u1", "u1", "")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := svc.ConfirmTOTP(ctx, "u1", e.ID, factor.TOTP(secret, clock.t))
	if err != nil || len(codes) != factor.RecoveryCodeCount {
		t.Fatalf("confirm: %d codes, %v", len(codes), err)
	}
	clock.t = clock.t.Add(factor.Period) // written before the goroutines start
	for _, code := range []string{factor.TOTP(secret, clock.t), codes[0]} {
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 8 {
			wg.Go(func() {
				_, _, err := svc.Check(context.Background(), "u1", code)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, factor.ErrWrongCode):
					t.Errorf("Check: %v", err)
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("one code, 8 concurrent checks: %d succeeded, want 1", wins)
		}
	}
}
