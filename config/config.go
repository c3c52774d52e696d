package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/authz"
)

// Config is the effective configuration of a deployment. Each field is one
// key (see [Keys]); its default is the key's. A Config from [Default] or
// [Load] is complete: every field holds a value.
type Config struct {
	Preset          string
	Addr            string
	PublicURL       string
	AllowedHosts    []string
	TLSCert, TLSKey string
	InsecureCookies bool
	TrustedProxies  []string
	AllowedOrigins  []string
	// MetricsAddr is the listen address (host:port) of a separate
	// listener serving Prometheus metrics at GET /metrics (key
	// metrics_addr; see package metrics). Default "": no metrics.
	MetricsAddr string

	DB            string // may carry a password: print it through Redact
	Sessions      string // may carry a password: print it through Redact
	MasterKeyFile string
	MasterKey     Secret

	IdleTimeout         time.Duration
	Lifetime            time.Duration
	RememberMe          bool
	RememberIdleTimeout time.Duration
	RememberLifetime    time.Duration
	RenewGrace          time.Duration // 0: none
	SameSite            string        // "lax" or "strict"
	// CookieDomain, when set, makes the session cookie __Secure-sesame
	// with Domain= this domain, so that every subdomain receives it (key
	// cookie_domain). Default "": __Host-sesame, this host only.
	CookieDomain string

	Tokens             bool
	Issuer             string // "": PublicURL
	AccessTokenTTL     time.Duration
	RefreshIdleTimeout time.Duration
	RefreshLifetime    time.Duration
	RefreshGrace       time.Duration // 0: none
	TokenTransports    []string      // "header", "cookie"
	// GroupsClaim puts the user's groups in a groups claim of every access
	// token (key groups_claim). Default false.
	GroupsClaim bool
	// SigningAlgs are the JWS algorithms of the signing keys (key
	// signing_algs), one active key each; the first signs access tokens
	// and forward-auth assertions. Default ES256, RS256.
	SigningAlgs []string

	// AccessRules are the forward-auth access rules, in order (key
	// access_rules, from the file only). Default none: every request is
	// denied. Compile them with [authz.Compile]; Load has checked that
	// they compile.
	AccessRules []authz.Rule
	// ReturnDomains are the hosts the login page may send a user back to
	// (key return_domains), besides cookie_domain and its subdomains.
	ReturnDomains []string
	// ForwardHeaders renames identity headers of forward-auth answers
	// (key forward_headers): items FIELD=Header (user, groups, name,
	// email); an empty Header leaves that one out.
	ForwardHeaders []string
	// ForwardAssertion adds a signed Sesame-Assertion to allowed
	// forward-auth answers (key forward_assertion).
	ForwardAssertion bool

	// OIDC serves the OAuth 2 authorization server and OpenID Provider
	// (key oidc). Default true. With Tokens false the token service is
	// still built, for the OAuth tokens, but the first-party token
	// endpoints stay off.
	OIDC bool
	// Resources are the RFC 8707 resources OAuth clients may ask access
	// tokens for (key resources).
	Resources []string
	// Clients are the OAuth clients of the configuration file (key
	// clients, from the file only), checked with [CheckClient]; their
	// secrets are read with [Client.ReadSecretHash].
	Clients []Client

	// Webhooks are the webhook endpoints (key webhooks, from the file
	// only), checked by Validate; read their keys with
	// [Webhook.ReadKeys].
	Webhooks []Webhook

	// Email (keys smtp_url, smtp_password_file, smtp_ca_file, mail_from,
	// mail_templates, require_email, require_verified,
	// login_by_email; see docs/email.md). SMTPURL "" turns mail off.
	SMTPURL          string
	SMTPPasswordFile string
	SMTPCAFile       string
	MailFrom         string
	MailTemplates    string
	RequireEmail     bool
	RequireVerified  string // "none", "reset" or "login"
	LoginByEmail     bool

	LogFormat string
	LogLevel  string

	// ShutdownTimeout bounds the wait for requests in flight when serve
	// stops on a signal (key shutdown_timeout). Default 10s.
	ShutdownTimeout time.Duration
	// ShutdownDelay is how long serve keeps serving, draining (GET
	// /healthz 503), before it closes its listener (key shutdown_delay).
	// Default 0s.
	ShutdownDelay time.Duration

	// Explainer serves the explainer page, GET /how-it-works (key
	// explainer). Default false; package app turns it on for the dev
	// server (no configuration file, a loopback address) unless it is set.
	Explainer bool
	// Passkeys turns on passkeys (WebAuthn): registration from the account
	// page and passwordless sign-in (key passkeys). Default true.
	Passkeys bool
	// PasskeyRPID overrides the WebAuthn relying-party ID, which is
	// otherwise public_url's host (key passkey_rp_id): a parent domain of
	// that host, so that passkeys survive a move between subdomains.
	PasskeyRPID string
	// SecondFactor says who must have a second factor (key
	// second_factor): "optional" (default), "admins" or "everyone".
	SecondFactor string
	// StepUpMaxAge is how recent a re-authentication sensitive actions
	// require (key step_up_max_age). Default 10m.
	StepUpMaxAge time.Duration

	// File is the configuration file that was read, or "".
	File string

	sources   map[string]Source
	extra     []string    // secrets seen in any layer, for Redact
	ruleLines []ruleLines // where each access rule was written, when from a file
	// clientLines: where each client was written, when from a file
	clientLines []ruleLines
	// webhookLines: where each webhook endpoint was written, when from a file
	webhookLines []ruleLines
}

