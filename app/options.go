package app

import (
	"log/slog"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/webhook"
)

// Option changes how [New] builds an App.
type Option func(*options)

type options struct {
	clock          sesame.Clock
	logger         *slog.Logger
	events         sesame.EventSink
	hasher         *password.Hasher
	command        bool
	create         bool
	activation     time.Duration
	keyRefresh     time.Duration
	recordIdentity bool
	skipIdentity   bool
	webhookTuning  webhook.Tuning // app/webhooks.go
	mailTuning     mail.Tuning    // app/email.go
}

// WithClock sets the clock of every component (sessions, tokens, keys,
// throttling, accounts). Default the system clock.
func WithClock(c sesame.Clock) Option { return func(o *options) { o.clock = c } }

// WithLogger sets the logger of every component. Default slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithEvents sets the sink of audit events of every component. Default: the
// logger, as records with msg=audit (server.AuditLog).
func WithEvents(s sesame.EventSink) Option { return func(o *options) { o.events = s } }

// WithPasswordParams sets the argon2id parameters, below the secure floor
// if need be: for tests, where hashing cost is not the subject.
func WithPasswordParams(p password.Params) Option {
	return func(o *options) { o.hasher = &password.Hasher{Params: p, AllowWeakParams: true} }
}

// ForCommand builds the App for a command-line command rather than a
// server: it never creates the database or the master key file (unless
// [AllowCreate]), never records the deployment's identity, keeps retired
// signing keys (it does not know the server's token lifetime), and builds
// neither the token service, the OAuth provider nor the HTTP server (it
// has the OAuth client registry, without the configured clients' secrets).
func ForCommand() Option { return func(o *options) { o.command = true } }

// AllowCreate lets a command create a new database (`--create`).
func AllowCreate() Option { return func(o *options) { o.create = true } }

// WithKeyActivationDelay sets how long a key made by a rotation is
// published before it signs (keyring.Config.ActivationDelay; negative: at
// once).
func WithKeyActivationDelay(d time.Duration) Option { return func(o *options) { o.activation = d } }

// WithKeyRefresh sets how often a running App re-reads the signing keys, as
// a fallback to the key notifications. Default 5 s.
func WithKeyRefresh(d time.Duration) Option { return func(o *options) { o.keyRefresh = d } }

// WithoutIdentityRecord stops a server from recording the deployment's
// identity when the store has none: `sesame config set-identity` records it
// itself.
func WithoutIdentityRecord() Option { return func(o *options) { o.recordIdentity = false } }

// SkipIdentityCheck builds the App without comparing the configuration
// with the deployment's recorded identity: for `sesame config
// set-identity`, which replaces it, and `sesame config check`, which
// reports the comparison itself.
func SkipIdentityCheck() Option { return func(o *options) { o.skipIdentity = true } }
