// Package app is the one wiring of a Sesame deployment: from one
// [config.Config] it opens the stores, checks the deployment's identity,
// loads the master key and the signing keys, and builds the session
// manager, the account service, the token service, the login throttle and
// the HTTP server. `sesame serve`, every command of the sesame binary and
// every end-to-end test harness build through it, so the tests run what
// users run.
//
//	cfg, err := config.Load(config.Sources{Flags: flags})
//	a, err := app.New(ctx, cfg, app.WithLogger(logger))
//	defer a.Close()
//	a.Start(ctx)                       // view sync, key refresh, cleanup
//	http.Serve(ln, a.Handler())
//
// The clock, logger and event sink are given once, as options, and reach
// every component.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/authz"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/email"
	"github.com/sesame-auth/sesame/factor"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/metrics"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/server"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
	"github.com/sesame-auth/sesame/webhook"
)

// App is one built deployment node (or command). Its methods are safe for
// concurrent use, except Start and Close, which are called once each.
type App struct {
	cfg    *config.Config
	opts   options
	logger *slog.Logger

	durable  DurableStore
	factors  *factor.Service // nil when the durable store keeps no second factors
	state    StateStore
	notifier session.Notifier
	master   *keyring.MasterKey
	ring     *keyring.Ring
	sessions *session.Manager
	accounts *account.Service
	tokens   *token.Service
	limiter  *guard.Limiter
	clients  *oauth.Registry
	provider *oauth.Provider
	server   *server.Server
	metrics  *metrics.Metrics // nil without metrics_addr (metrics.go)

	meteredState *meteredState // a.state, instrumented (metrics.go)
	meteredOAuth *meteredOAuth // a.durable's oauth.Store, instrumented (metrics_stores.go)

	auditLog  audit.Log           // nil when the durable store keeps none (audit.go)
	auditSink *audit.Sink         // nil with auditLog
	webhooks  *webhook.Dispatcher // nil without webhooks, or for a command (webhooks.go)

	mail   *email.Service // nil without smtp_url (email.go)
	outbox *mail.Outbox   // nil without smtp_url (email.go)

	closers []func() error
	created []func() // undo the files New created, if New fails

	mu     sync.Mutex
	cancel context.CancelFunc
	done   sync.WaitGroup
	closed bool
}

