package sqlite_test

import (
	"testing"

	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/storetest"
)

func TestAuditConformance(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T) audit.Log { return openTemp(t).AuditLog() })
}
