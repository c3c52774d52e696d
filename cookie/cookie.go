package cookie

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxMaxAge is the longest [Cookie.MaxAge] accepted: user agents cap a
// cookie's lifetime at 400 days (RFC 6265bis, Max-Age and Expires
// processing), so anything longer would
// be silently shortened.
const MaxMaxAge = 400 * 24 * time.Hour

// Cookie describes a cookie to write with [Write], [Delete] or
// [Cookie.Header]. The zero value of every field is the secure default; only
// Name is required. A Cookie is a plain value and safe to copy and share.
//
// Cookie's String, GoString, LogValue and MarshalJSON methods never print
// Value, so a Cookie holding a session token may be logged.
type Cookie struct {
	// Name is the full name including any prefix, e.g. "__Host-sesame". It
	// is required and must be an HTTP token. Names starting with "__Host-"
	// must keep Secure, Path "/" and no Domain; names starting with
	// "__Secure-" must keep Secure (SEC-01, SEC-34); names starting with
	// "__Http-" or "__Host-Http-" must also keep HttpOnly. Prefixes are
	// matched ignoring case.
	Name string

	// Value must consist of cookie-octets (RFC 6265 §4.1.1): printable
	// ASCII without whitespace, '"', ',', ';' or '\'. It is never quoted.
	// Base64url, hex and [Codec.Encode] output all qualify. Default: empty.
	Value string

	// Path scopes the cookie. Default "/". It must start with '/' and hold
	// only printable ASCII without ';' or ','.
	Path string

	// Domain widens the cookie to a domain and its subdomains. Default:
	// none, a host-only cookie, which is what you want unless you share
	// the cookie across subdomains on purpose. Refused for "__Host-" names.
	Domain string

	// MaxAge is the cookie's lifetime. Default 0: a session
	// (non-persistent) cookie the user agent drops when it closes (SEC-05).
	// A positive MaxAge is written as Max-Age in whole seconds, rounded
	// down but at least 1. Negative values and values over [MaxMaxAge] are
	// refused; use [Delete] to remove a cookie.
	MaxAge time.Duration

	// SameSite controls cross-site sending. Default (the zero value or
	// http.SameSiteDefaultMode): Lax. The attribute is always written
	// explicitly, because user agents that default to Lax still send a
	// cookie without one on cross-site POSTs for two minutes (SEC-03).
	// http.SameSiteNoneMode requires Secure.
	SameSite http.SameSite

	// AllowScript, when true, omits HttpOnly so that page scripts can read
	// the cookie. Default false: HttpOnly is set (SEC-02).
	AllowScript bool

	// Insecure, when true, omits Secure so the cookie also travels over
	// plain HTTP. Default false: Secure is set. Refused for "__Host-" and
	// "__Secure-" names and with SameSite None. Browsers treat localhost
	// as a secure context, so development over http://localhost rarely
	// needs it.
	Insecure bool
}

// deletionExpires is a date in the past for user agents that predate
// Max-Age; agents that know Max-Age ignore Expires.
const deletionExpires = "Thu, 01 Jan 1970 00:00:00 GMT"

// Validate reports whether c can be written: it returns the error [Write]
// and [Cookie.Header] would return, or nil. Call it at set-up to reject a bad
// cookie configuration before the first request.
func (c Cookie) Validate() error {
	if err := c.validate(); err != nil {
		return err
	}
	if err := validateValue(c.Value); err != nil {
		return err
	}
	if n := len(c.Name) + len(c.Value); n > MaxCookieBytes {
		return fmt.Errorf("cookie: %s: name and value are %d bytes, over the %d-byte limit: %w", c.Name, n, MaxCookieBytes, ErrTooLarge)
	}
	if c.MaxAge < 0 {
		return fmt.Errorf("cookie: %s: negative MaxAge %v; use Delete to remove a cookie", c.Name, c.MaxAge)
	}
	if c.MaxAge > MaxMaxAge {
		return fmt.Errorf("cookie: %s: MaxAge %v exceeds the 400-day cap of user agents", c.Name, c.MaxAge)
	}
	return nil
}

// Header validates c and returns the value of its Set-Cookie header line. It
// returns an error, and no header, for any cookie a user agent would reject,
// truncate or mis-scope.
func (c Cookie) Header() (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	var lifetime string
	if c.MaxAge > 0 {
		lifetime = "Max-Age=" + strconv.FormatInt(max(int64(c.MaxAge/time.Second), 1), 10)
	}
	return c.format(c.Value, lifetime), nil
}

// DeleteHeader validates c and returns the Set-Cookie header value that
// removes it: the same name, path, domain and flags, an empty value,
// Max-Age=0 and an Expires in the past. Value and MaxAge are ignored.
func (c Cookie) DeleteHeader() (string, error) {
	if err := c.validate(); err != nil {
		return "", err
	}
	return c.format("", "Max-Age=0; Expires="+deletionExpires), nil
}

// Write validates c and adds its Set-Cookie header to w. On error nothing is
// written.
func Write(w http.ResponseWriter, c Cookie) error {
	h, err := c.Header()
	if err != nil {
		return err
	}
	w.Header().Add("Set-Cookie", h)
	return nil
}

// Delete adds a Set-Cookie header to w that removes the cookie c describes.
// The user agent matches on name, domain and path, so pass the same Name,
// Path and Domain that wrote it; Value and MaxAge are ignored. On error
// nothing is written.
func Delete(w http.ResponseWriter, c Cookie) error {
	h, err := c.DeleteHeader()
	if err != nil {
		return err
	}
	w.Header().Add("Set-Cookie", h)
	return nil
}

