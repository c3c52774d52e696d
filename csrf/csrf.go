package csrf

import (
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// MinKeySize is the shortest [Key] that [New] accepts, in bytes.
const MinKeySize = 32

// Defaults for the [Config] fields left empty.
const (
	DefaultPreSessionCookie = "__Host-sesame-csrf"
	DefaultFormField        = "csrf_token"
	DefaultHeader           = "X-CSRF-Token"
)

const redacted = "[REDACTED]"

// Key is the HMAC-SHA256 key that signs tokens. Its String, GoString,
// LogValue and MarshalJSON methods redact it.
type Key []byte

// String returns a placeholder, never the key.
func (Key) String() string { return redacted }

// GoString is String, so that %#v does not print the key either.
func (k Key) GoString() string { return k.String() }

// LogValue implements slog.LogValuer with the key redacted.
func (Key) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes the key as the placeholder, for slog's JSON handler.
func (Key) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }

// Config configures a [Protection]. Every field but Key may be left zero;
// each zero value is the secure default its comment states.
type Config struct {
	// Key signs and verifies tokens with HMAC-SHA256. Required: at least
	// [MinKeySize] bytes from crypto/rand, the same on every node, and
	// never a password. [New] refuses a shorter key. Changing it
	// invalidates every token already rendered.
	Key Key

	// SessionID returns the stable public ID of the session r belongs to,
	// or "" when r has no session. Tokens are bound to it, so a token
	// minted for one session is refused for any other; because Sesame gives
	// a session a new ID at every login, tokens rotate on login by
	// construction. Default: nil, meaning no request has a session and
	// every token is bound to the pre-session cookie.
	SessionID func(r *http.Request) string

	// TrustedOrigins are origins, besides the request's own, whose
	// requests may pass the origin stage: each exactly "scheme://host" or
	// "scheme://host:port" as a browser serializes it (http or https,
	// lowercase host, no default port, no path or trailing slash); [New]
	// refuses any other spelling. Matching is exact string equality, so
	// "https://example.org.attacker.com" never matches "https://example.org".
	// Sibling subdomains are untrusted unless listed (SEC-36).
	// Default: none.
	TrustedOrigins []string

	// Scheme returns the scheme of the request's own origin, "http" or
	// "https". Set it when TLS ends at a proxy in front of the server.
	// Default: "https" when r.TLS is set, else "http". The host of the own
	// origin is always r.Host.
	Scheme func(r *http.Request) string

	// PreSessionCookie names the cookie that binds tokens of requests
	// without a session (login and sign-up forms; SEC-39). It must start
	// with "__Host-" so that no sibling subdomain or plain-HTTP page can
	// plant it (attacks 16, 23). Default: [DefaultPreSessionCookie].
	PreSessionCookie string

	// FormField is the form field read for form posts.
	// Default: [DefaultFormField].
	FormField string

	// Header is the request header read for the token.
	// Default: [DefaultHeader].
	Header string

	// TokenExempt reports whether r may omit the token. The origin stage
	// still applies. Meant for endpoints that accept only a non-simple
	// content type such as application/json, which a cross-site page cannot
	// send without a CORS preflight: Sesame's JSON login and sign-up.
	// Never use it for HTML form endpoints: their login form needs the
	// pre-session token (login CSRF, attack 21). Default: nil, no request
	// is exempt.
	TokenExempt func(r *http.Request) bool

	// Exempt reports whether r skips [Protection.Check] entirely. It is for
	// requests that carry no ambient credential at all, for example an API
	// client that sends "Authorization: Bearer" and no Cookie header: the
	// browser never adds such a header to a cross-site request. Exempting
	// any request a browser could send with cookies reopens CSRF, and
	// exempting a cookie-less login form reopens login CSRF.
	// Default: nil, no request is exempt.
	Exempt func(r *http.Request) bool

	// DenyHandler answers requests that [Protection.Handler] refuses; it
	// may read the reason with [Rejection]. Default: a 403 with a JSON body
	// {"error":{"code":"forbidden","message":"..."}}, or a small plain
	// HTML page for a request whose Accept names text/html. Neither echoes
	// the token.
	DenyHandler http.Handler

	// OnReject, when set, is called with every refused request and the
	// error saying why, before DenyHandler runs: the hook for the audit log
	// (SEC-55). The error never contains the token. Default: nil.
	OnReject func(r *http.Request, err error)
}

