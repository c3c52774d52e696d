package storetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/keyring"
)

// RunKeys runs the conformance suite of keyring.Store. newStore is called
// once per subtest and must return an empty store that shares nothing with
// earlier calls:
//
//	func TestKeysConformance(t *testing.T) {
//		storetest.RunKeys(t, func(t *testing.T) keyring.Store { return memstore.New() })
//	}
func RunKeys(t *testing.T, newStore func(t *testing.T) keyring.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s keyring.Store)
	}{
		{"InsertAndList", testKeysInsertAndList},
		{"ListEmpty", testKeysListEmpty},
		{"ListOrder", testKeysListOrder},
		{"DuplicateKID", testKeysDuplicate},
		{"CopiesInAndOut", testKeysCopies},
		{"RetireNeverPostpones", testKeysRetire},
		{"RetireNotFound", testKeysRetireNotFound},
		{"DeleteIdempotent", testKeysDelete},
	} {
		t.Run("Keys/"+tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

func newKeyRecord(created time.Time) *keyring.Record {
	sealed := make([]byte, 93)
	rand.Read(sealed)
	return &keyring.Record{KID: randHex(16), Alg: jose.ES256, Sealed: sealed,
		CreatedAt: created, ActivateAt: created.Add(time.Hour)}
}

func sameKeyRecord(t *testing.T, got, want *keyring.Record) {
	t.Helper()
	if got.KID != want.KID || got.Alg != want.Alg || !bytes.Equal(got.Sealed, want.Sealed) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ActivateAt.Equal(want.ActivateAt) || !got.RetiredAt.Equal(want.RetiredAt) {
		t.Fatalf("key record: got %+v, want %+v", *got, *want)
	}
}

// listKey returns the listed record with kid, failing the test if absent.
func listKey(t *testing.T, s keyring.Store, kid string) *keyring.Record {
	t.Helper()
	recs, err := s.ListKeys(ctx())
	must(t, "ListKeys", err)
	for _, r := range recs {
		if r.KID == kid {
			return r
		}
	}
	t.Fatalf("ListKeys: no record with kid %s", kid)
	return nil
}

func testKeysInsertAndList(t *testing.T, s keyring.Store) {
	r := newKeyRecord(base)
	must(t, "InsertKey", s.InsertKey(ctx(), r))
	sameKeyRecord(t, listKey(t, s, r.KID), r)

	retired := newKeyRecord(base.Add(time.Second))
	retired.Alg = jose.EdDSA
	retired.RetiredAt = base.Add(3 * time.Hour)
	must(t, "InsertKey", s.InsertKey(ctx(), retired))
	sameKeyRecord(t, listKey(t, s, retired.KID), retired)
}

func testKeysListEmpty(t *testing.T, s keyring.Store) {
	recs, err := s.ListKeys(ctx())
	must(t, "ListKeys", err)
	if len(recs) != 0 {
		t.Fatalf("ListKeys of an empty store: got %d records, want 0", len(recs))
	}
}

func testKeysListOrder(t *testing.T, s keyring.Store) {
	late, early := newKeyRecord(base.Add(time.Microsecond)), newKeyRecord(base)
	tieA, tieB := newKeyRecord(base.Add(time.Minute)), newKeyRecord(base.Add(time.Minute))
	tieA.KID, tieB.KID = "a"+tieA.KID, "b"+tieB.KID
	for _, r := range []*keyring.Record{tieB, late, tieA, early} {
		must(t, "InsertKey", s.InsertKey(ctx(), r))
	}
	recs, err := s.ListKeys(ctx())
	must(t, "ListKeys", err)
	want := []string{early.KID, late.KID, tieA.KID, tieB.KID}
	if len(recs) != len(want) {
		t.Fatalf("ListKeys: got %d records, want %d", len(recs), len(want))
	}
	for i, r := range recs {
		if r.KID != want[i] {
			t.Fatalf("ListKeys order at %d: got %s, want %s (by CreatedAt, then KID)", i, r.KID, want[i])
		}
	}
}

func testKeysDuplicate(t *testing.T, s keyring.Store) {
	r := newKeyRecord(base)
	must(t, "InsertKey", s.InsertKey(ctx(), r))
	dup := newKeyRecord(base.Add(time.Hour))
	dup.KID = r.KID
	err := s.InsertKey(ctx(), dup)
	if sesame.ErrorCode(err) != sesame.EConflict {
		t.Fatalf("duplicate kid: got %v, want an error with code %q", err, sesame.EConflict)
	}
	sameKeyRecord(t, listKey(t, s, r.KID), r)
}

func testKeysCopies(t *testing.T, s keyring.Store) {
	r := newKeyRecord(base)
	want := r.Clone()
	must(t, "InsertKey", s.InsertKey(ctx(), r))
	r.Sealed[0] ^= 0xff
	r.ActivateAt = time.Time{}
	got := listKey(t, s, want.KID)
	sameKeyRecord(t, got, want)
	got.Sealed[0] ^= 0xff
	got.RetiredAt = base
	sameKeyRecord(t, listKey(t, s, want.KID), want)
}

func testKeysRetire(t *testing.T, s keyring.Store) {
	r := newKeyRecord(base)
	must(t, "InsertKey", s.InsertKey(ctx(), r))
	at := base.Add(2 * time.Hour)
	for _, step := range []struct {
		name string
		at   time.Time
		want time.Time
	}{
		{"first", at, at},
		{"again", at, at},
		{"later is ignored", at.Add(time.Microsecond), at},
		{"earlier moves it", at.Add(-time.Microsecond), at.Add(-time.Microsecond)},
	} {
		must(t, "RetireKey "+step.name, s.RetireKey(ctx(), r.KID, step.at))
		if got := listKey(t, s, r.KID).RetiredAt; !got.Equal(step.want) {
			t.Fatalf("RetireKey %s: got RetiredAt %v, want %v", step.name, got, step.want)
		}
	}
	got := listKey(t, s, r.KID)
	if !bytes.Equal(got.Sealed, r.Sealed) || !got.ActivateAt.Equal(r.ActivateAt) {
		t.Fatal("RetireKey changed more than RetiredAt")
	}
}

func testKeysRetireNotFound(t *testing.T, s keyring.Store) {
	err := s.RetireKey(ctx(), "nope", base)
	if !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("RetireKey of a missing kid: got %v, want sesame.ErrNotFound", err)
	}
}

func testKeysDelete(t *testing.T, s keyring.Store) {
	a, b := newKeyRecord(base), newKeyRecord(base.Add(time.Second))
	must(t, "InsertKey", s.InsertKey(ctx(), a))
	must(t, "InsertKey", s.InsertKey(ctx(), b))
	must(t, "DeleteKey", s.DeleteKey(ctx(), a.KID))
	must(t, "DeleteKey again", s.DeleteKey(ctx(), a.KID))
	must(t, "DeleteKey of a missing kid", s.DeleteKey(ctx(), "nope"))
	recs, err := s.ListKeys(ctx())
	must(t, "ListKeys", err)
	if len(recs) != 1 || recs[0].KID != b.KID {
		t.Fatalf("after DeleteKey: got %d records, want only %s", len(recs), b.KID)
	}
	err = s.RetireKey(ctx(), a.KID, base)
	if !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("RetireKey of a deleted kid: got %v, want sesame.ErrNotFound", err)
	}
	// The kid may be used again.
	must(t, "InsertKey after DeleteKey", s.InsertKey(ctx(), a))
}
