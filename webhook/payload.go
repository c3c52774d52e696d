package webhook

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

// EventTypes are the event types an endpoint may subscribe to: Sesame's
// audit events ([sesame.EventType]), in the order they are documented.
var EventTypes = sesame.EventTypes

// KnownEventType reports whether t is one of [EventTypes].
func KnownEventType(t string) bool {
	return slices.Contains(EventTypes, sesame.EventType(t))
}

// Filter is an endpoint's event filter: the exact event types it wants,
// or "*" for all of them.
type Filter []string

// Match reports whether the filter takes events of type t.
func (f Filter) Match(t sesame.EventType) bool {
	for _, x := range f {
		if x == "*" || x == string(t) {
			return true
		}
	}
	return false
}

// Payload is a webhook's body, the structure the Standard Webhooks
// specification recommends: the event type, when it happened (RFC 3339
// with nanoseconds, UTC) and its data.
type Payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      Data      `json:"data"`
}

// Data is what a webhook tells of an event. It never holds a secret: no
// password, no token, no session token (SessionID is the session's public
// ID, the one `sesame sessions list` shows and the audit log records). It
// holds no IP address and no user agent either: the receivers are other
// systems, and those are personal data the audit log keeps on the
// deployment. Username is set only for an event of a known user (a
// login.failure for an unknown name leaves it out: a name that matches
// no user is sometimes a password typed in the wrong field).
type Data struct {
	UserID    string `json:"user_id,omitempty"`
	Username  string `json:"username,omitempty"`
	SessionID string `json:"session_id,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// NewPayload is the body of the webhook of e, minified JSON.
func NewPayload(e sesame.Event) ([]byte, error) {
	p := Payload{Type: string(e.Type), Timestamp: e.Time.UTC(), Data: Data{
		UserID: e.UserID, SessionID: e.SessionID, Reason: e.Reason,
	}}
	if e.UserID != "" {
		p.Data.Username = e.Username
	}
	return json.Marshal(p)
}

// NewMessageID returns a new webhook-id: "msg_" and 26 base32 characters
// (128 random bits). It never holds a "." (the specification's rule for
// the signed content "id.timestamp.body").
func NewMessageID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("webhook: crypto/rand failed: " + err.Error())
	}
	return "msg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
