package sqlite_test

import (
	"testing"

	"github.com/sesame-auth/sesame/storetest"
)

func TestEmailConformance(t *testing.T) {
	storetest.RunEmail(t, func(t *testing.T) storetest.EmailStore { return openTemp(t) })
}
