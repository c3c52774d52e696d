package postgres_test

import (
	"testing"

	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := openTest(t)
		return storetest.Stores{Sessions: db, Users: db, Refresh: db}
	})
}

// SEC-66: a refresh survives the process dying after any store call.
func TestCrash(t *testing.T) {
	storetest.RunCrash(t, func(t *testing.T) storetest.Stores {
		db := openTest(t)
		return storetest.Stores{Sessions: db, Refresh: db}
	})
}

func TestKeysConformance(t *testing.T) {
	storetest.RunKeys(t, func(t *testing.T) keyring.Store { return openTest(t) })
}

func TestGuardConformance(t *testing.T) {
	storetest.RunGuard(t, func(t *testing.T) guard.Store { return openTest(t) })
}

func TestOAuthConformance(t *testing.T) {
	storetest.RunOAuth(t, func(t *testing.T) oauth.Store { return openTest(t) })
}
