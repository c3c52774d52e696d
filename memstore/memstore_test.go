package memstore_test

import (
	"testing"

	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		s := memstore.New()
		return storetest.Stores{Sessions: s, Users: s, Refresh: s}
	})
}

// SEC-66: a refresh survives the process dying after any store call.
func TestCrash(t *testing.T) {
	storetest.RunCrash(t, func(t *testing.T) storetest.Stores {
		s := memstore.New()
		return storetest.Stores{Sessions: s, Refresh: s}
	})
}