// Secret is a secret string. It never prints itself: String, GoString,
// Format and LogValue all redact it.
type Secret string

// Reveal returns the secret.
func (s Secret) Reveal() string { return string(s) }

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts the secret.
func (s Secret) GoString() string { return s.String() }

// Format redacts the secret for every verb.
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// LogValue implements slog.LogValuer: the secret is redacted.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// redacted replaces a secret in every text this package writes.
const redacted = "[REDACTED]"

// SourceKind says which layer set a value.
type SourceKind int

// The layers, lowest precedence first.
const (
	FromDefault SourceKind = iota
	FromPreset
	FromFile
	FromEnv
	FromFlag
	FromListener // public_url derived from the listening address (loopback development)
)

// Source is where an effective value came from.
type Source struct {
	Kind SourceKind
	// Where names it: the preset, "FILE:LINE", the variable, the flag.
	Where string
}

func (s Source) String() string {
	switch s.Kind {
	case FromDefault:
		return "default"
	case FromPreset:
		return "preset " + s.Where
	case FromFile:
		return "file " + s.Where
	case FromEnv:
		return "env " + s.Where
	case FromFlag:
		return "flag " + s.Where
	case FromListener:
		return "listener address"
	}
	return "unknown"
}

// Default returns the built-in configuration: what `sesame serve` runs with
// when nothing is configured.
func Default() *Config {
	c := &Config{sources: map[string]Source{}}
	for _, k := range keys {
		if err := k.set(c, k.Default); err != nil {
			panic("config: bad default for " + k.Name + ": " + err.Error())
		}
		c.sources[k.Name] = Source{Kind: FromDefault}
	}
	return c
}

// Source returns where the value of key came from.
func (c *Config) Source(key string) Source {
	if c.sources == nil {
		return Source{}
	}
	return c.sources[key]
}

// SetSource records where the value of key came from, for a caller that
// sets a field itself (for example public_url from the listener).
func (c *Config) SetSource(key string, s Source) {
	if c.sources == nil {
		c.sources = map[string]Source{}
	}
	c.sources[key] = s
}

// EffectiveIssuer is the iss of access tokens: Issuer, or else PublicURL.
func (c *Config) EffectiveIssuer() string {
	if c.Issuer != "" {
		return c.Issuer
	}
	return c.PublicURL
}

// Setting is one effective value, ready to print.
type Setting struct {
	Key    string
	Value  string // redacted: no secret
	Source Source
}

