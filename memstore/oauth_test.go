package memstore_test

import (
	"testing"

	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/storetest"
)

func TestOAuthConformance(t *testing.T) {
	storetest.RunOAuth(t, func(t *testing.T) oauth.Store { return memstore.New() })
}
