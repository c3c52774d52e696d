package inspect

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/cookie"
)

// Cookie lint thresholds (SEC-05): a session cookie persisting beyond
// Sesame's default remember-me lifetime (30 days) deserves a warning;
// user agents cap every cookie at 400 days.
const (
	sessionPersistWarn = 30 * 24 * time.Hour
	userAgentCap       = 400 * 24 * time.Hour
)

// SetCookie is the decoded form of a Set-Cookie line. The value is never
// shown: only its length, and its decoding when it is a JWT.
type SetCookie struct {
	Name        string `json:"name"`
	ValueLength int    `json:"value_length"`
	// Session says whether the lint treats the cookie as a session
	// credential, and why (its name, or a JWT value).
	Session       bool   `json:"session"`
	SessionReason string `json:"session_reason,omitempty"`
	Path          string `json:"path,omitempty"`
	Domain        string `json:"domain,omitempty"`
	Secure        bool   `json:"secure"`
	HttpOnly      bool   `json:"http_only"`
	// SameSite is "Strict", "Lax", "None", "invalid" or "" (absent).
	SameSite    string `json:"same_site,omitempty"`
	MaxAge      *int   `json:"max_age,omitempty"`
	Expires     string `json:"expires,omitempty"`
	Partitioned bool   `json:"partitioned,omitempty"`
	// Persistent is true when the cookie outlives the browser session;
	// Deletes when the line removes the cookie (Max-Age ≤ 0 or a past
	// Expires).
	Persistent bool `json:"persistent"`
	Deletes    bool `json:"deletes,omitempty"`
	// LifetimeSeconds is Max-Age, or Expires minus now, when persistent.
	LifetimeSeconds *int64   `json:"lifetime_seconds,omitempty"`
	Unknown         []string `json:"unknown_attributes,omitempty"`
	// JWT is the value decoded, when it is a JWT (Sesame's access-token
	// cookie): header and claims, never the signature.
	JWT *JWT `json:"jwt,omitempty"`
}

// CookieHeader is the decoded form of a Cookie request header.
type CookieHeader struct {
	Size    int          `json:"size"`
	Cookies []CookiePair `json:"cookies"`
	// Skipped counts the pairs Sesame's parser skips as malformed.
	Skipped int `json:"skipped"`
}

// CookiePair is one cookie of a Cookie header, without its value.
type CookiePair struct {
	Name        string `json:"name"`
	ValueLength int    `json:"value_length"`
	JWT         *JWT   `json:"jwt,omitempty"`
}

// sessionNameHints are name fragments of session credentials.
var sessionNameHints = []string{"sess", "sid", "auth", "token", "sesame", "login", "jwt", "refresh", "remember", "rt", "at"}

func sessionReason(name, value string) string {
	if looksLikeJWT(value) {
		return "its value is a JWT"
	}
	n := strings.ToLower(name)
	n = strings.TrimPrefix(strings.TrimPrefix(n, "__host-"), "__secure-")
	for _, part := range strings.FieldsFunc(n, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		for _, h := range sessionNameHints {
			if part == h || len(h) > 3 && strings.Contains(part, h) {
				return "its name suggests a session credential"
			}
		}
	}
	return ""
}

// isRefreshName reports whether a cookie name suggests a refresh token.
func isRefreshName(name string) bool {
	n := strings.ToLower(name)
	for _, part := range strings.FieldsFunc(n, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		if part == "rt" || strings.Contains(part, "refresh") {
			return true
		}
	}
	return false
}

func looksLikeJWT(v string) bool {
	return strings.Count(v, ".") == 2 && strings.HasPrefix(v, "eyJ") && isCompactish(v)
}