// New builds every component from cfg. It validates cfg first, opens the
// session store before the database (so that an unreachable Redis creates
// no file), refuses a configuration that contradicts the deployment's
// recorded identity, and, when it fails, closes what it opened and removes
// the files it created. A server's cfg must have its PublicURL (or Issuer)
// set: `sesame serve` derives it from its listener on a loopback address.
func New(ctx context.Context, cfg *config.Config, opts ...Option) (*App, error) {
	o := options{recordIdentity: true, keyRefresh: 5 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.events == nil {
		o.events = server.AuditLog{Logger: o.logger}
	}
	if o.hasher == nil {
		o.hasher = &password.Hasher{}
	}
	role := config.RoleServe
	if o.command {
		role = config.RoleCommand
	}
	cfg = cfg.Clone()
	if err := cfg.Validate(role); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, opts: o, logger: o.logger}
	if err := a.build(ctx); err != nil {
		a.closeStores()
		for i := len(a.created) - 1; i >= 0; i-- {
			a.created[i]()
		}
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context) error {
	a.setupMetrics()
	if err := a.openState(ctx); err != nil {
		return err
	}
	if err := a.openDurable(ctx); err != nil {
		return err
	}
	a.setupAudit() // inside the webhook sink, which tests find as the outermost
	if err := a.setupWebhooks(); err != nil {
		return err
	}
	if err := a.openMasterKey(ctx); err != nil {
		return err
	}
	if err := a.enforceIdentity(ctx); err != nil {
		return err
	}
	if err := a.buildSessions(); err != nil {
		return err
	}
	if err := a.wireFactors(); err != nil {
		return err
	}
	if err := a.openKeyring(ctx); err != nil {
		return err
	}
	if err := a.buildRegistry(); err != nil {
		return err
	}
	if a.opts.command {
		return nil
	}
	return a.buildServer()
}

func (a *App) buildSessions() error {
	c := a.cfg
	grace := c.RenewGrace
	if grace == 0 {
		grace = -1 // session: negative means none
	}
	sameSite := http.SameSiteLaxMode
	if c.SameSite == "strict" {
		sameSite = http.SameSiteStrictMode
	}
	remIdle, remLife := c.RememberIdleTimeout, c.RememberLifetime
	if !c.RememberMe {
		remIdle, remLife = c.IdleTimeout, c.Lifetime
	}
	mgr, err := session.New(a.stateStore(), session.Config{
		InsecureCookie: c.InsecureCookies && !a.useTLS(),
		CookieDomain:   strings.ToLower(strings.TrimPrefix(c.CookieDomain, ".")),
		SameSite:       sameSite,
		IdleTimeout:    c.IdleTimeout, Lifetime: c.Lifetime,
		RememberIdleTimeout: remIdle, RememberLifetime: remLife,
		RenewGrace: grace,
		Notifier:   a.notifier,
		Clock:      a.opts.clock, Events: a.opts.events, Logger: a.logger,
	})
	if err != nil {
		return err
	}
	a.sessions = mgr
	a.accounts = &account.Service{Users: a.userStore(), Sessions: mgr, Hasher: a.opts.hasher, Clock: a.opts.clock, Events: a.opts.events}
	a.limiter = guard.NewLimiter(a.stateStore(), guard.Config{Clock: a.opts.clock})
	return nil
}

func (a *App) openKeyring(ctx context.Context) error {
	algs := make([]jose.Algorithm, len(a.cfg.SigningAlgs)) // signing_algs; none: keyring's default
	for i, alg := range a.cfg.SigningAlgs {
		algs[i] = jose.Algorithm(alg)
	}
	ring, err := keyring.Open(ctx, a.keyStore(), a.master, keyring.Config{
		Algs:             algs,
		MaxTokenLifetime: a.cfg.AccessTokenTTL,
		ActivationDelay:  a.opts.activation,
		RefreshInterval:  a.opts.keyRefresh,
		KeepRetired:      a.opts.command,
		Clock:            a.opts.clock,
		Logger:           a.logger,
	})
	if errors.Is(err, keyring.ErrUnseal) {
		return fmt.Errorf("%v. Is the master key from %s the one that sealed the database's signing keys? Use that key, or restore its file",
			err, masterKeySource(a.cfg))
	}
	if err != nil {
		return err
	}
	a.ring = ring
	return nil
}

func (a *App) buildServer() error {
	c := a.cfg
	issuer := c.EffectiveIssuer()
	if issuer == "" {
		return errors.New("app: no public_url (nor issuer): a server must know the URL users reach")
	}
	var tokens *token.Service // for the token endpoints and the OAuth provider
	if c.Tokens || c.OIDC {
		grace := c.RefreshGrace
		if grace == 0 {
			grace = -1 // token: negative means none
		}
		tc := token.Config{Issuer: issuer, AccessTTL: c.AccessTokenTTL,
			RefreshIdle: c.RefreshIdleTimeout, RefreshLifetime: c.RefreshLifetime, Grace: grace,
			Keys: a.ring, SuccessorKey: a.master.Derive("refresh successor", 32), Store: a.stateStore(), Sessions: a.sessions,
			CheckUser: a.accounts.CheckUser, // blocking is final on every token path, OAuth's too (SEC-13)
			Clock:     a.opts.clock, Events: a.opts.events, Logger: a.logger}
		if c.GroupsClaim {
			tc.Groups = a.userGroups
		}
		var err error
		if tokens, err = token.New(tc); err != nil {
			return err
		}
		if c.Tokens {
			a.tokens = tokens
		}
	}
	if err := a.buildProvider(issuer, tokens); err != nil {
		return err
	}
	proxies, err := guard.ParsePrefixes(joinList(c.TrustedProxies))
	if err != nil {
		return err
	}
	sc := server.Config{Audit: a.auditLog, Accounts: a.accounts, Sessions: a.sessions, Logger: a.logger, Events: a.opts.events,
		AllowedOrigins: c.AllowedOrigins, TLS: a.useTLS(), CSRFKey: a.master.Derive("csrf", 32),
		Throttle: a.limiter, ClientIPs: guard.IPResolver{TrustedProxies: proxies},
		TokenTransports: c.TokenTransports, NoRememberMe: !c.RememberMe, GroupsClaim: c.GroupsClaim}
	if c.Source("public_url").Kind != config.FromListener || config.IsLoopback(c.Addr) {
		// SEC-63: any other Host is refused. A URL derived from a
		// non-loopback listener (--insecure-cookies, development) names
		// no host clients use: such a server answers any Host.
		sc.PublicURL, sc.AllowedHosts = c.PublicURL, c.AllowedHosts
	}
	if a.tokens != nil {
		sc.Tokens, sc.JWKS = a.tokens, a.ring.JWKS
	}
	if a.provider != nil {
		// Relying parties verify ID tokens with the JWKS. With tokens off
		// the first-party token endpoints stay off (sc.Tokens nil).
		sc.OAuth, sc.JWKS = a.provider, a.ring.JWKS
	}
	if sc.Forward, err = a.forwardConfig(issuer); err != nil {
		return err
	}
	if c.ForwardAssertion || slices.ContainsFunc(c.AccessRules, func(r authz.Rule) bool { return r.Assertion }) {
		sc.JWKS = a.ring.JWKS // upstreams verify assertions against it
	}
	sc.Explainer = c.Explainer || c.Source("explainer").Kind == config.FromDefault && c.File == "" && config.IsLoopback(c.Addr) // the dev server
	if sc.Passkeys, err = a.passkeys(); err != nil {
		return err
	}
	a.secondFactors(&sc)
	if sc.Email, err = a.buildEmail(); err != nil {
		return err
	}
	a.meterServer(&sc)
	srv, err := server.New(sc)
	if err != nil {
		return err
	}
	a.server = srv
	return nil
}

func joinList(items []string) string {
	out := ""
	for i, s := range items {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// useTLS reports whether browsers reach the server over HTTPS: it serves
// TLS itself, or its public URL is https (a TLS-terminating proxy).
func (a *App) useTLS() bool {
	return a.cfg.TLSCert != "" || len(a.cfg.PublicURL) > 8 && a.cfg.PublicURL[:8] == "https://"
}

// Start runs the background work until ctx ends or Close: the session
// view's sync with the change feed, the signing keys' refresh, and the
// cleanup of expired records. A command does not need it.
func (a *App) Start(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil || a.closed {
		return
	}
	ctx, a.cancel = context.WithCancel(ctx)
	a.sessions.Start(ctx)
	a.ring.Start(ctx)
	a.followKeys(ctx)
	runCleanup(a.cleanupContext(ctx, "cleanup_sessions"), a.state, a.logger, a.spawn, a.meterCleanup("cleanup_throttle"))
	a.startOAuth(ctx)
	a.startWebhooks(ctx)
	a.startAuditPrune(ctx)
	a.announce(ctx)
	a.startMail(ctx)
	a.accounts.Hasher.Dummy("warm-up") // the first unknown-user login costs what the others do
}

// Close stops the background work, waits for it to return (a
// back-channel delivery in flight gives its claim back; at most
// closeWait), then closes the stores, the last opened first. A server
// calls it after its HTTP server has drained (see Drain). It is safe to
// call more than once.
func (a *App) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	if a.cancel != nil {
		a.cancel()
	}
	a.mu.Unlock()
	a.waitWorkers()
	return a.closeStores()
}

func (a *App) closeStores() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// Handler is the HTTP server (nil for a command).
func (a *App) Handler() http.Handler {
	if a.server == nil {
		return nil
	}
	return a.server
}

// Server is the HTTP server (nil for a command).
func (a *App) Server() *server.Server { return a.server }

// Config is the configuration the App was built from.
func (a *App) Config() *config.Config { return a.cfg }

// Durable is the durable store (a *sqlite.DB or a *postgres.DB).
func (a *App) Durable() DurableStore { return a.durable }

// State is the session-state store: the durable store, or Redis.
func (a *App) State() StateStore { return a.state }

// Notifier is the session store's notifier, or nil (SQLite polls).
func (a *App) Notifier() session.Notifier { return a.notifier }

// Sessions is the session manager.
func (a *App) Sessions() *session.Manager { return a.sessions }

// Accounts is the account service.
func (a *App) Accounts() *account.Service { return a.accounts }

// Tokens is the token service of the first-party token endpoints, or nil
// when tokens are off or for a command. (With tokens off and oidc on, the
// OAuth provider has a token service of its own: OAuth().Config().Tokens.)
func (a *App) Tokens() *token.Service { return a.tokens }

// Keyring is the signing keys.
func (a *App) Keyring() *keyring.Ring { return a.ring }

// MasterKey is the deployment's master key.
func (a *App) MasterKey() *keyring.MasterKey { return a.master }

// Limiter is the login throttle.
func (a *App) Limiter() *guard.Limiter { return a.limiter }

// Clock is the clock of every component.
func (a *App) Clock() sesame.Clock { return sesame.ClockOrSystem(a.opts.clock) }
