package sqlite_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/factor"
	"github.com/sesame-auth/sesame/storetest"
)

func TestFactorConformance(t *testing.T) {
	storetest.RunFactors(t, func(t *testing.T) factor.Store { return openTemp(t) })
}

// TestCleanupRemovesAbandonedEnrolments: the periodic cleanup removes
// unconfirmed factors older than an hour, and nothing else.
func TestCleanupRemovesAbandonedEnrolments(t *testing.T) {
	db := openTemp(t)
	ctx := t.Context()
	now := time.Now()
	for _, f := range []*factor.Factor{
		{ID: "tf_abandoned", UserID: "u1", Kind: factor.KindTOTP, Name: "a", Secret: []byte{1}, CreatedAt: now.Add(-61 * time.Minute)},
		{ID: "tf_confirmed", UserID: "u1", Kind: factor.KindTOTP, Name: "b", Secret: []byte{1}, CreatedAt: now.Add(-48 * time.Hour),
			ConfirmedAt: now.Add(-47 * time.Hour), LastStep: 5},
		{ID: "tf_recent", UserID: "u1", Kind: factor.KindTOTP, Name: "c", Secret: []byte{1}, CreatedAt: now.Add(-30 * time.Minute)},
	} {
		if err := db.AddFactor(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.DeleteExpired(ctx, now, time.Hour, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Factor(ctx, "u1", "tf_abandoned"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("abandoned enrolment after cleanup: %v, want ErrNotFound", err)
	}
	for _, id := range []string{"tf_confirmed", "tf_recent"} {
		if _, err := db.Factor(ctx, "u1", id); err != nil {
			t.Fatalf("%s after cleanup: %v", id, err)
		}
	}
}