func inspectSetCookie(line string, now time.Time, l *linter) (*SetCookie, error) {
	hc, err := http.ParseSetCookie(line)
	if err != nil {
		return nil, unreadable("not a valid Set-Cookie line: %s", strings.TrimPrefix(err.Error(), "http: "))
	}
	c := &SetCookie{
		Name: hc.Name, ValueLength: len(hc.Value), Path: hc.Path, Domain: hc.Domain,
		Secure: hc.Secure, HttpOnly: hc.HttpOnly, Partitioned: hc.Partitioned, Expires: hc.RawExpires,
	}
	for _, u := range hc.Unparsed {
		c.Unknown = append(c.Unknown, clean(u))
	}
	c.SessionReason = sessionReason(hc.Name, hc.Value)
	c.Session = c.SessionReason != ""
	switch hc.SameSite {
	case http.SameSiteStrictMode:
		c.SameSite = "Strict"
	case http.SameSiteLaxMode:
		c.SameSite = "Lax"
	case http.SameSiteNoneMode:
		c.SameSite = "None"
	case http.SameSiteDefaultMode:
		c.SameSite = "invalid"
	}
	if hc.MaxAge != 0 {
		ma := hc.MaxAge
		if ma < 0 {
			ma = 0
		}
		c.MaxAge = &ma
	}
	if looksLikeJWT(hc.Value) {
		nl := l.nested("value.", "value: ")
		if j, err := inspectJWT(hc.Value, now, Options{}, nl); err == nil {
			c.JWT = j
			l.merge(nl)
		}
	}
	lintLifetime(c, hc, now, l)
	lintSetCookie(c, hc, l)
	return c, nil
}

func lintLifetime(c *SetCookie, hc *http.Cookie, now time.Time, l *linter) {
	var life time.Duration
	switch {
	case hc.MaxAge < 0:
		c.Deletes = true
	case hc.MaxAge > 0:
		life = time.Duration(hc.MaxAge) * time.Second
		if hc.RawExpires != "" {
			l.add(Info, "SEC-05", "cookie.max-age-and-expires", "both Max-Age and Expires: Max-Age takes precedence")
		}
	case hc.RawExpires != "" && hc.Expires.IsZero():
		l.add(Warning, "SEC-05", "cookie.expires-invalid", "Expires is not an HTTP date; user agents may ignore it or read it differently")
	case hc.RawExpires != "" && !hc.Expires.After(now):
		c.Deletes = true
	case hc.RawExpires != "":
		life = hc.Expires.Sub(now)
	}
	if c.Deletes {
		l.add(Info, "SEC-05", "cookie.deletes", "this line deletes the cookie (Max-Age ≤ 0 or Expires in the past)")
		return
	}
	if life <= 0 {
		return
	}
	c.Persistent = true
	secs := int64(life / time.Second)
	c.LifetimeSeconds = &secs
	switch {
	case life > userAgentCap:
		l.add(Warning, "SEC-05", "cookie.lifetime-cap", "a lifetime of %s: user agents cap cookies at 400 days", relative(life))
	case c.Session && life > sessionPersistWarn:
		l.add(Warning, "SEC-05", "cookie.session-persistent", "a session cookie persisting %s: session cookies end with the browser, and a remember-me cookie lives no longer than the server's absolute session lifetime", relative(life))
	case c.Session:
		l.add(Info, "SEC-05", "cookie.session-persistent", "a persistent session cookie (%s): right only for remember-me, and no longer than the server's absolute session lifetime", relative(life))
	}
}

