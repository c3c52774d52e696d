package mongo_test

import (
	"testing"

	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		s := openTest(t)
		return storetest.Stores{Sessions: s, Refresh: s}
	})
}

func TestGuardConformance(t *testing.T) {
	storetest.RunGuard(t, func(t *testing.T) guard.Store { return openTest(t) })
}

// SEC-66 between store calls; crash_test.go cuts inside them.
func TestCrash(t *testing.T) {
	storetest.RunCrash(t, func(t *testing.T) storetest.Stores {
		s := openTest(t)
		return storetest.Stores{Sessions: s, Refresh: s}
	})
}
