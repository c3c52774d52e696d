package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/guard"
)

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off", "":
		return false, nil
	}
	return false, fmt.Errorf("want true or false, got %q", s)
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err == nil {
		return d, nil
	}
	if _, nerr := fmt.Sscanf(s, "%d", new(int)); nerr == nil && !strings.ContainsAny(s, "nsuµmh") {
		return 0, fmt.Errorf("%s has no unit: write %ss, %sm or %sh", s, s, s, s)
	}
	return 0, fmt.Errorf("want a duration such as 90s, 30m or 12h, got %q", s)
}

// splitList splits a comma-separated value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// at says where key's effective value came from, for a problem, and
// whether that is the command line.
func (c *Config) at(key string) (string, bool) {
	src := c.Source(key)
	k := byName[key]
	switch src.Kind {
	case FromFile:
		return src.Where + ": " + key, false
	case FromEnv:
		return k.Env(), false
	case FromFlag:
		return k.Flag(), true
	case FromPreset:
		return key + " (preset " + src.Where + ")", false
	}
	return key, true // a default: the command line did not change it
}

// problem adds a problem about key's effective value.
func (c *Config) problem(ps *Problems, key, format string, a ...any) {
	where, usage := c.at(key)
	ps.add(Problem{Where: where, Usage: usage, Msg: fmt.Sprintf(format, a...)})
}

// Validate checks c as [Load] does for role and returns a *[Problems], or
// nil. Call it after changing the fields of a Config yourself.
func (c *Config) Validate(role Role) error {
	ps := &Problems{}
	c.check(role, ps)
	ps.redact(c)
	return ps.err()
}

// check validates the effective values and how they go together.
func (c *Config) check(role Role, ps *Problems) {
	if _, ok := presets[c.Preset]; c.Preset != "" && !ok && c.Source("preset").Kind == FromDefault {
		c.problem(ps, "preset", "unknown preset %q: want web, spa, api or strict", c.Preset)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		c.problem(ps, "addr", "%q: want host:port (for example 127.0.0.1:8080)", c.Addr)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			c.problem(ps, "metrics_addr", "%q: want host:port (for example 127.0.0.1:9090)", c.MetricsAddr)
		} else if c.MetricsAddr == c.Addr && !strings.HasSuffix(c.Addr, ":0") {
			c.problem(ps, "metrics_addr", "%q is addr: metrics need a listener of their own, never the public one", c.MetricsAddr)
		}
	}
	c.checkEmail(ps)
	c.PublicURL = c.checkOrigin(ps, "public_url", c.PublicURL)
	c.Issuer = c.checkOrigin(ps, "issuer", c.Issuer)
	for i, o := range c.AllowedOrigins {
		c.AllowedOrigins[i] = c.checkOrigin(ps, "allowed_origins", o)
	}
	for _, h := range c.AllowedHosts {
		if strings.ContainsAny(h, "/@ ") || h == "" {
			c.problem(ps, "allowed_hosts", "%q: want a host name or host:port, without scheme or path", h)
		}
	}
	if _, err := guard.ParsePrefixes(strings.Join(c.TrustedProxies, ",")); err != nil {
		c.problem(ps, "trusted_proxies", "%s", strings.TrimPrefix(err.Error(), "guard: "))
	}
	c.checkStores(role, ps)
	c.checkAccessRules(ps)
	c.checkOAuth(role, ps)
	c.checkWebhooks(role, ps)
	c.checkSigningAlgs(ps)
	c.checkForward(ps)
	c.checkPasskeys(ps)
	switch c.SecondFactor {
	case "optional", "admins", "everyone":
	default:
		c.problem(ps, "second_factor", "%q: want optional, admins or everyone", c.SecondFactor)
	}
	c.checkDurations(ps)
	c.checkEnums(ps)
	if role == RoleServe {
		c.checkServe(ps)
	}
}

// checkOrigin checks a scheme://host[:port] value and returns it without a
// trailing slash.
func (c *Config) checkOrigin(ps *Problems, key, s string) string {
	if s == "" {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		c.problem(ps, key, "%q: want an origin such as https://auth.example.com", s)
		return s
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		c.problem(ps, key, "%q: unsupported scheme %q: want https:// (or http:// for development)", s, u.Scheme)
		return s
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		c.problem(ps, key, "%q: want only scheme://host[:port], without user, path or query", RedactURL(s))
		return s
	}
	return strings.TrimSuffix(s, "/")
}