func lintSetCookie(c *SetCookie, hc *http.Cookie, l *linter) {
	name := hc.Name
	isHost := hasPrefixFold(name, "__Host-")
	isSecure := hasPrefixFold(name, "__Secure-")
	if (isHost && !strings.HasPrefix(name, "__Host-")) || (isSecure && !strings.HasPrefix(name, "__Secure-")) {
		l.add(Warning, "SEC-01", "cookie.prefix-case", "the prefix is not spelled __Host- or __Secure- exactly: user agents match prefixes case-insensitively now, older ones did not")
	}
	switch {
	case isHost:
		if !hc.Secure {
			l.add(Error, "SEC-01", "cookie.host-secure", "a __Host- cookie without Secure: user agents drop it")
		}
		if hc.Domain != "" {
			l.add(Error, "SEC-01", "cookie.host-domain", "a __Host- cookie with Domain: user agents drop it")
		}
		if hc.Path != "/" {
			l.add(Error, "SEC-01", "cookie.host-path", "a __Host- cookie without Path=/: user agents drop it")
		}
	case isSecure:
		if !hc.Secure {
			l.add(Error, "SEC-01", "cookie.secure-prefix", "a __Secure- cookie without Secure: user agents drop it")
		}
	case c.Session && hc.Domain == "":
		l.add(Warning, "SEC-01", "cookie.prefix", "a session cookie without the __Host- prefix: a sibling subdomain or a plain-HTTP page can set or overwrite it")
	case c.Session:
		l.add(Warning, "SEC-01", "cookie.prefix", "a session cookie without the __Secure- prefix: a plain-HTTP page can set or overwrite it")
	default:
		l.add(Info, "SEC-01", "cookie.prefix", "no __Host- or __Secure- prefix: nothing stops another subdomain or a plain-HTTP page from setting it")
	}

	if !hc.Secure && !isHost && !isSecure {
		l.add(Error, "SEC-01", "cookie.secure", "no Secure: the cookie travels over plain HTTP, readable by anyone on the network")
	}
	switch {
	case !hc.HttpOnly && c.Session:
		l.add(Error, "SEC-02", "cookie.httponly", "a session cookie without HttpOnly: any script on the page (an XSS) can read and exfiltrate it")
	case !hc.HttpOnly:
		l.add(Warning, "SEC-02", "cookie.httponly", "no HttpOnly: scripts can read the cookie; fine only for a value the page's script must read")
	}
	switch c.SameSite {
	case "":
		l.add(Error, "SEC-03", "cookie.samesite-missing", "no SameSite: Chrome's Lax default still sends a fresh cookie on cross-site POSTs for 2 minutes (Lax+POST); set Strict or Lax explicitly")
	case "invalid":
		l.add(Error, "SEC-03", "cookie.samesite-invalid", "SameSite has a value user agents do not know: it is ignored, as if absent")
	case "None":
		if !hc.Secure {
			l.add(Error, "SEC-03", "cookie.samesite-none-insecure", "SameSite=None without Secure: user agents drop the cookie")
		}
		sev := Info
		if c.Session {
			sev = Warning
		}
		l.add(sev, "SEC-03", "cookie.samesite-none", "SameSite=None: the cookie goes with every cross-site request, so CSRF protection rests on tokens and Origin checks alone")
	}

	if isRefreshName(name) && (c.SameSite == "Lax" || c.SameSite == "None") {
		l.add(Warning, "SEC-34", "cookie.refresh-samesite", "a refresh-token cookie with SameSite=%s: make it Strict, as no cross-site navigation needs it", c.SameSite)
	}

	if size := len(hc.Name) + len(hc.Value); size > cookie.MaxCookieBytes {
		l.add(Error, "SEC-04", "cookie.size", "name and value are %d bytes: user agents drop cookies over %d", size, cookie.MaxCookieBytes)
	}
	for _, attr := range []struct{ name, value string }{{"Path", hc.Path}, {"Domain", hc.Domain}, {"Expires", hc.RawExpires}} {
		if len(attr.value) > cookie.MaxAttributeBytes {
			l.add(Error, "SEC-04", "cookie.attribute-size", "%s is %d bytes: user agents ignore attribute values over %d", attr.name, len(attr.value), cookie.MaxAttributeBytes)
		}
	}
	if hc.Domain != "" {
		lintDomain(hc.Domain, c.Session, l)
	}
	if hc.Path == "" && !isHost {
		l.add(Info, "RFC 6265bis", "cookie.path-default", "no Path: the cookie is scoped to the directory of the URL that set it")
	}
	for _, u := range hc.Unparsed {
		name, _, _ := strings.Cut(u, "=")
		l.add(Info, "RFC 6265bis", "cookie.unknown-attribute", "attribute %q is not understood and is ignored by user agents", strings.TrimSpace(name))
	}
	if hc.Quoted {
		l.add(Info, "SEC-07", "cookie.quoted", "the value is in double quotes: user agents send the quotes back, and Sesame's parser skips such a value")
	}
}

// lintDomain flags a Domain attribute, which shares the cookie with every
// subdomain, and one so wide user agents refuse it.
func lintDomain(domain string, session bool, l *linter) {
	d := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(domain, "."), "."))
	if net.ParseIP(d) != nil {
		l.add(Info, "SEC-01", "cookie.domain-ip", "Domain is an IP address: the cookie is host-only in effect; omit Domain")
		return
	}
	if !strings.Contains(d, ".") {
		l.add(Error, "SEC-01", "cookie.domain-tld", "Domain=%s is a top-level domain or a bare host name: user agents refuse it, or share the cookie with every site under it", d)
		return
	}
	if isPublicSuffix(d) {
		l.add(Error, "SEC-01", "cookie.domain-public-suffix", "Domain=%s is a public suffix: user agents refuse it, as every site under it could read the cookie", d)
		return
	}
	sev := Info
	if session {
		sev = Warning
	}
	l.add(sev, "SEC-01", "cookie.domain", "Domain=%s sends the cookie to every subdomain of it, any of which can also overwrite it; omit Domain (host-only) unless forward-auth across subdomains needs it", d)
}

