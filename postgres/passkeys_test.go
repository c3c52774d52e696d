package postgres_test

import (
	"testing"

	"github.com/sesame-auth/sesame/passkey"
	"github.com/sesame-auth/sesame/storetest"
)

func TestPasskeyConformance(t *testing.T) {
	storetest.RunPasskeys(t, func(t *testing.T) passkey.Store { return openTest(t) })
}
