package storetest

import (
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
)

// testAuthStateRoundTrip: how a session was authenticated (AMR, ACR,
// FactorTime, Pending) survives Create, Update, every read, and a record
// that has none reads back as none (SEC-60: a pending session must read
// back pending on every node).
func testAuthStateRoundTrip(t *testing.T, s session.Store) {
	pending := newSession("u-auth")
	pending.AMR, pending.ACR, pending.Pending = []string{sesame.AMRPassword}, sesame.ACROneFactor, true
	pending.ExpiresAt = base.Add(5 * time.Minute)
	create(t, s, pending)
	plain := create(t, s, newSession("u-auth"))

	for name, read := range map[string]func(*sesame.Session) (*sesame.Session, error){
		"ByID":    func(x *sesame.Session) (*sesame.Session, error) { return s.ByID(ctx(), x.ID) },
		"ByToken": func(x *sesame.Session) (*sesame.Session, error) { return s.ByToken(ctx(), x.TokenHash) },
	} {
		got, err := read(pending)
		must(t, name, err)
		if !got.Pending || got.SignedIn() {
			t.Fatalf("%s of a pending session: got Pending=%v, want true", name, got.Pending)
		}
		equal(t, got, pending)
		got, err = read(plain)
		must(t, name, err)
		if got.Pending || len(got.AMR) != 0 || got.ACR != "" || !got.FactorTime.IsZero() {
			t.Fatalf("%s of a session without auth state: got AMR %q ACR %q FactorTime %v Pending %v, want none",
				name, got.AMR, got.ACR, got.FactorTime, got.Pending)
		}
	}

	// The step-up of a two-factor session: every field changes in Update.
	two := pending.Clone()
	two.AMR, two.ACR, two.Pending = []string{sesame.AMRPassword, sesame.AMROTP}, sesame.ACRTwoFactors, false
	two.FactorTime = base.Add(time.Minute)
	must(t, "Update", s.Update(ctx(), two))
	got, err := s.ByID(ctx(), two.ID)
	must(t, "ByID after Update", err)
	equal(t, got, two)
	list, err := s.ListByUser(ctx(), "u-auth")
	must(t, "ListByUser", err)
	for _, x := range list {
		if x.ID == two.ID {
			equal(t, x, two)
		}
	}

	// And back to none: clearing the fields clears them in the store.
	two.AMR, two.ACR, two.FactorTime = nil, "", time.Time{}
	must(t, "Update (cleared)", s.Update(ctx(), two))
	got, err = s.ByID(ctx(), two.ID)
	must(t, "ByID after clearing", err)
	equal(t, got, two)
}