// sharedHostingSuffixes are well-known public suffixes of the private
// section of the Public Suffix List: every customer site is a subdomain.
var sharedHostingSuffixes = map[string]bool{
	"github.io": true, "gitlab.io": true, "herokuapp.com": true, "appspot.com": true, "blogspot.com": true,
	"vercel.app": true, "netlify.app": true, "pages.dev": true, "workers.dev": true, "web.app": true,
	"firebaseapp.com": true, "fly.dev": true, "onrender.com": true, "azurewebsites.net": true,
	"cloudfront.net": true, "s3.amazonaws.com": true, "ngrok.io": true, "ngrok-free.app": true,
}

// secondLevelRegistries are labels that, under a two-letter country code,
// form a registry suffix (co.uk, com.au, ac.jp, ...).
var secondLevelRegistries = map[string]bool{
	"co": true, "com": true, "net": true, "org": true, "gov": true, "edu": true, "ac": true, "or": true,
	"ne": true, "go": true, "gob": true, "nic": true, "mil": true, "ltd": true, "plc": true, "sch": true, "gv": true,
}

// isPublicSuffix reports whether d (lower case, no leading dot) is a
// public suffix: a registry's second level under a country code, or a
// well-known shared-hosting suffix. It is a heuristic, not the whole Public
// Suffix List (which user agents apply): a Domain it passes may still be
// refused by a browser, never the other way round.
func isPublicSuffix(d string) bool {
	if sharedHostingSuffixes[d] {
		return true
	}
	labels := strings.Split(d, ".")
	return len(labels) == 2 && len(labels[1]) == 2 && secondLevelRegistries[labels[0]]
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func inspectCookieHeader(line string, now time.Time, l *linter) (*CookieHeader, error) {
	pairs, err := cookie.Parse(line)
	if err != nil {
		l.add(Error, "SEC-04", "cookie.header-size", "the Cookie header is %d bytes: Sesame answers 431 over %d", len(line), cookie.MaxHeaderBytes)
		pairs = nil
	}
	h := &CookieHeader{Size: len(line), Cookies: []CookiePair{}}
	if err != nil {
		return h, nil
	}
	nonEmpty := 0
	for _, p := range strings.Split(line, ";") {
		if strings.TrimSpace(p) != "" {
			nonEmpty++
		}
	}
	if nonEmpty > 0 && len(pairs) == 0 {
		return nil, unreadable("no name=value pair that Sesame's Cookie parser accepts")
	}
	h.Skipped = nonEmpty - len(pairs)
	if h.Skipped > 0 {
		l.add(Warning, "SEC-07", "cookie.malformed-pairs", "%d pair(s) are malformed (no '=', a name that is not a token, a quoted value or bytes outside cookie-octets) and Sesame's parser skips them", h.Skipped)
	}
	seen := map[string]int{}
	for _, p := range pairs {
		cp := CookiePair{Name: p.Name, ValueLength: len(p.Value)}
		seen[p.Name]++
		if seen[p.Name] == 2 {
			l.add(Warning, "SEC-07", "cookie.duplicate", "cookie %q is sent more than once (cookie tossing?): Sesame takes the first; a __Host- name cannot be planted by a sibling subdomain", p.Name)
		}
		if looksLikeJWT(p.Value) {
			nl := l.nested("value.", "cookie "+p.Name+" value: ")
			if j, err := inspectJWT(p.Value, now, Options{}, nl); err == nil {
				cp.JWT = j
				l.merge(nl)
			}
		}
		h.Cookies = append(h.Cookies, cp)
	}
	l.add(Info, "SEC-01", "cookie.request-header", "a Cookie header carries no attributes: inspect the Set-Cookie line to check Secure, HttpOnly, SameSite and Domain")
	return h, nil
}
