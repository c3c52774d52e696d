package app

import (
	"net/netip"
	"net/url"

	"github.com/sesame-auth/sesame/passkey"
)

// passkeys returns the WebAuthn service of the server, or nil when
// passkeys are off. Passkeys, their user handles and ceremony state live in
// the durable database (every node sees a ceremony another began); the
// relying party is the public URL, or passkey_rp_id.
func (a *App) passkeys() (*passkey.Service, error) {
	c := a.cfg
	if !c.Passkeys {
		return nil, nil
	}
	store, ok := a.durable.(passkey.Store)
	if !ok {
		return nil, nil
	}
	public := c.PublicURL
	if public == "" {
		public = c.EffectiveIssuer()
	}
	if u, err := url.Parse(public); err == nil && c.PasskeyRPID == "" {
		if _, err := netip.ParseAddr(u.Hostname()); err == nil {
			// WebAuthn scopes credentials to a domain name; browsers refuse
			// an IP address as the relying party.
			a.logger.Info("passkeys are off: public_url's host is an IP address, and WebAuthn needs a domain name (use localhost for development)", "public_url", public)
			return nil, nil
		}
	}
	return passkey.New(passkey.Config{Store: store, PublicURL: public, RPID: c.PasskeyRPID})
}
