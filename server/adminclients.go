package server

import (
	"context"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/oauth"
)

// AdminClient is one OAuth client as the admin page lists it: never its
// secret nor the secret's hash.
type AdminClient struct {
	ID                   string
	Name                 string
	Public               bool
	FirstParty           bool
	Configured           bool // from the configuration file (clients)
	RedirectURIs         []string
	BackchannelLogoutURI string
}

// adminClients lists the provider's clients for the admin page (none
// without a provider, Config.OAuth).
func (s *Server) adminClients(ctx context.Context) ([]AdminClient, error) {
	if s.cfg.OAuth == nil || s.cfg.OAuth.Config().Registry == nil {
		return nil, nil
	}
	list, err := s.cfg.OAuth.Config().Registry.List(ctx)
	if err != nil {
		return nil, sesame.Wrap(sesame.EUnavailable, err, "client store unavailable")
	}
	out := make([]AdminClient, 0, len(list))
	for _, c := range list {
		out = append(out, adminClient(c))
	}
	return out, nil
}

func adminClient(c *oauth.Client) AdminClient {
	return AdminClient{ID: c.ID, Name: c.Name, Public: c.Public, FirstParty: c.FirstParty, Configured: c.FromConfig,
		RedirectURIs: c.RedirectURIs, BackchannelLogoutURI: c.BackchannelLogoutURI}
}