// checkStores checks db, sessions and the master key.
func (c *Config) checkStores(role Role, ps *Problems) {
	if path, err := SQLitePath(c.DB); err != nil {
		c.problem(ps, "db", "%v", err)
	} else if path != "" && role == RoleServe {
		c.checkDir(ps, "db", path)
	}
	if err := checkSessionsURL(c.Sessions); err != nil {
		c.problem(ps, "sessions", "%v", err)
	}
	if c.MasterKey != "" {
		if err := checkMasterKey(string(c.MasterKey)); err != nil {
			c.problem(ps, "master_key", "%v", err)
		}
	}
	if c.MasterKeyFile != "" {
		c.checkDir(ps, "master_key_file", c.MasterKeyFile)
	}
}

// checkDir checks that the directory of a file the server may create
// exists.
func (c *Config) checkDir(ps *Problems, key, path string) {
	dir := filepath.Dir(path)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		c.problem(ps, key, "%s: the directory %s does not exist", path, dir)
	}
}

// checkExists checks that a file the server reads exists.
func (c *Config) checkExists(ps *Problems, key, path string) {
	if path == "" {
		return
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		c.problem(ps, key, "%s does not exist", path)
	} else if err != nil {
		c.problem(ps, key, "cannot read %s: %v", path, errors.Unwrap(err))
	}
}

func (c *Config) checkDurations(ps *Problems) {
	positive := map[string]time.Duration{
		"idle_timeout": c.IdleTimeout, "lifetime": c.Lifetime,
		"remember_idle_timeout": c.RememberIdleTimeout, "remember_lifetime": c.RememberLifetime,
		"access_token_ttl": c.AccessTokenTTL, "refresh_idle_timeout": c.RefreshIdleTimeout,
		"refresh_lifetime": c.RefreshLifetime, "shutdown_timeout": c.ShutdownTimeout,
		"step_up_max_age": c.StepUpMaxAge,
	}
	for _, k := range keys {
		if d, ok := positive[k.Name]; ok && d <= 0 {
			c.problem(ps, k.Name, "must be positive, got %s", formatDuration(d))
		}
	}
	for key, d := range map[string]time.Duration{"renew_grace": c.RenewGrace, "refresh_grace": c.RefreshGrace, "shutdown_delay": c.ShutdownDelay} {
		if d < 0 {
			c.problem(ps, key, "must not be negative, got %s", formatDuration(d))
		}
	}
	if c.AccessTokenTTL > time.Hour {
		c.problem(ps, "access_token_ttl", "%s is longer than the 1h maximum", formatDuration(c.AccessTokenTTL))
	}
	if c.RememberLifetime > 400*24*time.Hour {
		c.problem(ps, "remember_lifetime", "%s is longer than 400 days, the longest cookie browsers keep", formatDuration(c.RememberLifetime))
	}
	if c.IdleTimeout > c.Lifetime && c.IdleTimeout > 0 && c.Lifetime > 0 {
		c.problem(ps, "idle_timeout", "%s is longer than lifetime (%s)", formatDuration(c.IdleTimeout), formatDuration(c.Lifetime))
	}
}

func (c *Config) checkEnums(ps *Problems) {
	enums := []struct {
		key, val string
		want     []string
	}{
		{"same_site", c.SameSite, []string{"lax", "strict"}},
		{"log_format", c.LogFormat, []string{"text", "json"}},
		{"log_level", c.LogLevel, []string{"debug", "info", "warn", "error"}},
	}
	for _, t := range c.TokenTransports {
		if t != "header" && t != "cookie" {
			c.problem(ps, "token_transports", "want header and/or cookie, got %q", t)
		}
	}
	if c.Tokens && len(c.TokenTransports) == 0 {
		c.problem(ps, "token_transports", "tokens is true but no transport is listed: want header and/or cookie")
	}
	for _, e := range enums {
		ok := false
		for _, w := range e.want {
			ok = ok || e.val == w
		}
		if !ok {
			c.problem(ps, e.key, "want %s, got %q", strings.Join(e.want, " or "), e.val)
		}
	}
}

