package config

import (
	"net/url"
	"strings"
)

// checkPasskeys checks passkey_rp_id: a host name equal to public_url's
// host or a parent domain of it (WebAuthn refuses any other RP ID).
func (c *Config) checkPasskeys(ps *Problems) {
	id := c.PasskeyRPID
	if id == "" {
		return
	}
	if strings.ContainsAny(id, "/:@ ") || strings.Trim(id, ".") != id || !strings.Contains(id, ".") && id != "localhost" {
		c.problem(ps, "passkey_rp_id", "%q: want a domain name such as example.com, without scheme, port or path", id)
		return
	}
	if c.PublicURL == "" {
		return
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil {
		return // public_url's own problem
	}
	host := strings.ToLower(u.Hostname())
	id = strings.ToLower(id)
	if host != id && !strings.HasSuffix(host, "."+id) {
		c.problem(ps, "passkey_rp_id", "%q is neither public_url's host %q nor a parent domain of it", c.PasskeyRPID, host)
	}
}