// Settings lists every key with its effective value, secrets redacted, and
// its source. access_rules (whose value is the number of rules) is
// followed by one row per rule, key "access_rules[i]", value the rule in
// one line ([authz.Rule.String]), source the rule's line; clients
// likewise, one row per client, "clients[i]" ([Client.String]: where its
// secret comes from, never the secret nor its hash).
func (c *Config) Settings() []Setting {
	out := make([]Setting, 0, len(keys)+len(c.AccessRules))
	for _, k := range keys {
		out = append(out, Setting{Key: k.Name, Value: c.Redact(c.text(k)), Source: c.Source(k.Name)})
		if k.kind == kindRules {
			out = append(out, c.ruleSettings()...)
		}
		if k.kind == kindClients {
			out = append(out, c.clientSettings()...)
		}
		if k.kind == kindWebhooks {
			out = append(out, c.webhookSettings()...)
		}
	}
	return out
}

// text is the value of k written as in a file; the master key is
// redacted.
func (c *Config) text(k *Key) string {
	switch k.Name {
	case "master_key":
		return c.MasterKey.String()
	case "preset":
		return c.Preset
	case "addr":
		return c.Addr
	case "shutdown_timeout":
		return formatDuration(c.ShutdownTimeout)
	case "shutdown_delay":
		return formatDuration(c.ShutdownDelay)
	case "public_url":
		return c.PublicURL
	case "allowed_hosts":
		return strings.Join(c.AllowedHosts, ",")
	case "tls_cert":
		return c.TLSCert
	case "tls_key":
		return c.TLSKey
	case "insecure_cookies":
		return strconv.FormatBool(c.InsecureCookies)
	case "trusted_proxies":
		return strings.Join(c.TrustedProxies, ",")
	case "allowed_origins":
		return strings.Join(c.AllowedOrigins, ",")
	case "metrics_addr":
		return c.MetricsAddr
	case "db":
		return c.DB
	case "sessions":
		return c.Sessions
	case "master_key_file":
		return c.MasterKeyFile
	case "idle_timeout":
		return formatDuration(c.IdleTimeout)
	case "lifetime":
		return formatDuration(c.Lifetime)
	case "remember_me":
		return strconv.FormatBool(c.RememberMe)
	case "remember_idle_timeout":
		return formatDuration(c.RememberIdleTimeout)
	case "remember_lifetime":
		return formatDuration(c.RememberLifetime)
	case "renew_grace":
		return formatDuration(c.RenewGrace)
	case "same_site":
		return c.SameSite
	case "cookie_domain":
		return c.CookieDomain
	case "return_domains":
		return strings.Join(c.ReturnDomains, ",")
	case "forward_headers":
		return strings.Join(c.ForwardHeaders, ",")
	case "forward_assertion":
		return strconv.FormatBool(c.ForwardAssertion)
	case "tokens":
		return strconv.FormatBool(c.Tokens)
	case "issuer":
		return c.Issuer
	case "access_token_ttl":
		return formatDuration(c.AccessTokenTTL)
	case "refresh_idle_timeout":
		return formatDuration(c.RefreshIdleTimeout)
	case "refresh_lifetime":
		return formatDuration(c.RefreshLifetime)
	case "refresh_grace":
		return formatDuration(c.RefreshGrace)
	case "token_transports":
		return strings.Join(c.TokenTransports, ",")
	case "groups_claim":
		return strconv.FormatBool(c.GroupsClaim)
	case "signing_algs":
		return strings.Join(c.SigningAlgs, ",")
	case "access_rules":
		return accessRulesText(c.AccessRules)
	case "oidc":
		return strconv.FormatBool(c.OIDC)
	case "resources":
		return strings.Join(c.Resources, ",")
	case "clients":
		return clientsText(c.Clients)
	case "webhooks":
		return webhooksText(c.Webhooks)
	case "smtp_url":
		return c.SMTPURL
	case "smtp_password_file":
		return c.SMTPPasswordFile
	case "smtp_ca_file":
		return c.SMTPCAFile
	case "mail_from":
		return c.MailFrom
	case "mail_templates":
		return c.MailTemplates
	case "require_email":
		return strconv.FormatBool(c.RequireEmail)
	case "require_verified":
		return c.RequireVerified
	case "login_by_email":
		return strconv.FormatBool(c.LoginByEmail)
	case "log_format":
		return c.LogFormat
	case "log_level":
		return c.LogLevel
	case "explainer":
		return strconv.FormatBool(c.Explainer)
	case "passkeys":
		return strconv.FormatBool(c.Passkeys)
	case "passkey_rp_id":
		return c.PasskeyRPID
	case "second_factor":
		return c.SecondFactor
	case "step_up_max_age":
		return formatDuration(c.StepUpMaxAge)
	}
	panic("config: no text form for key " + k.Name)
}

