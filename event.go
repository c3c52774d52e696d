package sesame

import (
	"context"
	"time"
)

// EventType names a lifecycle event. Event types are stable strings, used
// as the "event" attribute of audit log records.
type EventType string

// The lifecycle events.
const (
	EventSignup         EventType = "user.signup"
	EventLoginSuccess   EventType = "login.success"
	EventLoginFailure   EventType = "login.failure"
	EventReauthFailure  EventType = "reauth.failure" // a wrong or throttled password from a signed-in caller
	EventLogout         EventType = "logout"
	EventSessionCreated EventType = "session.created"
	EventSessionRenewed EventType = "session.renewed"
	EventSessionRevoked EventType = "session.revoked"
	EventSessionExpired EventType = "session.expired"
	EventUserBlocked    EventType = "user.blocked"
	EventUserUnblocked  EventType = "user.unblocked"
	EventPasswordChange EventType = "user.password_changed"
	EventGroupsChanged  EventType = "user.groups_changed" // Reason lists the groups added and removed
	EventCSRFRejected   EventType = "csrf.rejected"
	EventTokenIssued    EventType = "token.issued"
	EventRefreshRotated EventType = "refresh.rotated"
	EventRefreshReuse   EventType = "refresh.reuse"
	EventTokenRevoked   EventType = "token.revoked"
	EventBadToken       EventType = "token.rejected"
	EventAccessDenied   EventType = "access.denied" // a signed-in caller refused by a rule or a role (SEC-53); Reason names the rule, never the path
	EventOAuthConsent   EventType = "oauth.consent" // a user granted an OAuth client the scopes it asked for; Reason names the client
)

// EventBackchannelLogoutFailed: a back-channel logout notice was given up
// after about 24 hours of failed deliveries; Reason names the client and
// the last failure.
const EventBackchannelLogoutFailed EventType = "oauth.backchannel_logout_failed"

// The second-factor events (package factor). Reason names the factor kind
// ("totp", "recovery_code", "webauthn") and, for a factor, its name; never
// a code or a secret.
const (
	EventFactorEnrolled         EventType = "factor.enrolled"         // a second factor was confirmed by its first code
	EventFactorRemoved          EventType = "factor.removed"          // the user removed one of their factors
	EventFactorsReset           EventType = "factor.reset"            // an admin removed every factor of a user (their sessions end)
	EventSecondFactorSuccess    EventType = "second_factor.success"   // a second factor completed a sign-in or a step-up
	EventSecondFactorFailure    EventType = "second_factor.failure"   // a wrong, replayed or throttled second factor
	EventRecoveryCodeUsed       EventType = "recovery_code.used"      // a recovery code was spent
	EventRecoveryCodesGenerated EventType = "recovery_code.generated" // a new set of recovery codes (the old set is void)
	EventStepUp                 EventType = "step_up"                 // a signed-in caller proved their factors again (SEC-14)
	EventFactorRequirement      EventType = "factor.requirement"      // an admin required (or no longer required) a second factor of a user
)

// Event is one audit record. It never carries a secret: session IDs here are
// the public ID, never the token.
type Event struct {
	Type      EventType
	Time      time.Time // UTC
	UserID    string
	Username  string
	SessionID string
	IP        string
	UserAgent string
	Reason    string // for failures and revocations
}

// EventSink receives events. Implementations must be safe for concurrent use
// and must not block for long.
type EventSink interface {
	Emit(ctx context.Context, e Event)
}

// EventFunc adapts a function to an [EventSink].
type EventFunc func(ctx context.Context, e Event)

// Emit calls f.
func (f EventFunc) Emit(ctx context.Context, e Event) { f(ctx, e) }

// The passkey (WebAuthn) events. Reason names the passkey (its public ID
// and name) or, for a failure, which check refused the ceremony; never a
// credential, challenge or signature.
const (
	EventPasskeyRegistered EventType = "passkey.registered" // a user added a passkey
	EventPasskeyUsed       EventType = "passkey.used"       // a sign-in (passwordless or second factor) with a passkey
	EventPasskeyRemoved    EventType = "passkey.removed"    // a user removed a passkey
	EventPasskeyFailure    EventType = "passkey.failure"    // a registration or sign-in ceremony that did not verify
)
