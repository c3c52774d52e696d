package oauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// Keys signs ID tokens and logout tokens with a key of the algorithm a
// client chose, and resolves the keys that verify them (a keyring.Ring).
type Keys interface {
	// SigningKeyFor returns the active signing key of the algorithm, or
	// nil when the deployment has none.
	SigningKeyFor(alg jose.Algorithm) *jose.Key
	// Algorithms lists the algorithms with an active key, the default
	// first.
	Algorithms() []jose.Algorithm
	jose.KeyResolver
	JWKS() []byte
}

// ConsentView is what the consent page shows; the page posts the form
// fields back to POST /oauth2/authorize/consent (with the server's CSRF
// token).
type ConsentView struct {
	ClientID   string
	ClientName string
	Scopes     []string // asked, e.g. "openid", "profile", "email"
	Resources  []string
	// Request is the opaque, signed authorization request the form posts
	// back in the hidden field "request".
	Request string
	// Username is the signed-in user's name.
	Username string
	// RedirectURI is where the form's answer sends the browser (the
	// client's redirect_uri): the page's CSP form-action must allow its
	// origin, because Chromium applies form-action to the redirects that
	// follow a form submission.
	RedirectURI string
}

// LogoutView is what the RP-initiated logout page shows: a confirmation
// (Confirm) whose form posts the hidden field "request" and a "decision"
// ("logout" or "stay") to POST /oauth2/logout/confirm with the server's
// CSRF token, or the signed-out notice (Done).
type LogoutView struct {
	Confirm    bool
	Done       bool
	ClientName string // the client that asked, "" when unknown
	Username   string
	Request    string // the opaque, signed logout request (Confirm)
	// RedirectURI is the post_logout_redirect_uri the confirmation's
	// answer sends the browser to ("" for none); as for ConsentView.
	RedirectURI string
}

// Config configures a [Provider]. Issuer, Registry, Store, Sessions,
// Tokens, Accounts and Keys are required.
type Config struct {
	// Issuer is the deployment's public URL, the iss of every token and
	// the base of every endpoint URL.
	Issuer   string
	Registry *Registry
	Store    Store
	Sessions *session.Manager
	Tokens   *token.Service
	Accounts *account.Service
	Keys     Keys
	// Resources are the RFC 8707 resources (absolute URIs) tokens may be
	// asked for: a token for one carries it as its only audience. None
	// may be the Issuer, the userinfo endpoint or one of the token
	// service's audiences (Sesame's own API): New refuses them.
	Resources []string
	// LoginPath is the login page, to which an authorization request
	// without a signed-in session is sent with ?next=. Default "/login".
	LoginPath string
	// RenderConsent renders the consent page (the server's layout).
	// Required unless the provider is mounted by package server, whose
	// New sets the page hooks left nil ([Provider.SetPages]).
	RenderConsent func(w http.ResponseWriter, r *http.Request, v ConsentView)
	// RenderError renders an error page for an authorization request that
	// cannot be sent back to the client (unknown client, bad
	// redirect_uri: RFC 6749 §4.1.2.1). Required, like RenderConsent.
	RenderError func(w http.ResponseWriter, r *http.Request, status int, message string)
	// RenderLogout renders the RP-initiated logout confirmation and the
	// signed-out notice. Required, like RenderConsent.
	RenderLogout func(w http.ResponseWriter, r *http.Request, v LogoutView)
	// RequestKey signs the authorization request carried through the
	// consent form (32 bytes or more). Required.
	RequestKey []byte
	// CodeTTL is an authorization code's lifetime. Default 1 minute.
	CodeTTL time.Duration
	// IDTokenTTL is an ID token's lifetime. Default 5 minutes.
	IDTokenTTL time.Duration
	// ClientCredentialsTTL is the lifetime of an access token from the
	// client_credentials grant. Default the token service's AccessTTL.
	ClientCredentialsTTL time.Duration

	Clock  sesame.Clock     // default the system clock
	Events sesame.EventSink // default none
	Logger *slog.Logger     // default slog.Default()
	// HTTPClient delivers back-channel logout notices. Default a client
	// with a 5 s timeout that follows no redirects.
	HTTPClient *http.Client
}

// Provider is Sesame's OAuth 2 authorization server and OpenID Provider.
// Its handlers are mounted by package server ([Provider.Routes]).
type Provider struct {
	cfg Config
}

// New returns a provider for cfg.
func New(cfg Config) (*Provider, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("oauth: Issuer is required")
	case cfg.Registry == nil || cfg.Store == nil || cfg.Sessions == nil || cfg.Tokens == nil || cfg.Accounts == nil || cfg.Keys == nil:
		return nil, errors.New("oauth: Registry, Store, Sessions, Tokens, Accounts and Keys are required")
	case len(cfg.RequestKey) < 32:
		return nil, errors.New("oauth: RequestKey must be at least 32 bytes")
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	for _, res := range cfg.Resources {
		// A resource that is an audience of Sesame's own API (or the
		// userinfo endpoint) would let any client obtain a token that
		// works there: a third-party token become first-party.
		if res == "" || res == cfg.Issuer || strings.TrimSuffix(res, "/") == cfg.Issuer ||
			res == cfg.Issuer+PathUserinfo || slices.Contains(cfg.Tokens.Config().Audience, res) {
			return nil, fmt.Errorf("oauth: resource %q is Sesame's own audience or empty", res)
		}
	}
	if cfg.LoginPath == "" {
		cfg.LoginPath = "/login"
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = time.Minute
	}
	if cfg.IDTokenTTL <= 0 {
		cfg.IDTokenTTL = 5 * time.Minute
	}
	if cfg.ClientCredentialsTTL <= 0 {
		cfg.ClientCredentialsTTL = cfg.Tokens.Config().AccessTTL
	}
	cfg.Clock = sesame.ClockOrSystem(cfg.Clock)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			Timeout:       5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Provider{cfg: cfg}, nil
}