// checkServe checks what only a server needs: its TLS files, and that
// browsers can keep its cookies and every node names the same issuer.
func (c *Config) checkServe(ps *Problems) {
	useTLS := c.TLSCert != "" || c.TLSKey != ""
	if useTLS && (c.TLSCert == "" || c.TLSKey == "") {
		key := "tls_cert"
		if c.TLSCert != "" {
			key = "tls_key"
		}
		c.problem(ps, key, "--tls-cert and --tls-key (tls_cert, tls_key) go together")
	}
	c.checkExists(ps, "tls_cert", c.TLSCert)
	c.checkExists(ps, "tls_key", c.TLSKey)
	if _, _, err := net.SplitHostPort(c.Addr); err != nil || IsLoopback(c.Addr) {
		return
	}
	httpsProxy := strings.HasPrefix(c.PublicURL, "https://")
	if !useTLS && !c.InsecureCookies && !httpsProxy {
		c.problem(ps, "addr", "refusing to serve plain HTTP on %s: browsers drop Secure cookies there. Use --tls-cert/--tls-key, a public_url https:// behind a TLS proxy, a loopback address, or --insecure-cookies (development only)", c.Addr)
		return
	}
	if c.PublicURL == "" && !c.InsecureCookies {
		c.problem(ps, "public_url", "required when serving on %s (not a loopback address): set --public-url (public_url) to the https:// origin users reach, the same on every node, so that every node names one issuer", c.Addr)
	}
}

// IsLoopback reports whether addr's host is a loopback address or
// localhost (where browsers treat plain HTTP as a secure context).
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsPostgres reports whether a db value names a PostgreSQL database.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// SQLitePath returns the SQLite file a db value names, or "" for a
// PostgreSQL URL; an unsupported scheme is an error.
func SQLitePath(db string) (string, error) {
	switch {
	case IsPostgres(db):
		return "", nil
	case strings.HasPrefix(db, "sqlite:"):
		db = strings.TrimPrefix(db, "sqlite:")
	case strings.Contains(db, "://"):
		scheme, _, _ := strings.Cut(db, "://")
		return "", fmt.Errorf("%s databases are not supported: use a file path, sqlite:PATH or postgres://URL", scheme)
	}
	if db == "" {
		return "", errors.New("empty path: use a file path, sqlite:PATH or postgres://URL")
	}
	return db, nil
}

// checkSessionsURL refuses a sessions value that names no Redis or
// MongoDB.
func checkSessionsURL(s string) error {
	if s == "" {
		return nil
	}
	for _, scheme := range []string{"redis://", "rediss://", "redis+cluster://", "rediss+cluster://"} {
		if strings.HasPrefix(s, scheme) {
			if _, err := url.Parse(s); err != nil && !strings.Contains(scheme, "cluster") {
				return fmt.Errorf("not a valid URL: %s", RedactURL(s))
			}
			return nil
		}
	}
	// MongoDB URLs may list several hosts (h1:27017,h2:27017), which
	// net/url refuses; the driver parses them when the store opens.
	if IsMongo(s) {
		return nil
	}
	scheme, _, ok := strings.Cut(s, "://")
	if !ok {
		scheme = "no scheme"
	}
	return fmt.Errorf("unsupported scheme %q: want redis://, rediss://, redis+cluster://, mongodb:// or mongodb+srv://", scheme)
}

// IsMongo reports whether a sessions value names MongoDB (or a server
// speaking its protocol, such as FerretDB).
func IsMongo(s string) bool {
	return strings.HasPrefix(s, "mongodb://") || strings.HasPrefix(s, "mongodb+srv://")
}

// checkMasterKey checks that s is base64 of 32 bytes.
func checkMasterKey(s string) error {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil {
			if len(raw) != 32 {
				return fmt.Errorf("want base64 of 32 bytes, got %d bytes (make one with: openssl rand -base64 32)", len(raw))
			}
			return nil
		}
	}
	return errors.New("not base64 (make one with: openssl rand -base64 32)")
}