// Protection checks unsafe requests for cross-site request forgery and mints
// the tokens that let them pass. Create one with [New]. It is immutable and
// safe for concurrent use.
type Protection struct {
	key         Key
	sessionID   func(*http.Request) string
	trusted     map[string]bool
	scheme      func(*http.Request) string
	cookieName  string
	formField   string
	header      string
	tokenExempt func(*http.Request) bool
	exempt      func(*http.Request) bool
	deny        http.Handler
	onReject    func(*http.Request, error)
}

// New returns a Protection for cfg. It fails when the key is shorter than
// [MinKeySize], a trusted origin is not in the exact form a browser sends,
// or the pre-session cookie name lacks the "__Host-" prefix.
func New(cfg Config) (*Protection, error) {
	if len(cfg.Key) < MinKeySize {
		return nil, fmt.Errorf("csrf: key is %d bytes, want at least %d", len(cfg.Key), MinKeySize)
	}
	p := &Protection{
		key:         append(Key(nil), cfg.Key...),
		sessionID:   cfg.SessionID,
		trusted:     make(map[string]bool, len(cfg.TrustedOrigins)),
		scheme:      cfg.Scheme,
		cookieName:  cmp.Or(cfg.PreSessionCookie, DefaultPreSessionCookie),
		formField:   cmp.Or(cfg.FormField, DefaultFormField),
		header:      http.CanonicalHeaderKey(cmp.Or(cfg.Header, DefaultHeader)),
		tokenExempt: cfg.TokenExempt,
		exempt:      cfg.Exempt,
		deny:        cfg.DenyHandler,
		onReject:    cfg.OnReject,
	}
	if p.sessionID == nil {
		p.sessionID = func(*http.Request) string { return "" }
	}
	if p.scheme == nil {
		p.scheme = schemeFromTLS
	}
	if p.deny == nil {
		p.deny = http.HandlerFunc(defaultDeny)
	}
	if !strings.HasPrefix(p.cookieName, "__Host-") {
		return nil, fmt.Errorf("csrf: pre-session cookie %q must start with __Host-", p.cookieName)
	}
	for _, o := range cfg.TrustedOrigins {
		if err := validateOrigin(o); err != nil {
			return nil, err
		}
		p.trusted[o] = true
	}
	return p, nil
}

func schemeFromTLS(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// validateOrigin accepts only the ASCII serialization of an http or https
// origin, so that trusted origins can be compared to Origin headers as
// plain strings.
func validateOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil {
		return fmt.Errorf("csrf: trusted origin %q: %w", o, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("csrf: trusted origin %q: scheme must be http or https", o)
	}
	if u.Host == "" || u.User != nil || u.Opaque != "" || !validHost(u.Host) {
		return fmt.Errorf("csrf: trusted origin %q: want scheme://host[:port]", o)
	}
	if canon := u.Scheme + "://" + canonicalHost(u.Scheme, u.Host); o != canon {
		return fmt.Errorf("csrf: trusted origin %q: not in canonical form (want %q, no path, no default port)", o, canon)
	}
	return nil
}

// validHost accepts the characters of a DNS name, an IPv4 address or a
// bracketed IPv6 address, with a port; no wildcards, which never match.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// canonicalHost lowercases host and drops the scheme's default port, as a
// browser does when it serializes an origin.
func canonicalHost(scheme, host string) string {
	host = strings.ToLower(host)
	switch {
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	}
	return host
}

// String describes p without its key.
func (p *Protection) String() string {
	return fmt.Sprintf("csrf.Protection{Key:%s, TrustedOrigins:%d, PreSessionCookie:%q}", redacted, len(p.trusted), p.cookieName)
}

// GoString is String, so that %#v does not print the key.
func (p *Protection) GoString() string { return p.String() }

// LogValue implements slog.LogValuer without the key.
func (p *Protection) LogValue() slog.Value {
	return slog.GroupValue(slog.String("key", redacted), slog.Int("trusted_origins", len(p.trusted)),
		slog.String("pre_session_cookie", p.cookieName))
}