// Config returns the configuration with defaults filled in.
func (p *Provider) Config() Config { return p.cfg }

// SetPages sets the page hooks (RenderConsent, RenderError,
// RenderLogout) that the Config left nil. Package server calls it from
// New, before serving; it must not be called once the provider serves.
func (p *Provider) SetPages(consent func(http.ResponseWriter, *http.Request, ConsentView),
	errorPage func(http.ResponseWriter, *http.Request, int, string),
	logout func(http.ResponseWriter, *http.Request, LogoutView)) {
	if p.cfg.RenderConsent == nil {
		p.cfg.RenderConsent = consent
	}
	if p.cfg.RenderError == nil {
		p.cfg.RenderError = errorPage
	}
	if p.cfg.RenderLogout == nil {
		p.cfg.RenderLogout = logout
	}
}

// Endpoint paths.
const (
	PathAuthorize     = "/oauth2/authorize"
	PathConsent       = "/oauth2/authorize/consent"
	PathToken         = "/oauth2/token"
	PathRevoke        = "/oauth2/revoke"
	PathIntrospect    = "/oauth2/introspect"
	PathUserinfo      = "/oauth2/userinfo"
	PathEndSession    = "/oauth2/logout"
	PathLogoutConfirm = "/oauth2/logout/confirm"
	PathJWKS          = "/.well-known/jwks.json"
	PathASMetadata    = "/.well-known/oauth-authorization-server"
	PathOIDCDiscovery = "/.well-known/openid-configuration"
)

// Route is one endpoint of the provider, mounted by the server.
type Route struct {
	Method  string // GET also answers HEAD
	Pattern string // a net/http ServeMux pattern
	Handler http.HandlerFunc
	// NoCSRF exempts the route from the server's browser CSRF check:
	// true only for endpoints that are not browser endpoints (token,
	// revocation, introspection, userinfo: a client authenticates itself
	// or sends a Bearer token), never for the consent form. The server
	// also leaves these routes' Authorization header to the handler.
	NoCSRF bool
	// Navigation marks a browser navigation that a relying party's page
	// may send cross-site, by GET or by an auto-submitted POST form (the
	// authorization request, OIDC Core §3.1.2.1; the logout request,
	// RP-Initiated Logout §2): exempt from the CSRF check because its POST
	// does no more than its GET. The pages it leads to post their forms
	// (consent, logout confirmation) to CSRF-checked routes.
	Navigation bool
	// Form marks a route whose POST body is form-encoded (the server's
	// JSON-only rule for /api/ does not apply; these are not under /api/).
	Form bool
}

// Routes returns the provider's endpoints.
func (p *Provider) Routes() []Route {
	return []Route{
		{Method: "GET", Pattern: PathAuthorize, Handler: p.handleAuthorize, Navigation: true},
		{Method: "POST", Pattern: PathAuthorize, Handler: p.handleAuthorize, Form: true, Navigation: true}, // OIDC Core §3.1.2.1: POST too
		{Method: "POST", Pattern: PathConsent, Handler: p.handleConsent, Form: true},
		{Method: "POST", Pattern: PathToken, Handler: p.handleToken, NoCSRF: true, Form: true},
		{Method: "POST", Pattern: PathRevoke, Handler: p.handleRevoke, NoCSRF: true, Form: true},
		{Method: "POST", Pattern: PathIntrospect, Handler: p.handleIntrospect, NoCSRF: true, Form: true},
		{Method: "GET", Pattern: PathUserinfo, Handler: p.handleUserinfo, NoCSRF: true},
		{Method: "POST", Pattern: PathUserinfo, Handler: p.handleUserinfo, NoCSRF: true, Form: true},
		{Method: "GET", Pattern: PathEndSession, Handler: p.handleEndSession, Navigation: true},
		{Method: "POST", Pattern: PathEndSession, Handler: p.handleEndSession, Form: true, Navigation: true},
		{Method: "POST", Pattern: PathLogoutConfirm, Handler: p.handleLogoutConfirm, Form: true},
		{Method: "GET", Pattern: PathASMetadata, Handler: p.handleMetadata},
		{Method: "GET", Pattern: PathOIDCDiscovery, Handler: p.handleMetadata},
	}
}

// Error is an OAuth 2 error (RFC 6749 §5.2, §4.1.2.1).
type Error struct {
	Status      int    // HTTP status at the token-type endpoints
	Code        string // invalid_request, invalid_client, invalid_grant, ...
	Description string // for the developer; never a secret
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// errorf returns an *Error.
func errorf(status int, code, description string) *Error {
	return &Error{Status: status, Code: code, Description: description}
}

// writeJSONError writes e as RFC 6749 §5.2 JSON, with WWW-Authenticate
// for invalid_client (401).
func writeJSONError(w http.ResponseWriter, e *Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if e.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="sesame"`)
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(jsonError(e))
}

func jsonError(e *Error) []byte {
	b := []byte(`{"error":`)
	b = appendJSONString(b, e.Code)
	if e.Description != "" {
		b = append(b, `,"error_description":`...)
		b = appendJSONString(b, e.Description)
	}
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
