// Package server is the HTTP server behind `sesame serve`: sign-up, login,
// account and admin pages, and the JSON API, over a session manager and a
// user store.
package server

import (
	"fmt"
	"github.com/sesame-auth/sesame/audit"
	"log/slog"
	"net/http"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/csrf"
	"github.com/sesame-auth/sesame/email"
	"github.com/sesame-auth/sesame/factor"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/passkey"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// Config configures a [Server]. Zero values are the secure defaults given in
// the comments.
type Config struct {
	// Accounts performs sign-up, login and blocking, under its login
	// policy. Required. The server uses a copy of it in which each of
	// Throttle, Hashing, Events and Logger left nil is this Config's.
	Accounts *account.Service
	// Sessions is the session manager. Required.
	Sessions *session.Manager
	// Logger receives operational logs and audit events. Default
	// slog.Default().
	Logger *slog.Logger
	// AllowedOrigins are extra origins (scheme://host[:port]) whose
	// cross-origin unsafe requests are accepted. Default none: only the
	// server's own origin.
	AllowedOrigins []string
	// Audit is the durable audit log the admin audit view reads
	// (GET /admin/audit, GET /api/v1/admin/audit). Default nil: no audit
	// view. Events reach it through Events (an audit.Sink), not from here.
	Audit audit.Log
	// Events receives audit events raised by the HTTP layer (login
	// success and failure, CSRF rejections). Default none. Pass the same
	// sink to the session manager and the account service.
	Events sesame.EventSink
	// Tokens issues and checks access and refresh tokens. Default nil: the
	// token transports, endpoints and Bearer authentication are off. When
	// its CheckUser is nil the server uses a copy of it whose CheckUser is
	// the account service's, so that a blocked user can never refresh or
	// exchange a session for tokens (SEC-13); set it yourself to share one
	// token.Service.
	Tokens *token.Service
	// TokenTransports are the ways login, refresh and the session
	// exchange hand out tokens: TransportHeader (in the JSON body, for a
	// client that sends them as Bearer: a mobile app, a CLI, a service) and
	// TransportCookie (in HttpOnly cookies only, for a single-page app on
	// the same site). Default nil: both. A request for a transport not
	// listed is refused (400). Bearer and token-cookie authentication of
	// tokens already issued are not affected.
	TokenTransports []string
	// NoRememberMe withdraws "remember me": the login page has no such
	// checkbox and a login's "remember" is ignored, so every session
	// cookie ends with the browser session (a strict deployment).
	NoRememberMe bool
	// GroupsClaim puts the user's groups (sesame.User.Groups, read from
	// the user store when each token is signed) in a groups claim of every
	// access token: the server uses a copy of Tokens whose Groups reads
	// them, unless Tokens has its own. Default false: no groups claim.
	GroupsClaim bool
	// JWKS returns the public key set published at
	// /.well-known/jwks.json. Default nil: not published.
	JWKS func() []byte
	// CSRFKey is the HMAC key of CSRF tokens: 32 bytes or more, the same on
	// every node. Required.
	CSRFKey []byte
	// TLS tells the server it is reached over HTTPS, which adds HSTS.
	TLS bool
	// MaxBodyBytes bounds request bodies. Default 64 KiB.
	MaxBodyBytes int64
	// Throttle limits password attempts (logins, re-authentications and
	// sign-ups) per client IP and per account (SEC-46, SEC-56): it is
	// given to Accounts unless that has its own. Default nil: no
	// throttling (the library default; `sesame serve` always sets one).
	Throttle *guard.Limiter
	// Hashing bounds how many password hashes run at once, so that a login
	// flood cannot starve other requests: it is given to Accounts unless
	// that has its own. Default guard.NewHashLimiter with its defaults.
	Hashing *guard.HashLimiter
	// PublicURL is the origin users reach the server at, behind any proxy:
	// "https://auth.example" or "https://auth.example:8443" (http or https,
	// no path, query or user). When set, a request whose Host header is
	// neither this URL's host[:port] nor one of AllowedHosts is refused
	// with 421 before any handler (SEC-63: a DNS-rebinding page, whose
	// requests carry its own host name, reaches nothing), and the CSRF
	// origin check compares against this origin instead of the request's
	// Host. Host names compare case-insensitively, and a port equal to
	// the scheme's default may be given or left out. Default "": any Host
	// is answered and the own origin is the request's Host (a loopback
	// development server).
	PublicURL string
	// AllowedHosts are further Host header values ("host" or
	// "host:port", matched like the public host) that are answered when
	// PublicURL is set: an internal name that health checks or other
	// services use. A request through one of them is treated as addressed
	// to the public URL: its unsafe browser requests must still come from
	// the public origin (or AllowedOrigins). Default none.
	AllowedHosts []string
	// ClientIPs resolves the client address: X-Forwarded-For is trusted
	// only from its TrustedProxies (SEC-52). Default: no trusted proxy, the
	// connection's peer address.
	ClientIPs guard.IPResolver
	// RevocationHeartbeat is how often GET /api/v1/revocations/stream
	// sends a heartbeat (a comment line) on a quiet stream, so that its
	// followers know it is alive and keep deciding; a client may ask for
	// a shorter one. Default 15 seconds.
	RevocationHeartbeat time.Duration
	// MaxRevocationSubscribers bounds the open revocation streams of this
	// server; one more is answered 503 with Retry-After. Default 1000.
	MaxRevocationSubscribers int
	// Forward configures the forward-auth endpoint (its access rules,
	// identity headers and assertion) and the hosts the login page may
	// send a user back to. Default: every forwarded request refused,
	// local return targets only.
	Forward ForwardConfig
	// OAuth is the OAuth 2 authorization server and OpenID Provider whose
	// endpoints (/oauth2/*, /.well-known/openid-configuration and
	// /.well-known/oauth-authorization-server) the server mounts; its
	// consent, error and logout pages are the server's (set with
	// oauth.Provider.SetPages unless the provider has its own). Default
	// nil: no OAuth endpoints.
	OAuth *oauth.Provider
	// Email sends verification, reset and new-device mail (package
	// email): it adds the email routes, the email field of sign-up,
	// sign-in by address, and the new-device cookie. The server uses a
	// copy whose Accounts is the server's and whose Throttle, Events and
	// Logger left nil are this Config's. Default nil: none of it (no
	// smtp_url).
	Email *email.Service
	// Metrics observes every request (package metrics implements it).
	// Default nil: no metrics, and nothing added to the request path.
	Metrics RequestMetrics
	// Explainer serves GET /how-it-works, the page that shows a visitor
	// their own cookie, session and token, and revokes the session as
	// another node would. Default false (`sesame serve`: key explainer).
	Explainer bool
	// Passkeys runs the WebAuthn ceremonies of passkeys: registration from
	// the account page and API, and passwordless sign-in (passkeys.go).
	// Default nil: no passkey routes, and the pages offer none.
	Passkeys *passkey.Service
	// Factors keeps TOTP factors and recovery codes (package factor): it
	// adds their routes and page sections. Accounts.Factors should be the
	// same service, so that the login asks for them. Default nil: no TOTP.
	Factors *factor.Service
	// StepUpMaxAge is how recent a caller's last proof of every factor of
	// their session must be for a sensitive action (SEC-14): adding or
	// removing a factor or passkey, new recovery codes, signing out every
	// other session, a password change at the two-factor level, and every
	// administrator's change. Default account.DefaultStepUpMaxAge (10 min).
	StepUpMaxAge time.Duration
}

// RequestMetrics observes the server's requests: count, status class and
// latency by route pattern and method. The server calls Route once per
// route at startup and Middleware once, around its whole handler.
type RequestMetrics interface {
	// Route returns h labelled with its route: the pattern of the route
	// table (never the request's path) and its method ("" for a route
	// that answers any method).
	Route(method, pattern string, h http.Handler) http.Handler
	// Middleware returns next wrapped to observe every request, routed or
	// not; it is the outermost handler.
	Middleware(next http.Handler) http.Handler
}

// Server serves Sesame's pages and API. It is safe for concurrent use.
type Server struct {
	cfg      Config
	tokens   *token.Service
	accounts *account.Service
	sessions *session.Manager
	log      *slog.Logger
	pages    *pages
	handler  http.Handler
	csrf     *csrf.Protection
	users    userCache
	public   *publicHost    // nil without Config.PublicURL
	streams  streamCount    // open revocation streams (revocations.go)
	drain    drainState     // Drain, EndStreams (drain.go)
	fwd      *forwarder     // forward-auth (forward.go)
	oauth    oauthRoutes    // the provider's routes (oauth.go)
	forward  http.Handler   // the forward-auth handler, as routed (with its metrics label)
	mail     *email.Service // nil without Config.Email (email.go)
	removals removalLocks   // one user's factor removals, one at a time (factors.go)
}

// New returns a server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Accounts == nil || cfg.Sessions == nil {
		return nil, fmt.Errorf("server: Accounts and Sessions are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.Hashing == nil {
		cfg.Hashing = guard.NewHashLimiter(guard.HashConfig{})
	}
	public, err := parsePublic(cfg.PublicURL, cfg.AllowedHosts)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, tokens: cfg.Tokens, accounts: accountsFor(cfg), sessions: cfg.Sessions, log: cfg.Logger, pages: p, public: public}
	if s.tokens != nil && (s.tokens.Config().CheckUser == nil || cfg.GroupsClaim && s.tokens.Config().Groups == nil) {
		tc := s.tokens.Config()
		if tc.CheckUser == nil {
			tc.CheckUser = s.accounts.CheckUser
		}
		if cfg.GroupsClaim && tc.Groups == nil {
			tc.Groups = s.userGroups
		}
		if s.tokens, err = token.New(tc); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	if s.fwd, err = newForwarder(cfg.Forward); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.mail = emailFor(cfg, s.accounts)
	s.mountOAuth()
	if s.csrf, err = s.newCSRF(); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.handler = s.routes()
	return s, nil
}

// accountsFor returns the account service the server uses: a copy of
// cfg.Accounts completed with the server's throttle, hashing gate, event
// sink and logger where it has none.
func accountsFor(cfg Config) *account.Service {
	a := *cfg.Accounts
	if a.Throttle == nil {
		a.Throttle = cfg.Throttle
	}
	if a.Hashing == nil {
		a.Hashing = cfg.Hashing
	}
	if a.Events == nil {
		a.Events = cfg.Events
	}
	if a.Logger == nil {
		a.Logger = cfg.Logger
	}
	return &a
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

var (
	errUnauthenticated = sesame.Errorf(sesame.EUnauthenticated, "authentication required")
	errForbidden       = sesame.Errorf(sesame.EForbidden, "forbidden")
	errNotFound        = sesame.Errorf(sesame.ENotFound, "not found")
)
