package config

import (
	"net/url"
	"strings"

	"github.com/sesame-auth/sesame/authz"
)

// The forward-auth keys: cookie_domain, return_domains, forward_headers
// and forward_assertion.

// ForwardHeaderFields are the fields forward_headers can rename.
var ForwardHeaderFields = []string{"user", "groups", "name", "email"}

// ForwardHeader returns the header forward_headers gives field ("user",
// "groups", "name" or "email"): "" when not renamed (the default), "-"
// when left out.
func (c *Config) ForwardHeader(field string) string {
	out := ""
	for _, item := range c.ForwardHeaders {
		f, h, _ := strings.Cut(item, "=")
		if strings.TrimSpace(f) == field {
			out = strings.TrimSpace(h)
			if out == "" {
				out = "-"
			}
		}
	}
	return out
}

// EffectiveReturnDomains are the hosts the login page may send a user
// back to: return_domains, and cookie_domain with its subdomains.
func (c *Config) EffectiveReturnDomains() []string {
	out := append([]string(nil), c.ReturnDomains...)
	if c.CookieDomain != "" {
		out = append(out, "."+strings.TrimPrefix(c.CookieDomain, "."))
	}
	return out
}

func (c *Config) checkForward(ps *Problems) {
	if d := c.CookieDomain; d != "" {
		name := strings.TrimPrefix(strings.ToLower(d), ".")
		if !isDomainName(name) {
			c.problem(ps, "cookie_domain", "%q: want a domain name such as example.com, without scheme, port or path", d)
		} else if u, err := url.Parse(c.PublicURL); c.PublicURL != "" && err == nil {
			host := strings.ToLower(u.Hostname())
			if host != name && !strings.HasSuffix(host, "."+name) {
				c.problem(ps, "cookie_domain", "%q does not cover public_url's host %s: browsers would refuse the cookie", d, host)
			}
		}
	}
	for _, d := range c.ReturnDomains {
		name := strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(d), "*."), ".")
		if !isDomainName(name) {
			c.problem(ps, "return_domains", "%q: want a host name (wiki.example.com), *.example.com or .example.com, without scheme, port or path", d)
		}
	}
	seen := map[string]bool{}
	for _, item := range c.ForwardHeaders {
		f, h, ok := strings.Cut(item, "=")
		f, h = strings.TrimSpace(f), strings.TrimSpace(h)
		known := false
		for _, k := range ForwardHeaderFields {
			known = known || f == k
		}
		switch {
		case !ok || !known:
			c.problem(ps, "forward_headers", "%q: want FIELD=Header-Name with FIELD one of user, groups, name, email", item)
		case seen[f]:
			c.problem(ps, "forward_headers", "%s is renamed twice", f)
		case h != "" && !isHeaderToken(h):
			c.problem(ps, "forward_headers", "%q: %q is not a header name", item, h)
		}
		seen[f] = true
	}
}

// isDomainName accepts an ASCII host name: letters, digits, '-' and '.',
// not starting or ending with a dot.
func isDomainName(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// isHeaderToken reports whether s is an RFC 9110 token of at most 64
// characters.
func isHeaderToken(s string) bool { return len(s) <= 64 && authz.IsToken(s) }
