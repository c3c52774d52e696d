package migrate_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/factor"
	"github.com/sesame-auth/sesame/migrate"
)

// Second-factor state: alice has a confirmed TOTP factor that accepted
// step 100, a recovery set with one code spent and the requirement; bob an
// enrolment not confirmed yet and the requirement set back to off (not
// copied: the same as never set).
func factorHashes(seed byte) [][]byte {
	var out [][]byte
	for i := range factor.RecoveryCodeCount {
		h := sha256.Sum256([]byte{seed, byte(i)})
		out = append(out, h[:])
	}
	return out
}

var factorBase = time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)

func addFactorState(t *testing.T, durable any, alice, bob string) {
	t.Helper()
	ctx := context.Background()
	fs := durable.(factor.Store)
	for _, f := range []*factor.Factor{
		{ID: "tf_alice", UserID: alice, Kind: factor.KindTOTP, Name: "Phone", Secret: []byte("sealed totp secret"),
			CreatedAt: factorBase, ConfirmedAt: factorBase.Add(time.Minute), LastUsedAt: factorBase.Add(2 * time.Minute), LastStep: 100},
		{ID: "tf_bob", UserID: bob, Kind: factor.KindTOTP, Name: "Authenticator", Secret: []byte("sealed too"), CreatedAt: factorBase},
	} {
		if err := fs.AddFactor(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.ReplaceRecoveryCodes(ctx, alice, factorHashes(1), factorBase); err != nil {
		t.Fatal(err)
	}
	if ok, err := fs.UseRecoveryCode(ctx, alice, factorHashes(1)[0], factorBase.Add(time.Minute)); !ok || err != nil {
		t.Fatalf("use recovery code: %v %v", ok, err)
	}
	if err := fs.SetFactorRequired(ctx, alice, true); err != nil {
		t.Fatal(err)
	}
	if err := fs.SetFactorRequired(ctx, bob, false); err != nil {
		t.Fatal(err)
	}
}

// checkFactorState: the target holds the second-factor state as the
// source did: the sealed secret as it was, the last step (a code already
// used in the source is a replay in the target) and the spent code.
func checkFactorState(t *testing.T, durable any, alice, bob string) {
	t.Helper()
	ctx := context.Background()
	fs := durable.(factor.Store)
	f, err := fs.Factor(ctx, alice, "tf_alice")
	if err != nil || !bytes.Equal(f.Secret, []byte("sealed totp secret")) || f.LastStep != 100 || f.Name != "Phone" ||
		!f.ConfirmedAt.Equal(factorBase.Add(time.Minute)) || !f.LastUsedAt.Equal(factorBase.Add(2*time.Minute)) {
		t.Errorf("alice's factor on the target: %+v %v", f, err)
	}
	if ok, err := fs.UseFactorStep(ctx, alice, "tf_alice", 100, time.Now(), false); ok || err != nil {
		t.Errorf("step 100 on the target: %v %v, want a replay", ok, err)
	}
	if l, err := fs.Factors(ctx, bob); err != nil || len(l) != 1 || l[0].Confirmed() {
		t.Errorf("bob's enrolment on the target: %+v %v", l, err)
	}
	st, err := fs.RecoveryCodes(ctx, alice)
	if err != nil || st.Total != 10 || st.Unused != 9 || !st.CreatedAt.Equal(factorBase) {
		t.Errorf("alice's recovery codes on the target: %+v %v", st, err)
	}
	if ok, _ := fs.UseRecoveryCode(ctx, alice, factorHashes(1)[0], time.Now()); ok {
		t.Error("a code spent in the source works in the target")
	}
	if on, err := fs.FactorRequired(ctx, alice); !on || err != nil {
		t.Errorf("alice's requirement on the target: %v %v", on, err)
	}
	if on, _ := fs.FactorRequired(ctx, bob); on {
		t.Error("bob's requirement on the target")
	}
}

// changeFactorState changes the source after a first copy: bob's
// enrolment removed, alice's recovery codes regenerated, her requirement
// lifted. checkFactorChanges checks that the next run mirrored them.
func changeFactorState(t *testing.T, s any, alice, bob string) {
	t.Helper()
	ctx := context.Background()
	fs := s.(factor.Store)
	if err := fs.DeleteFactor(ctx, bob, "tf_bob"); err != nil {
		t.Fatal(err)
	}
	if err := fs.ReplaceRecoveryCodes(ctx, alice, factorHashes(2), factorBase.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := fs.SetFactorRequired(ctx, alice, false); err != nil {
		t.Fatal(err)
	}
}

func checkFactorChanges(t *testing.T, rep *migrate.Report, d any, alice, bob string) {
	t.Helper()
	ctx := context.Background()
	for k, want := range map[string]int{"second factors": 1, "recovery codes": 10, "factor requirements": 1} {
		if kr := kindReport(rep, k); kr.Deleted != want {
			t.Errorf("%s: %+v, want %d deleted in the target", k, kr, want)
		}
	}
	fs := d.(factor.Store)
	if l, err := fs.Factors(ctx, bob); err != nil || len(l) != 0 {
		t.Errorf("bob's removed enrolment in the target: %+v %v", l, err)
	}
	if ok, _ := fs.UseRecoveryCode(ctx, alice, factorHashes(1)[5], time.Now()); ok {
		t.Error("a code of the voided set works in the target")
	}
	if ok, _ := fs.UseRecoveryCode(ctx, alice, factorHashes(2)[5], time.Now()); !ok {
		t.Error("a code of the new set refused in the target")
	}
	if on, _ := fs.FactorRequired(ctx, alice); on {
		t.Error("alice's lifted requirement still on in the target")
	}
}
