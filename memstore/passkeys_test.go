package memstore_test

import (
	"testing"

	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/passkey"
	"github.com/sesame-auth/sesame/storetest"
)

func TestPasskeyConformance(t *testing.T) {
	storetest.RunPasskeys(t, func(t *testing.T) passkey.Store { return memstore.New() })
}
