package memstore_test

import (
	"runtime"
	"testing"

	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/storetest"
)

func TestKeysConformance(t *testing.T) {
	storetest.RunKeys(t, func(t *testing.T) keyring.Store { return memstore.New() })
}

// Each Store has its own keys, and a collected Store's keys go with it.
func TestKeysPerStore(t *testing.T) {
	a, b := memstore.New(), memstore.New()
	if err := a.InsertKey(t.Context(), &keyring.Record{KID: "k", Sealed: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if recs, _ := b.ListKeys(t.Context()); len(recs) != 0 {
		t.Fatalf("another store: got %d keys, want 0", len(recs))
	}
	runtime.KeepAlive(a)
}