// validate checks everything but Value and MaxAge, which deletion ignores.
// It checks the name first, so later messages may print it unquoted.
func (c Cookie) validate() error {
	if err := validateName(c.Name); err != nil {
		return err
	}
	if len(c.Name) > MaxCookieBytes {
		return fmt.Errorf("cookie: name is %d bytes, over the %d-byte limit: %w", len(c.Name), MaxCookieBytes, ErrTooLarge)
	}
	if err := validatePath(c.path()); err != nil {
		return fmt.Errorf("%w (cookie %s)", err, c.Name)
	}
	if c.Domain != "" {
		if err := validateDomain(c.Domain); err != nil {
			return fmt.Errorf("%w (cookie %s)", err, c.Name)
		}
	}
	if _, err := sameSiteAttr(c.SameSite); err != nil {
		return fmt.Errorf("%w (cookie %s)", err, c.Name)
	}
	if c.SameSite == http.SameSiteNoneMode && c.Insecure {
		return fmt.Errorf("cookie: %s: SameSite=None requires Secure", c.Name)
	}
	return c.validatePrefix()
}

// validatePrefix enforces the name prefixes of RFC 6265bis §4.1.3, since a
// user agent silently rejects a prefixed cookie that breaks them.
func (c Cookie) validatePrefix() error {
	if hasPrefixFold(c.Name, hostPrefix) {
		switch {
		case c.Insecure:
			return fmt.Errorf("cookie: %s: a __Host- cookie must be Secure", c.Name)
		case c.Domain != "":
			return fmt.Errorf("cookie: %s: a __Host- cookie must not have a Domain", c.Name)
		case c.path() != "/":
			return fmt.Errorf("cookie: %s: a __Host- cookie must have Path=/ (use __Secure- for a path-scoped cookie)", c.Name)
		}
	}
	if hasPrefixFold(c.Name, securePrefix) && c.Insecure {
		return fmt.Errorf("cookie: %s: a __Secure- cookie must be Secure", c.Name)
	}
	if hasPrefixFold(c.Name, httpPrefix) || hasPrefixFold(c.Name, hostHTTPPrefix) {
		if c.Insecure || c.AllowScript {
			return fmt.Errorf("cookie: %s: an __Http- or __Host-Http- cookie must be Secure and HttpOnly", c.Name)
		}
	}
	return nil
}

func (c Cookie) path() string {
	if c.Path == "" {
		return "/"
	}
	return c.Path
}

func sameSiteAttr(s http.SameSite) (string, error) {
	switch s {
	case 0, http.SameSiteDefaultMode, http.SameSiteLaxMode:
		return "Lax", nil
	case http.SameSiteStrictMode:
		return "Strict", nil
	case http.SameSiteNoneMode:
		return "None", nil
	}
	return "", fmt.Errorf("cookie: unknown SameSite mode %d", s)
}

// format writes the header of an already validated cookie.
func (c Cookie) format(value, lifetime string) string {
	sameSite, _ := sameSiteAttr(c.SameSite)
	var b strings.Builder
	b.Grow(len(c.Name) + len(value) + len(c.path()) + len(c.Domain) + len(lifetime) + 64)
	b.WriteString(c.Name)
	b.WriteByte('=')
	b.WriteString(value)
	b.WriteString("; Path=")
	b.WriteString(c.path())
	if c.Domain != "" {
		b.WriteString("; Domain=")
		b.WriteString(c.Domain)
	}
	if lifetime != "" {
		b.WriteString("; ")
		b.WriteString(lifetime)
	}
	if !c.AllowScript {
		b.WriteString("; HttpOnly")
	}
	if !c.Insecure {
		b.WriteString("; Secure")
	}
	b.WriteString("; SameSite=")
	b.WriteString(sameSite)
	return b.String()
}

const redacted = "REDACTED"

// String describes c for humans with its Value redacted.
func (c Cookie) String() string {
	sameSite, err := sameSiteAttr(c.SameSite)
	if err != nil {
		sameSite = strconv.Itoa(int(c.SameSite))
	}
	return fmt.Sprintf("cookie.Cookie{Name:%q, Value:%s, Path:%q, Domain:%q, MaxAge:%v, SameSite:%s, AllowScript:%t, Insecure:%t}",
		c.Name, redacted, c.Path, c.Domain, c.MaxAge, sameSite, c.AllowScript, c.Insecure)
}

// GoString is String, so that the %#v verb does not print Value either.
func (c Cookie) GoString() string { return c.String() }

// LogValue implements slog.LogValuer with the Value redacted.
func (c Cookie) LogValue() slog.Value {
	sameSite, err := sameSiteAttr(c.SameSite)
	if err != nil {
		sameSite = strconv.Itoa(int(c.SameSite))
	}
	return slog.GroupValue(
		slog.String("name", c.Name),
		slog.String("value", redacted),
		slog.String("path", c.Path),
		slog.String("domain", c.Domain),
		slog.Duration("max_age", c.MaxAge),
		slog.String("same_site", sameSite),
		slog.Bool("allow_script", c.AllowScript),
		slog.Bool("insecure", c.Insecure),
	)
}

// MarshalJSON encodes c with its Value redacted, for slog's JSON handler,
// which encodes a slice of Cookies with encoding/json rather than LogValue.
func (c Cookie) MarshalJSON() ([]byte, error) {
	type shown struct {
		Name, Value, Path, Domain string
		MaxAge                    time.Duration
		SameSite                  http.SameSite
		AllowScript, Insecure     bool
	}
	return json.Marshal(shown{c.Name, redacted, c.Path, c.Domain, c.MaxAge, c.SameSite, c.AllowScript, c.Insecure})
}

var _ slog.LogValuer = Cookie{}
