package app

import (
	"slices"
	"testing"

	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/webhook"
)

// TestEventTypeListsAgree: every event type the audit view can filter on
// is one a webhook endpoint can subscribe to, and the other way round (a
// type missing from the webhook list is refused in the configuration).
func TestEventTypeListsAgree(t *testing.T) {
	for _, e := range audit.EventTypes {
		if !slices.Contains(webhook.EventTypes, e) {
			t.Errorf("%s is in audit.EventTypes but not webhook.EventTypes", e)
		}
	}
	for _, e := range webhook.EventTypes {
		if !slices.Contains(audit.EventTypes, e) {
			t.Errorf("%s is in webhook.EventTypes but not audit.EventTypes", e)
		}
	}
}
