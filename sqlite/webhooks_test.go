package sqlite_test

import (
	"testing"

	"github.com/sesame-auth/sesame/storetest"
	"github.com/sesame-auth/sesame/webhook"
)

func TestWebhookConformance(t *testing.T) {
	storetest.RunWebhooks(t, func(t *testing.T) webhook.Store { return openTemp(t) })
}
