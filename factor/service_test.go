package factor_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/factor"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/memstore"
)

var t0 = time.Date(2026, 5, 4, 10, 0, 7, 0, time.UTC) // 7 s into a step

func masterKey(t testing.TB, b byte) *keyring.MasterKey {
	t.Helper()
	m, err := keyring.NewMasterKey(bytes.Repeat([]byte{b}, keyring.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type fixture struct {
	svc   *factor.Service
	store factor.Store
	clock *testclock.Clock
	key   *keyring.MasterKey
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	fx := &fixture{store: memstore.New(), clock: testclock.New(t0), key: masterKey(t, 7)}
	svc, err := factor.New(factor.Config{Store: fx.store, Sealer: fx.key, Clock: fx.clock})
	if err != nil {
		t.Fatal(err)
	}
	fx.svc = svc
	return fx
}

// enrol begins and confirms a TOTP factor for user at the clock's time and
// returns it, its raw secret and the recovery codes confirmation gave.
func (fx *fixture) enrol(t testing.TB, user string) (*factor.Enrollment, []byte, []string) {
	t.Helper()
	e, err := fx.svc.BeginTOTP(t.Context(), user, user+"@example.com", "Phone")
	if err != nil {
		t.Fatal(err)
	}
	secret := decodeSecret(t, e.Secret)
	codes, err := fx.svc.ConfirmTOTP(t.Context(), user, e.ID, factor.TOTP(secret, fx.clock.Now()))
	if err != nil {
		t.Fatalf("confirm: %v", err)
	}
	return e, secret, codes
}

func decodeSecret(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil {
		t.Fatalf("secret %q: %v", s, err)
	}
	return b
}

func wantCode(t *testing.T, err error, code sesame.Code) {
	t.Helper()
	if got := sesame.ErrorCode(err); got != code {
		t.Fatalf("got error %v (code %q), want code %q", err, got, code)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	m := masterKey(t, 1)
	for _, tc := range []struct {
		name string
		cfg  factor.Config
	}{
		{"no store", factor.Config{Sealer: m}},
		{"no sealer", factor.Config{Store: memstore.New()}},
		{"colon in issuer", factor.Config{Store: memstore.New(), Sealer: m, Issuer: "a:b"}},
		{"negative skew", factor.Config{Store: memstore.New(), Sealer: m, Skew: -1}},
	} {
		if _, err := factor.New(tc.cfg); err == nil {
			t.Errorf("%s: New accepted it", tc.name)
		}
	}
}

func TestBeginTOTPEnrollment(t *testing.T) {
	fx := newFixture(t)
	e, err := fx.svc.BeginTOTP(t.Context(), "u1", "alice@example.com", "  My phone ")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.ID, "tf_") || len(e.ID) != 27 {
		t.Errorf("id %q, want tf_ and 24 hex digits", e.ID)
	}
	if len(e.Secret) != 32 || strings.Contains(e.Secret, "=") || len(decodeSecret(t, e.Secret)) != 20 {
		t.Errorf("secret %q: want 32 base32 characters (20 bytes) without padding", e.Secret)
	}
	u, err := url.Parse(e.URI)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Sesame:alice@example.com" {
		t.Errorf("URI %q: wrong scheme, type or label", e.URI)
	}
	q := u.Query()
	for k, v := range map[string]string{"secret": e.Secret, "issuer": "Sesame", "algorithm": "SHA1", "digits": "6", "period": "30"} {
		if q.Get(k) != v {
			t.Errorf("URI %q: %s=%q, want %q", e.URI, k, q.Get(k), v)
		}
	}
	f, err := fx.store.Factor(t.Context(), "u1", e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "My phone" || f.Confirmed() || f.Kind != factor.KindTOTP || !f.CreatedAt.Equal(t0) {
		t.Errorf("stored factor %+v", f)
	}
	if l, _ := fx.svc.List(t.Context(), "u1"); len(l) != 0 {
		t.Errorf("List shows %d unconfirmed factors, want 0", len(l))
	}
	if ok, _ := fx.svc.HasTOTP(t.Context(), "u1"); ok {
		t.Error("HasTOTP true before confirmation")
	}
}

func TestLabelEscaping(t *testing.T) {
	fx := newFixture(t)
	svc, err := factor.New(factor.Config{Store: fx.store, Sealer: fx.key, Issuer: "Acme & Co"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := svc.BeginTOTP(t.Context(), "u1", "a:b?c", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.URI, "otpauth://totp/Acme%20&%20Co:a%3Ab%3Fc?secret=") || !strings.Contains(e.URI, "&issuer=Acme+%26+Co&") {
		t.Errorf("URI %q: label or issuer not escaped", e.URI)
	}
}

func TestSEC61_TOTPReplayRefused(t *testing.T) {
	fx := newFixture(t)
	ctx := t.Context()
	e, secret, codes := fx.enrol(t, "u1")
	if len(codes) != factor.RecoveryCodeCount {
		t.Fatalf("confirmation gave %d recovery codes, want %d", len(codes), factor.RecoveryCodeCount)
	}
	// The confirming code cannot sign in.
	if _, _, err := fx.svc.Check(ctx, "u1", factor.TOTP(secret, fx.clock.Now())); !errors.Is(err, factor.ErrWrongCode) {
		t.Fatalf("the confirmation code replayed: got %v, want ErrWrongCode", err)
	}
	fx.clock.Add(30 * time.Second)
	code := factor.TOTP(secret, fx.clock.Now())
	method, f, err := fx.svc.Check(ctx, "u1", code)
	if err != nil || method != sesame.AMROTP || f == nil || f.ID != e.ID || f.Secret != nil {
		t.Fatalf("Check: got %q, %+v, %v; want otp with factor %s", method, f, err, e.ID)
	}
	if !f.LastUsedAt.Equal(fx.clock.Now()) {
		t.Errorf("LastUsedAt %v, want %v", f.LastUsedAt, fx.clock.Now())
	}
	_, _, err = fx.svc.Check(ctx, "u1", code)
	if !errors.Is(err, factor.ErrWrongCode) {
		t.Fatalf("same code again: got %v, want ErrWrongCode", err)
	}
	// Later in its own step, and in the next step (within the skew).
	for _, d := range []time.Duration{20 * time.Second, 10 * time.Second} {
		fx.clock.Add(d)
		if _, _, err := fx.svc.Check(ctx, "u1", code); !errors.Is(err, factor.ErrWrongCode) {
			t.Fatalf("same code %v later: got %v, want ErrWrongCode", d, err)
		}
	}
	if factor.Step(fx.clock.Now()) != f.LastStep+1 {
		t.Fatalf("test clock: step %d, want %d", factor.Step(fx.clock.Now()), f.LastStep+1)
	}
	if _, _, err := fx.svc.Check(ctx, "u1", factor.TOTP(secret, fx.clock.Now())); err != nil {
		t.Fatalf("next step's code: %v", err)
	}
	stored, _ := fx.store.Factor(ctx, "u1", e.ID)
	if stored.LastStep != factor.Step(fx.clock.Now()) {
		t.Errorf("LastStep %d, want %d", stored.LastStep, factor.Step(fx.clock.Now()))
	}
}

func TestCheckSkew(t *testing.T) {
	fx := newFixture(t)
	_, secret, _ := fx.enrol(t, "u1")
	fx.clock.Add(10 * time.Minute)
	now := fx.clock.Now()
	at := func(steps int) string { return factor.TOTP(secret, now.Add(time.Duration(steps)*factor.Period)) }
	// In rising order: accepting a step refuses every earlier one.
	for _, tc := range []struct {
		name  string
		steps int
		ok    bool
	}{
		{"two steps back", -2, false},
		{"one step back", -1, true},
		{"two steps ahead", 2, false},
		{"one step ahead", 1, true},
		{"now, after a later step was used", 0, false},
	} {
		_, _, err := fx.svc.Check(t.Context(), "u1", at(tc.steps))
		if (err == nil) != tc.ok {
			t.Errorf("%s: got %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// TestCheckSkewBoundaryInsideStep: skew counts whole steps, not seconds: at
// the last second of a step, the code of the step before last is refused.
func TestCheckSkewBoundaryInsideStep(t *testing.T) {
	fx := newFixture(t)
	_, secret, _ := fx.enrol(t, "u1")
	start := time.Unix((factor.Step(t0)+10)*30, 0).UTC()
	fx.clock.Set(start.Add(29*time.Second + 999*time.Millisecond))
	if _, _, err := fx.svc.Check(t.Context(), "u1", factor.TOTP(secret, start.Add(-31*time.Second))); !errors.Is(err, factor.ErrWrongCode) {
		t.Fatalf("code of two steps back: got %v, want ErrWrongCode", err)
	}
	if _, _, err := fx.svc.Check(t.Context(), "u1", factor.TOTP(secret, start.Add(-time.Second))); err != nil {
		t.Fatalf("code of one step back: %v", err)
	}
}

func TestSEC61_RecoveryCodeSingleUse(t *testing.T) {
	fx := newFixture(t)
	ctx := t.Context()
	_, _, codes := fx.enrol(t, "u1")
	fx.clock.Add(time.Minute)
	method, f, err := fx.svc.Check(ctx, "u1", codes[0])
	if err != nil || method != sesame.AMRRecoveryCode || f != nil {
		t.Fatalf("recovery code: got %q, %v, %v; want rec", method, f, err)
	}
	if _, _, err := fx.svc.Check(ctx, "u1", codes[0]); !errors.Is(err, factor.ErrWrongCode) {
		t.Fatalf("recovery code twice: got %v, want ErrWrongCode", err)
	}
	// Forgiving input: upper case, spaces for the dash.
	if _, _, err := fx.svc.Check(ctx, "u1", " "+strings.ToUpper(strings.ReplaceAll(codes[1], "-", " "))+" "); err != nil {
		t.Fatalf("recovery code typed in upper case with a space: %v", err)
	}
	if _, _, err := fx.svc.Check(ctx, "u2", codes[2]); !errors.Is(err, factor.ErrWrongCode) {
		t.Fatalf("another user's recovery code: got %v, want ErrWrongCode", err)
	}
	st, err := fx.svc.Recovery(ctx, "u1")
	if err != nil || st.Total != 10 || st.Unused != 8 || !st.LastUsedAt.Equal(fx.clock.Now()) || !st.CreatedAt.Equal(t0) {
		t.Fatalf("recovery state %+v, %v; want 10 total, 8 unused, last used now, created at t0", st, err)
	}

	fx.clock.Add(time.Minute)
	fresh, err := fx.svc.Regenerate(ctx, "u1")
	if err != nil || len(fresh) != 10 {
		t.Fatalf("Regenerate: %d codes, %v", len(fresh), err)
	}
	for _, c := range codes[2:] {
		if _, _, err := fx.svc.Check(ctx, "u1", c); !errors.Is(err, factor.ErrWrongCode) {
			t.Fatalf("an old code after Regenerate: got %v, want ErrWrongCode", err)
		}
	}
	st, _ = fx.svc.Recovery(ctx, "u1")
	if st.Total != 10 || st.Unused != 10 || !st.CreatedAt.Equal(fx.clock.Now()) || !st.LastUsedAt.IsZero() {
		t.Fatalf("state after Regenerate %+v", st)
	}
	if _, _, err := fx.svc.Check(ctx, "u1", fresh[9]); err != nil {
		t.Fatalf("a new code: %v", err)
	}
}

func TestSecondFactorGivesNoNewRecoveryCodes(t *testing.T) {
	fx := newFixture(t)
	_, _, codes := fx.enrol(t, "u1")
	fx.clock.Add(time.Minute)
	if _, _, again := fx.enrol(t, "u1"); again != nil {
		t.Fatalf("second factor's confirmation gave %d codes, want none (the first set stays valid)", len(again))
	}
	if _, _, err := fx.svc.Check(t.Context(), "u1", codes[0]); err != nil {
		t.Fatalf("first set after a second factor: %v", err)
	}
	// Reset removes everything; the next enrolment gives a new set.
	n, err := fx.svc.Reset(t.Context(), "u1")
	if err != nil || n != 2 {
		t.Fatalf("Reset: %d, %v; want 2", n, err)
	}
	if _, _, err := fx.svc.Check(t.Context(), "u1", codes[1]); !errors.Is(err, factor.ErrWrongCode) {
		t.Fatalf("recovery code after Reset: got %v, want ErrWrongCode", err)
	}
	if ok, _ := fx.svc.HasTOTP(t.Context(), "u1"); ok {
		t.Fatal("HasTOTP after Reset")
	}
	fx.clock.Add(time.Minute)
	if _, _, fresh := fx.enrol(t, "u1"); len(fresh) != 10 {
		t.Fatalf("enrolment after Reset gave %d codes, want 10", len(fresh))
	}
}

func TestConfirmTOTP(t *testing.T) {
	ctx := context.Background()
	t.Run("wrong and malformed codes", func(t *testing.T) {
		fx := newFixture(t)
		e, _ := fx.svc.BeginTOTP(ctx, "u1", "a", "")
		for _, c := range []string{"000000", "12345", "abcdef", "", "1234567"} {
			if _, err := fx.svc.ConfirmTOTP(ctx, "u1", e.ID, c); !errors.Is(err, factor.ErrWrongCode) {
				t.Errorf("code %q: got %v, want ErrWrongCode", c, err)
			}
		}
	})
	t.Run("already confirmed", func(t *testing.T) {
		fx := newFixture(t)
		e, secret, _ := fx.enrol(t, "u1")
		fx.clock.Add(30 * time.Second)
		_, err := fx.svc.ConfirmTOTP(ctx, "u1", e.ID, factor.TOTP(secret, fx.clock.Now()))
		wantCode(t, err, sesame.EInvalid)
		if !strings.Contains(sesame.ErrorMessage(err), "already confirmed") {
			t.Fatalf("message %q", sesame.ErrorMessage(err))
		}
	})
	t.Run("expires after 15 minutes", func(t *testing.T) {
		fx := newFixture(t)
		e, _ := fx.svc.BeginTOTP(ctx, "u1", "a", "")
		secret := decodeSecret(t, e.Secret)
		fx.clock.Add(factor.EnrolmentTTL + time.Nanosecond)
		_, err := fx.svc.ConfirmTOTP(ctx, "u1", e.ID, factor.TOTP(secret, fx.clock.Now()))
		wantCode(t, err, sesame.EInvalid)
		if sesame.ErrorMessage(err) != "enrolment expired: start again" {
			t.Fatalf("message %q", sesame.ErrorMessage(err))
		}
	})
	t.Run("exactly 15 minutes is in time", func(t *testing.T) {
		fx := newFixture(t)
		e, _ := fx.svc.BeginTOTP(ctx, "u1", "a", "")
		fx.clock.Add(factor.EnrolmentTTL)
		if _, err := fx.svc.ConfirmTOTP(ctx, "u1", e.ID, factor.TOTP(decodeSecret(t, e.Secret), fx.clock.Now())); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unknown id", func(t *testing.T) {
		fx := newFixture(t)
		_, err := fx.svc.ConfirmTOTP(ctx, "u1", "tf_nope", "123456")
		wantCode(t, err, sesame.ENotFound)
	})
}

func TestOtherUsersFactorRefused(t *testing.T) {
	fx := newFixture(t)
	ctx := t.Context()
	e, _ := fx.svc.BeginTOTP(ctx, "alice", "alice", "")
	secret := decodeSecret(t, e.Secret)
	_, err := fx.svc.ConfirmTOTP(ctx, "mallory", e.ID, factor.TOTP(secret, fx.clock.Now()))
	wantCode(t, err, sesame.ENotFound)
	wantCode(t, fx.svc.Remove(ctx, "mallory", e.ID), sesame.ENotFound)
	if _, err := fx.svc.ConfirmTOTP(ctx, "alice", e.ID, factor.TOTP(secret, fx.clock.Now())); err != nil {
		t.Fatalf("alice's own confirmation after mallory's tries: %v", err)
	}
	fx.clock.Add(30 * time.Second)
	if _, _, err := fx.svc.Check(ctx, "mallory", factor.TOTP(secret, fx.clock.Now())); !errors.Is(err, factor.ErrWrongCode) {
		t.Fatalf("alice's code for mallory: got %v, want ErrWrongCode", err)
	}
	if err := fx.svc.Remove(ctx, "alice", e.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, fx.svc.Remove(ctx, "alice", e.ID), sesame.ENotFound)
	if _, _, err := fx.svc.Check(ctx, "alice", factor.TOTP(secret, fx.clock.Now())); !errors.Is(err, factor.ErrWrongCode) {
		t.Fatalf("a removed factor's code: got %v, want ErrWrongCode", err)
	}
}

func TestSecretStoredSealed(t *testing.T) {
	fx := newFixture(t)
	e, secret, _ := fx.enrol(t, "u1")
	f, err := fx.store.Factor(t.Context(), "u1", e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(f.Secret, secret) || bytes.Contains(f.Secret, []byte(e.Secret)) ||
		bytes.Contains(bytes.ToLower(f.Secret), []byte(strings.ToLower(e.Secret))) {
		t.Fatal("the store holds the plain secret")
	}
	plain, err := fx.key.Unseal("totp", e.ID, f.Secret)
	if err != nil || !bytes.Equal(plain, secret) {
		t.Fatalf("Unseal(totp, id): %v; want the secret", err)
	}
	if _, err := fx.key.Unseal("totp", "tf_other", f.Secret); err == nil {
		t.Fatal("the sealed secret opens under another factor ID")
	}
}

func TestUnsealFailureIsAnError(t *testing.T) {
	fx := newFixture(t)
	e, secret, _ := fx.enrol(t, "u1")
	other, err := factor.New(factor.Config{Store: fx.store, Sealer: masterKey(t, 9), Clock: fx.clock})
	if err != nil {
		t.Fatal(err)
	}
	fx.clock.Add(30 * time.Second)
	code := factor.TOTP(secret, fx.clock.Now())
	_, _, err = other.Check(t.Context(), "u1", code)
	wantCode(t, err, sesame.EInternal)
	if strings.Contains(err.Error(), code) || strings.Contains(err.Error(), e.Secret) {
		t.Fatalf("error %q names the code or secret", err)
	}
	e2, _ := fx.svc.BeginTOTP(t.Context(), "u1", "a", "")
	_, err = other.ConfirmTOTP(t.Context(), "u1", e2.ID, factor.TOTP(decodeSecret(t, e2.Secret), fx.clock.Now()))
	wantCode(t, err, sesame.EInternal)
	// The right key still works: nothing was spent.
	if _, _, err := fx.svc.Check(t.Context(), "u1", code); err != nil {
		t.Fatalf("the right key after a failed unseal: %v", err)
	}
}

func TestConcurrentCheckOneWinner(t *testing.T) {
	fx := newFixture(t)
	_, secret, codes := fx.enrol(t, "u1")
	fx.clock.Add(30 * time.Second)
	for _, code := range []string{factor.TOTP(secret, fx.clock.Now()), codes[0]} {
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 16 {
			wg.Go(func() {
				_, _, err := fx.svc.Check(context.Background(), "u1", code)
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
			t.Fatalf("one code, 16 concurrent checks: %d succeeded, want 1", wins)
		}
	}
}

func TestNames(t *testing.T) {
	fx := newFixture(t)
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"", "Authenticator", true},
		{"   ", "Authenticator", true},
		{" Work phone\t", "Work phone", true},
		{strings.Repeat("é", 32), strings.Repeat("é", 32), true}, // 64 bytes
		{strings.Repeat("a", 65), "", false},
		{"a\nb", "", false},
		{"a\x00b", "", false},
		{"a\u0085b", "", false},
		{"\xff", "", false},
	} {
		e, err := fx.svc.BeginTOTP(t.Context(), "u-"+tc.in, "a", tc.in)
		if !tc.ok {
			if sesame.ErrorCode(err) != sesame.EInvalid {
				t.Errorf("name %q: got %v, want EInvalid", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("name %q: %v", tc.in, err)
			continue
		}
		f, _ := fx.store.Factor(t.Context(), "u-"+tc.in, e.ID)
		if f.Name != tc.want {
			t.Errorf("name %q stored as %q, want %q", tc.in, f.Name, tc.want)
		}
	}
}

func TestMaxFactors(t *testing.T) {
	fx := newFixture(t)
	for i := range factor.MaxFactors {
		if _, err := fx.svc.BeginTOTP(t.Context(), "u1", "a", ""); err != nil {
			t.Fatalf("enrolment %d: %v", i+1, err)
		}
	}
	_, err := fx.svc.BeginTOTP(t.Context(), "u1", "a", "")
	if !errors.Is(err, factor.ErrTooManyFactors) {
		t.Fatalf("enrolment %d: got %v, want ErrTooManyFactors", factor.MaxFactors+1, err)
	}
	wantCode(t, err, sesame.EInvalid)
	if _, err := fx.svc.BeginTOTP(t.Context(), "u2", "a", ""); err != nil {
		t.Fatalf("another user: %v", err)
	}
	// Abandoned enrolments stop counting once they can no longer be confirmed.
	fx.clock.Add(factor.EnrolmentTTL + time.Second)
	if _, err := fx.svc.BeginTOTP(t.Context(), "u1", "a", ""); err != nil {
		t.Fatalf("after the enrolments expired: %v", err)
	}
}

func TestListAndRequired(t *testing.T) {
	fx := newFixture(t)
	ctx := t.Context()
	a, _, _ := fx.enrol(t, "u1")
	fx.clock.Add(time.Minute)
	b, _, _ := fx.enrol(t, "u1")
	fx.svc.BeginTOTP(ctx, "u1", "a", "pending")
	l, err := fx.svc.List(ctx, "u1")
	if err != nil || len(l) != 2 || l[0].ID != a.ID || l[1].ID != b.ID {
		t.Fatalf("List: %v, %v; want %s then %s", l, err, a.ID, b.ID)
	}
	for _, f := range l {
		if f.Secret != nil {
			t.Fatal("List returns sealed secrets")
		}
	}
	if on, err := fx.svc.Required(ctx, "u1"); on || err != nil {
		t.Fatalf("Required before set: %v, %v", on, err)
	}
	if err := fx.svc.SetRequired(ctx, "u1", true); err != nil {
		t.Fatal(err)
	}
	if on, _ := fx.svc.Required(ctx, "u1"); !on {
		t.Fatal("Required false after SetRequired(true)")
	}
	fx.svc.SetRequired(ctx, "u1", false)
	if on, _ := fx.svc.Required(ctx, "u1"); on {
		t.Fatal("Required true after SetRequired(false)")
	}
}

func TestCheckRefusesAnythingElse(t *testing.T) {
	fx := newFixture(t)
	fx.enrol(t, "u1")
	for _, c := range []string{"", "0", "12345", "1234567", "abcdef", "abcde-fghij", "'; drop table factors; --",
		strings.Repeat("9", 10000), "\x00\x00\x00\x00\x00\x00"} {
		_, _, err := fx.svc.Check(t.Context(), "u1", c)
		if !errors.Is(err, factor.ErrWrongCode) {
			t.Errorf("Check(%.20q): got %v, want ErrWrongCode", c, err)
		}
	}
	if _, _, err := fx.svc.Check(t.Context(), "nobody", "123456"); !errors.Is(err, factor.ErrWrongCode) {
		t.Errorf("user without factors: got %v, want ErrWrongCode", err)
	}
}

// downStore fails every call, as a store that cannot be reached.
type downStore struct{ factor.Store }

var errDown = errors.New("connection refused")

func (downStore) Factors(context.Context, string) ([]*factor.Factor, error) { return nil, errDown }
func (downStore) UseRecoveryCode(context.Context, string, []byte, time.Time) (bool, error) {
	return false, errDown
}
func (downStore) Factor(context.Context, string, string) (*factor.Factor, error) { return nil, errDown }
func (downStore) DeleteFactor(context.Context, string, string) error             { return errDown }
func (downStore) ReplaceRecoveryCodes(context.Context, string, [][]byte, time.Time) error {
	return errDown
}

func TestStoreOutageIsUnavailable(t *testing.T) {
	svc, err := factor.New(factor.Config{Store: downStore{memstore.New()}, Sealer: masterKey(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	_, _, err = svc.Check(ctx, "u1", "123456")
	wantCode(t, err, sesame.EUnavailable)
	_, _, err = svc.Check(ctx, "u1", "abcde-fghij")
	wantCode(t, err, sesame.EUnavailable)
	_, err = svc.BeginTOTP(ctx, "u1", "a", "")
	wantCode(t, err, sesame.EUnavailable)
	_, err = svc.ConfirmTOTP(ctx, "u1", "tf_x", "123456")
	wantCode(t, err, sesame.EUnavailable)
	wantCode(t, svc.Remove(ctx, "u1", "tf_x"), sesame.EUnavailable)
	_, err = svc.Regenerate(ctx, "u1")
	wantCode(t, err, sesame.EUnavailable)
	_, err = svc.List(ctx, "u1")
	wantCode(t, err, sesame.EUnavailable)
}

// FuzzCheck: whatever a client sends as a code, Check answers ErrWrongCode
// or succeeds, never panics or fails otherwise.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "abcde-fghij", "", "\xff", "99999999999"} {
		f.Add(s)
	}
	fx := newFixture(f)
	fx.enrol(f, "u1")
	f.Fuzz(func(t *testing.T, code string) {
		_, _, err := fx.svc.Check(context.Background(), "u1", code)
		if err != nil && !errors.Is(err, factor.ErrWrongCode) {
			t.Fatalf("Check(%q): %v", code, err)
		}
	})
}
