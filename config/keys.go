package config

import (
	"strings"
	"time"
)

// kind is how a key's value is written and checked.
type kind int

const (
	kindString   kind = iota // any text
	kindBool                 // true or false
	kindDuration             // a Go duration with a unit: 90s, 30m, 12h
	kindList                 // a YAML sequence, or comma-separated text
	kindRules                // access_rules: a YAML list of maps (file only)
	kindClients              // clients: a YAML list of maps (file only)
	kindWebhooks             // webhooks: a YAML list of maps (file only)
)

// Key describes one configuration key.
type Key struct {
	// Name is the key in the file; the flag is Name with dashes, the
	// environment variable SESAME_ plus Name in upper case.
	Name string
	// Default is the built-in default, written as in a file.
	Default string
	// Help says what the key does, in one line.
	Help string
	// Group is the heading under which config init writes the key.
	Group string

	kind kind
	// secret: the value is a secret (never printed); fileVariant: NAME_file
	// names a file holding the value.
	secret, fileVariant bool
	// noFile: the key is read from the environment (or a flag) only.
	noFile bool
	// fileOnly: the key is read from the file only (no flag, no
	// environment variable).
	fileOnly bool
	// set stores a checked text value into c.
	set func(c *Config, text string) error
}

// Flag is the key's command-line flag, with its leading dashes.
func (k *Key) Flag() string { return "--" + strings.ReplaceAll(k.Name, "_", "-") }

// Env is the key's environment variable.
func (k *Key) Env() string { return "SESAME_" + strings.ToUpper(k.Name) }

// FileOnly reports whether the key is read from the configuration file
// only: it has no flag and no environment variable (access_rules).
func (k *Key) FileOnly() bool { return k.fileOnly }

// Secret reports whether the key's value is a secret (or may contain one,
// such as a password inside a database URL).
func (k *Key) Secret() bool { return k.secret }

// Keys returns every configuration key, in the order config init writes
// them.
func Keys() []*Key { return keys }

// KeyNamed returns the key called name, or nil.
func KeyNamed(name string) *Key { return byName[name] }

var byName = map[string]*Key{}

func init() {
	for _, k := range keys {
		byName[k.Name] = k
		if k.fileVariant {
			byName[k.Name+"_file"] = fileKey(k)
		}
	}
}

// fileKey is the NAME_file variant of k: a path whose file holds k's value.
func fileKey(k *Key) *Key {
	return &Key{Name: k.Name + "_file", Group: k.Group, kind: kindString,
		Help: "a file whose content (first line) is " + k.Name + ", so that a URL with a password stays out of this file"}
}

func str(f func(c *Config) *string) func(*Config, string) error {
	return func(c *Config, s string) error { *f(c) = s; return nil }
}

func boolean(f func(c *Config) *bool) func(*Config, string) error {
	return func(c *Config, s string) error {
		v, err := parseBool(s)
		*f(c) = v
		return err
	}
}

func duration(f func(c *Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, s string) error {
		d, err := parseDuration(s)
		*f(c) = d
		return err
	}
}

func list(f func(c *Config) *[]string) func(*Config, string) error {
	return func(c *Config, s string) error { *f(c) = splitList(s); return nil }
}

const (
	groupServer   = "Server"
	groupStores   = "Stores"
	groupSessions = "Sessions"
	groupTokens   = "Tokens"
	groupAccess   = "Access rules"
	groupOAuth    = "OAuth 2 and OpenID Connect"
	groupWebhooks = "Webhooks"
	groupPasskeys = "Passkeys and second factors"
	groupLogs     = "Logs"
	groupEmail    = "Email"
)