// formatDuration writes d as a Go duration without the trailing zero units
// time.Duration.String adds ("30m", not "30m0s").
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// secrets returns every secret value c holds: the master key and the
// passwords (and user-info) inside its URLs.
func (c *Config) secrets() []string {
	out := slices.Clone(c.extra)
	if c.MasterKey != "" {
		out = append(out, string(c.MasterKey))
	}
	for _, u := range []string{c.DB, c.Sessions} {
		out = append(out, urlSecrets(u)...)
	}
	return out
}

// urlSecrets returns the passwords written in a URL (or in each URL of a
// comma-separated cluster list).
func urlSecrets(raw string) []string {
	var out []string
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			out = append(out, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
	}
	// A URL that does not parse may still hold user:password@: take the
	// text between the last ':' of the user-info and '@'.
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		if at := strings.LastIndexByte(rest, '@'); at > 0 {
			userinfo := rest[:at]
			if _, pw, ok := strings.Cut(userinfo, ":"); ok && pw != "" {
				out = append(out, pw)
			}
		}
	}
	for _, q := range []string{"password", "pass"} {
		if u, err := url.Parse(raw); err == nil {
			if pw := u.Query().Get(q); pw != "" {
				out = append(out, pw, url.QueryEscape(pw))
			}
		}
	}
	return out
}

// Redact replaces every secret of c found in s: the master key and the
// passwords of the database and Redis URLs.
func (c *Config) Redact(s string) string {
	for _, sec := range c.secrets() {
		if len(sec) >= 1 {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return RedactURL(s)
}

// RedactURL replaces the password of a URL (user:password@host) with
// [REDACTED]; other text is returned as it is.
func RedactURL(s string) string {
	for _, sec := range urlSecrets(s) {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	return s
}

// Clone returns a deep copy of c.
func (c *Config) Clone() *Config {
	d := *c
	d.AllowedHosts = slices.Clone(c.AllowedHosts)
	d.TrustedProxies = slices.Clone(c.TrustedProxies)
	d.AllowedOrigins = slices.Clone(c.AllowedOrigins)
	d.ReturnDomains = slices.Clone(c.ReturnDomains)
	d.ForwardHeaders = slices.Clone(c.ForwardHeaders)
	d.SigningAlgs = slices.Clone(c.SigningAlgs)
	d.extra = slices.Clone(c.extra)
	d.AccessRules = make([]authz.Rule, len(c.AccessRules))
	for i, r := range c.AccessRules {
		r.Methods, r.Networks, r.Groups = slices.Clone(r.Methods), slices.Clone(r.Networks), slices.Clone(r.Groups)
		d.AccessRules[i] = r
	}
	if c.AccessRules == nil {
		d.AccessRules = nil
	}
	d.ruleLines = slices.Clone(c.ruleLines)
	d.Resources = slices.Clone(c.Resources)
	if c.Clients != nil {
		d.Clients = make([]Client, len(c.Clients))
		for i, cl := range c.Clients {
			d.Clients[i] = cl.clone()
		}
	}
	d.clientLines = slices.Clone(c.clientLines)
	if c.Webhooks != nil {
		d.Webhooks = make([]Webhook, len(c.Webhooks))
		for i, w := range c.Webhooks {
			d.Webhooks[i] = w.clone()
		}
	}
	d.webhookLines = slices.Clone(c.webhookLines)
	d.sources = make(map[string]Source, len(c.sources))
	for k, v := range c.sources {
		d.sources[k] = v
	}
	return &d
}

// String lists the settings with secrets redacted.
func (c *Config) String() string {
	var b strings.Builder
	b.WriteString("config{")
	for i, s := range c.Settings() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s.Key + "=" + strconv.Quote(s.Value))
	}
	b.WriteByte('}')
	return b.String()
}

// Format prints c as String does for every verb, so that no secret leaks
// through %v, %+v or %#v.
func (c *Config) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue implements slog.LogValuer: the settings, secrets redacted.
func (c *Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
