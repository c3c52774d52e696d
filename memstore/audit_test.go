package memstore_test

import (
	"testing"

	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/storetest"
)

func TestAuditConformance(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T) audit.Log { return memstore.New().AuditLog() })
}