var keys = []*Key{
	{Name: "preset", Group: groupServer, Help: "a set of defaults for a use case: web, spa, api or strict (see README); any key overrides it",
		set: str(func(c *Config) *string { return &c.Preset })},
	{Name: "addr", Default: "127.0.0.1:8080", Group: groupServer, Help: "listen address host:port (port 0 picks a free port)",
		set: str(func(c *Config) *string { return &c.Addr })},
	{Name: "shutdown_timeout", Default: "10s", Group: groupServer, kind: kindDuration, Help: "on SIGTERM or SIGINT, how long requests in flight may take to finish once the listener is closed; connections still open then are cut and serve exits 1",
		set: duration(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{Name: "shutdown_delay", Default: "0s", Group: groupServer, kind: kindDuration, Help: "on SIGTERM or SIGINT, how long to keep serving with GET /healthz answering 503 before closing the listener, so that a load balancer's health checks notice first (set it to the checks' interval times their unhealthy threshold)",
		set: duration(func(c *Config) *time.Duration { return &c.ShutdownDelay })},
	{Name: "public_url", Group: groupServer, Help: "the origin users reach (https://auth.example.com), behind any proxy: the token issuer, the default audience and the CSRF origin; a request for any other Host is refused (421), so every redirect (a path) stays on it. Default on a loopback address: the printed URL, with 127.0.0.1 and [::1] answered too",
		set: str(func(c *Config) *string { return &c.PublicURL })},
	{Name: "allowed_hosts", Group: groupServer, kind: kindList, Help: "extra Host names (host or host:port) accepted besides public_url's",
		set: list(func(c *Config) *[]string { return &c.AllowedHosts })},
	{Name: "tls_cert", Group: groupServer, Help: "TLS certificate file (PEM): serve HTTPS (TLS 1.2+) with tls_key; adds HSTS",
		set: str(func(c *Config) *string { return &c.TLSCert })},
	{Name: "tls_key", Group: groupServer, Help: "TLS private key file (PEM)",
		set: str(func(c *Config) *string { return &c.TLSKey })},
	{Name: "insecure_cookies", Default: "false", Group: groupServer, kind: kindBool, Help: "allow plain HTTP on a non-loopback address: cookies lose Secure and the __Host- prefix (development only)",
		set: boolean(func(c *Config) *bool { return &c.InsecureCookies })},
	{Name: "trusted_proxies", Group: groupServer, kind: kindList, Help: "CIDRs or IPs of reverse proxies whose X-Forwarded-For names the client (default none: the peer address)",
		set: list(func(c *Config) *[]string { return &c.TrustedProxies })},
	{Name: "allowed_origins", Group: groupServer, kind: kindList, Help: "extra origins (scheme://host[:port]) allowed to send cross-origin unsafe requests",
		set: list(func(c *Config) *[]string { return &c.AllowedOrigins })},
	{Name: "metrics_addr", Group: groupServer, Help: "listen address host:port of a separate listener serving Prometheus metrics at GET /metrics; off by default, and the public listener never serves them",
		set: str(func(c *Config) *string { return &c.MetricsAddr })},

	{Name: "db", Default: "./sesame.db", Group: groupStores, secret: true, fileVariant: true, Help: "durable database (users, signing keys, deployment identity; and session state unless sessions is set): a file path, sqlite:PATH or postgres://URL",
		set: str(func(c *Config) *string { return &c.DB })},
	{Name: "sessions", Group: groupStores, secret: true, fileVariant: true, Help: "session state (sessions, refresh tokens, throttle counters) in Redis: redis://HOST:PORT/DB, rediss://..., or redis+cluster://H1:P1,H2:P2; or in MongoDB (or FerretDB): mongodb://HOST:PORT/DB or mongodb+srv://... (default: the db database)",
		set: str(func(c *Config) *string { return &c.Sessions })},
	{Name: "master_key_file", Group: groupStores, Help: "file holding the master key that seals the signing keys, used when SESAME_MASTER_KEY is not set; created (mode 0600) on first start (default: next to a SQLite database, sesame.key for sesame.db; sesame.key with PostgreSQL)",
		set: str(func(c *Config) *string { return &c.MasterKeyFile })},
	{Name: "master_key", Group: groupStores, secret: true, noFile: true, Help: "the master key itself, base64 of 32 bytes: from SESAME_MASTER_KEY only, never a flag or the file",
		set: func(c *Config, s string) error { c.MasterKey = Secret(s); return nil }},

	{Name: "idle_timeout", Default: "30m", Group: groupSessions, kind: kindDuration, Help: "a session with no request for this long ends",
		set: duration(func(c *Config) *time.Duration { return &c.IdleTimeout })},
	{Name: "lifetime", Default: "12h", Group: groupSessions, kind: kindDuration, Help: "absolute session lifetime, never extended",
		set: duration(func(c *Config) *time.Duration { return &c.Lifetime })},
	{Name: "remember_me", Default: "true", Group: groupSessions, kind: kindBool, Help: "offer \"remember me\"; false gives a remembered login the normal idle timeout and lifetime",
		set: boolean(func(c *Config) *bool { return &c.RememberMe })},
	{Name: "remember_idle_timeout", Default: "168h", Group: groupSessions, kind: kindDuration, Help: "idle timeout of \"remember me\" sessions",
		set: duration(func(c *Config) *time.Duration { return &c.RememberIdleTimeout })},
	{Name: "remember_lifetime", Default: "720h", Group: groupSessions, kind: kindDuration, Help: "absolute lifetime of \"remember me\" sessions (the cookie's Max-Age; at most 400 days)",
		set: duration(func(c *Config) *time.Duration { return &c.RememberLifetime })},
	{Name: "renew_grace", Default: "10s", Group: groupSessions, kind: kindDuration, Help: "how long a session's previous token stays valid after renewal, for requests in flight (0s disables)",
		set: duration(func(c *Config) *time.Duration { return &c.RenewGrace })},
	{Name: "same_site", Default: "lax", Group: groupSessions, Help: "SameSite of the session cookie: lax or strict",
		set: str(func(c *Config) *string { return &c.SameSite })},
	{Name: "cookie_domain", Group: groupSessions, Help: "share the session cookie with every subdomain of this domain (example.com), for forward-auth across apps: the cookie becomes __Secure-sesame with Domain=; every subdomain then receives it (default: __Host-sesame, this host only)",
		set: str(func(c *Config) *string { return &c.CookieDomain })},

	{Name: "tokens", Default: "true", Group: groupTokens, kind: kindBool, Help: "first-party access and refresh tokens: the token transports, the /api/v1/token endpoints, Bearer authentication and the JWKS (false: session cookies only for Sesame's own API; the OAuth provider, key oidc, still signs its tokens and publishes the JWKS)",
		set: boolean(func(c *Config) *bool { return &c.Tokens })},
	{Name: "issuer", Group: groupTokens, Help: "iss (and default aud) of access tokens (default: public_url)",
		set: str(func(c *Config) *string { return &c.Issuer })},
	{Name: "access_token_ttl", Default: "15m", Group: groupTokens, kind: kindDuration, Help: "access-token lifetime (at most 1h)",
		set: duration(func(c *Config) *time.Duration { return &c.AccessTokenTTL })},
	{Name: "refresh_idle_timeout", Default: "168h", Group: groupTokens, kind: kindDuration, Help: "a refresh token unused for this long expires",
		set: duration(func(c *Config) *time.Duration { return &c.RefreshIdleTimeout })},
	{Name: "refresh_lifetime", Default: "720h", Group: groupTokens, kind: kindDuration, Help: "absolute lifetime of a refresh-token family",
		set: duration(func(c *Config) *time.Duration { return &c.RefreshLifetime })},
	{Name: "refresh_grace", Default: "10s", Group: groupTokens, kind: kindDuration, Help: "a refresh token presented again this soon after its first use gets the same successor (two tabs, a retry); later it is a reuse that revokes the family (0s: none)",
		set: duration(func(c *Config) *time.Duration { return &c.RefreshGrace })},

	{Name: "token_transports", Default: "header,cookie", Group: groupTokens, kind: kindList, Help: "how login and refresh hand out tokens: header (in the JSON body, sent back as Bearer: mobile apps, CLIs, services) and/or cookie (HttpOnly cookies only: a single-page app on the same site)",
		set: list(func(c *Config) *[]string { return &c.TokenTransports })},
	{Name: "groups_claim", Default: "false", Group: groupTokens, kind: kindBool, Help: "put the user's groups in a groups claim of every access token (read when each token is signed: a change shows in the next token; a token already issued keeps its groups until it expires)",
		set: boolean(func(c *Config) *bool { return &c.GroupsClaim })},
	{Name: "signing_algs", Default: "ES256,RS256", Group: groupTokens, kind: kindList, Help: "JWS algorithms of the signing keys, one active key each (rotated together, all in the JWKS): the first signs access tokens and forward-auth assertions; ID tokens use each client's id_token_alg. RS256 is required with oidc (OpenID Connect clients must accept it). Any of ES256, ES384, ES512, EdDSA, RS256, RS384, RS512, PS256, PS384, PS512",
		set: list(func(c *Config) *[]string { return &c.SigningAlgs })},

	{Name: "return_domains", Group: groupAccess, kind: kindList, Help: "hosts the login page may send a user back to after signing in: wiki.example.com, *.example.com (any subdomain) or .example.com (it and any subdomain); cookie_domain and its subdomains are always included; https only (http too when public_url is http)",
		set: list(func(c *Config) *[]string { return &c.ReturnDomains })},
	{Name: "forward_headers", Group: groupAccess, kind: kindList, Help: "rename the identity headers of forward-auth answers: user=X-User, groups=..., name=..., email=... (FIELD= leaves one out; default Remote-User, Remote-Groups, Remote-Name, Remote-Email)",
		set: list(func(c *Config) *[]string { return &c.ForwardHeaders })},
	{Name: "forward_assertion", Default: "false", Group: groupAccess, kind: kindBool, Help: "add a signed JWT (Sesame-Assertion, typ sesame-assertion+jwt, aud the upstream host, 60 s) to allowed forward-auth answers; verifiable with the JWKS",
		set: boolean(func(c *Config) *bool { return &c.ForwardAssertion })},
	{Name: "access_rules", Group: groupAccess, kind: kindRules, fileOnly: true, Help: "the access rules of forward-auth: an ordered list of {domain, path, methods, networks, policy, groups, assertion}; the first rule that matches decides, no match is a denial (see README, Access rules); in the file only",
		set: func(c *Config, _ string) error { c.AccessRules, c.ruleLines = nil, nil; return nil }},

	{Name: "oidc", Default: "true", Group: groupOAuth, kind: kindBool, Help: "the OAuth 2 authorization server and OpenID Provider: /oauth2/* endpoints, discovery and the JWKS, for the clients below (with tokens: false the OAuth tokens are still signed, but the first-party /api/v1/token/* endpoints, token transports and Bearer authentication stay off)",
		set: boolean(func(c *Config) *bool { return &c.OIDC })},
	{Name: "resources", Group: groupOAuth, kind: kindList, Help: "the APIs (RFC 8707 resources: absolute https URIs such as https://api.example.com) OAuth clients may ask access tokens for; a token for one has it as its audience, so another API refuses it",
		set: list(func(c *Config) *[]string { return &c.Resources })},
	{Name: "clients", Group: groupOAuth, kind: kindClients, fileOnly: true, Help: "OAuth 2 / OpenID Connect clients: a list of {id, name, public, secret_file or secret_sha256, auth_method, jwks_file, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri, grant_types, scopes, resources, first_party, id_token_alg} (see README, OpenID Connect); in the file only (or sesame clients add, in the database)",
		set: func(c *Config, _ string) error { c.Clients, c.clientLines = nil, nil; return nil }},
	{Name: "webhooks", Group: groupWebhooks, kind: kindWebhooks, fileOnly: true, secret: true, Help: "webhook endpoints for lifecycle events, signed per Standard Webhooks: a list of {url, events (exact types or \"*\"), secrets (whsec_..., one or two) or secret_files}; delivered at least once from the database's outbox (see docs/webhooks.md); in the file only",
		set: func(c *Config, _ string) error { c.Webhooks, c.webhookLines = nil, nil; return nil }},

	{Name: "explainer", Default: "false", Group: groupPasskeys, kind: kindBool, Help: "the explainer page GET /how-it-works: the visitor's own cookie (attributes, never the value), session record, a decoded access token and a live revocation demo (see docs/pages.md); off by default, except on the dev server (sesame serve with no configuration file, on a loopback address), where it is on unless set false",
		set: boolean(func(c *Config) *bool { return &c.Explainer })},
	{Name: "passkeys", Default: "true", Group: groupPasskeys, kind: kindBool, Help: "passkeys (WebAuthn): users add them on the account page and sign in with one instead of a password (user verification required); the relying party is public_url (see docs/passkeys.md)",
		set: boolean(func(c *Config) *bool { return &c.Passkeys })},
	{Name: "passkey_rp_id", Group: groupPasskeys, Help: "the WebAuthn relying-party ID, when not public_url's host: a parent domain of it (example.com for auth.example.com), so that passkeys stay valid if the server moves to another subdomain; changing it later voids every registered passkey",
		set: str(func(c *Config) *string { return &c.PasskeyRPID })},
	{Name: "second_factor", Default: "optional", Group: groupPasskeys, Help: "who must have a second factor (an authenticator app or a passkey): optional (those who add one are asked for it), admins, or everyone; a user required to have one and without any is sent to enrolment after the password (see docs/second-factors.md)",
		set: str(func(c *Config) *string { return &c.SecondFactor })},
	{Name: "step_up_max_age", Default: "10m", Group: groupPasskeys, kind: kindDuration, Help: "how recent a sign-in (password, and the second factor of a user who has one) sensitive actions require: adding or removing a factor, new recovery codes, signing out everywhere, password and address changes of a user with a second factor, administrators' changes; older, the API answers 401 step_up_required and the pages ask again",
		set: duration(func(c *Config) *time.Duration { return &c.StepUpMaxAge })},
	{Name: "smtp_url", Group: groupEmail, secret: true, Help: "the SMTP server mail goes through: smtp://[user@]host[:port] (STARTTLS when offered; port 587) or smtps://[user@]host[:port] (implicit TLS; port 465); the password comes from smtp_password_file or SESAME_SMTP_PASSWORD. Unset: no mail, and sign-up addresses, verification, password reset and new-device notices are off (see docs/email.md)",
		set: str(func(c *Config) *string { return &c.SMTPURL })},
	{Name: "smtp_password_file", Group: groupEmail, Help: "a file whose first line is the SMTP password (SESAME_SMTP_PASSWORD, when set, wins)",
		set: str(func(c *Config) *string { return &c.SMTPPasswordFile })},
	{Name: "smtp_ca_file", Group: groupEmail, Help: "a PEM file of CA certificates the SMTP server's certificate must chain to, instead of the system's roots (a private CA); unset: the system's roots",
		set: str(func(c *Config) *string { return &c.SMTPCAFile })},
	{Name: "mail_from", Group: groupEmail, Help: "the From of every message: auth@example.com or \"Sesame <auth@example.com>\"; required with smtp_url",
		set: str(func(c *Config) *string { return &c.MailFrom })},
	{Name: "mail_templates", Group: groupEmail, Help: "a directory whose verify.txt, reset.txt, ... (and .html) replace the built-in message templates of the same name (see docs/email.md)",
		set: str(func(c *Config) *string { return &c.MailTemplates })},
	{Name: "require_email", Default: "false", Group: groupEmail, kind: kindBool, Help: "sign-up must give an email address (needs smtp_url)",
		set: boolean(func(c *Config) *bool { return &c.RequireEmail })},
	{Name: "require_verified", Default: "none", Group: groupEmail, Help: "none, reset (reset links go only to verified addresses) or login (also: no sign-in before the address is verified); needs smtp_url",
		set: str(func(c *Config) *string { return &c.RequireVerified })},
	{Name: "login_by_email", Default: "false", Group: groupEmail, kind: kindBool, Help: "the sign-in name may be the user's email address as well as the username (needs smtp_url)",
		set: boolean(func(c *Config) *bool { return &c.LoginByEmail })},

	{Name: "log_format", Default: "text", Group: groupLogs, Help: "log format: text or json (logs go to stderr; audit events are records with msg=audit)",
		set: str(func(c *Config) *string { return &c.LogFormat })},
	{Name: "log_level", Default: "info", Group: groupLogs, Help: "log level: debug, info, warn or error",
		set: str(func(c *Config) *string { return &c.LogLevel })},
}

// presets are the built-in sets of defaults. Each changes only what its use
// case needs; any key set in the file, the environment or a flag wins.
var presets = map[string]Preset{
	"web": {Name: "web", UseCase: "server-rendered apps: the session cookie carries everything; the first-party token transports and endpoints are off (the OpenID Provider, oidc, stays on unless set off)",
		Values: map[string]string{"tokens": "false"}},
	"spa": {Name: "spa", UseCase: "a single-page app on the same site: the access and refresh tokens travel only in HttpOnly cookies (the cookie transport; the header transport is off), and the app sends the CSRF token on every unsafe request; short access tokens",
		Values: map[string]string{"tokens": "true", "token_transports": "cookie", "access_token_ttl": "5m", "refresh_idle_timeout": "24h"}},
	"api": {Name: "api", UseCase: "mobile apps, CLIs and services: Bearer access tokens plus rotating refresh tokens in the JSON body (the header transport; the cookie transport is off); the HTML pages stay for sign-up and account management",
		Values: map[string]string{"tokens": "true", "token_transports": "header", "access_token_ttl": "15m", "refresh_idle_timeout": "720h", "refresh_lifetime": "2160h"}},
	"strict": {Name: "strict", UseCase: "banking-grade: a 10 min idle timeout and 1 h lifetime, no remember-me, SameSite=Strict, 5 min access tokens, no refresh reuse grace",
		Values: map[string]string{"idle_timeout": "10m", "lifetime": "1h", "remember_me": "false", "same_site": "strict",
			"access_token_ttl": "5m", "refresh_idle_timeout": "30m", "refresh_lifetime": "8h", "refresh_grace": "0s", "renew_grace": "2s"}},
}

// Preset is a named set of defaults for one use case.
type Preset struct {
	Name    string
	UseCase string
	Values  map[string]string // key → value, written as in a file
}

// Presets returns the built-in presets, sorted by name.
func Presets() []Preset {
	return []Preset{presets["api"], presets["spa"], presets["strict"], presets["web"]}
}

// PresetNamed returns the preset called name.
func PresetNamed(name string) (Preset, bool) {
	p, ok := presets[name]
	return p, ok
}
