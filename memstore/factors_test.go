package memstore_test

import (
	"testing"

	"github.com/sesame-auth/sesame/factor"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/storetest"
)

func TestFactorConformance(t *testing.T) {
	storetest.RunFactors(t, func(t *testing.T) factor.Store { return memstore.New() })
}
