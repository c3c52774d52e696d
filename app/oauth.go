package app

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/token"
)

// The OAuth 2 / OpenID Connect wiring: the client registry (the
// configuration's clients and the durable store's), and for a server with
// oidc on, the provider mounted by the HTTP server.

// OAuthStore is the durable store's oauth.Store: registered clients,
// codes, consents and the back-channel logout outbox. It is never Redis:
// they must survive a restart.
func (a *App) OAuthStore() oauth.Store {
	if a.metrics == nil {
		return a.durable
	}
	if a.meteredOAuth == nil {
		a.meteredOAuth = newMeteredOAuth(a.durable, a.metrics)
	}
	return a.meteredOAuth
}

// Clients is the client registry: the configuration's clients (FromConfig
// set) and the durable store's. A command's registry holds the configured
// clients without their secrets (it does not read the nodes' secret
// files).
func (a *App) Clients() *oauth.Registry { return a.clients }

// buildRegistry builds the client registry. A server reads every
// configured client's secret and JWKS files; a command does not.
func (a *App) buildRegistry() error {
	clients, err := oauthClients(a.cfg, !a.opts.command)
	if err != nil {
		return err
	}
	reg, err := oauth.NewRegistry(clients, a.OAuthStore())
	if err != nil {
		return err
	}
	a.clients = reg
	return nil
}

// oauthClients converts the configuration's clients; readFiles reads each
// one's secret_file and jwks_file (checked by config for a server).
func oauthClients(cfg *config.Config, readFiles bool) ([]*oauth.Client, error) {
	out := make([]*oauth.Client, 0, len(cfg.Clients))
	for i := range cfg.Clients {
		cc := &cfg.Clients[i]
		c := &oauth.Client{
			ID: cc.ID, Name: cc.Name, Public: cc.Public, AuthMethod: cc.AuthMethod,
			RedirectURIs: cc.RedirectURIs, PostLogoutRedirectURIs: cc.PostLogoutRedirectURIs,
			BackchannelLogoutURI: cc.BackchannelLogoutURI,
			GrantTypes:           cc.GrantTypes, Scopes: cc.Scopes, Resources: cc.Resources,
			FirstParty: cc.FirstParty, IDTokenAlg: jose.Algorithm(cc.IDTokenAlg),
		}
		if c.Name == "" {
			c.Name = c.ID
		}
		if readFiles {
			h, err := cc.ReadSecretHash()
			if err != nil {
				return nil, fmt.Errorf("clients[%d] (%s): %v", i, cc.ID, err)
			}
			jwks, err := cc.ReadJWKS()
			if err != nil {
				return nil, fmt.Errorf("clients[%d] (%s): %v", i, cc.ID, err)
			}
			c.SecretHash, c.JWKS = h, jwks
		} else if cc.SecretSHA256 != "" {
			c.SecretHash, _ = hex.DecodeString(cc.SecretSHA256) // checked by config
		}
		out = append(out, c)
	}
	return out, nil
}

// OAuth is the OAuth 2 authorization server and OpenID Provider, or nil
// (oidc off, or a command).
func (a *App) OAuth() *oauth.Provider { return a.provider }

// buildProvider builds the provider of a server with oidc on. It shares
// the token service (built for it even when tokens is off, when the
// first-party token endpoints stay off) and the keyring (one key per
// signing algorithm: ID tokens use the client's). The server gives it its
// pages (server.Config.OAuth).
func (a *App) buildProvider(issuer string, tokens *token.Service) error {
	if !a.cfg.OIDC {
		return nil
	}
	p, err := oauth.New(oauth.Config{
		Issuer: issuer, Registry: a.clients, Store: a.OAuthStore(), Sessions: a.sessions, Tokens: tokens,
		Accounts: a.accounts, Keys: a.ring, Resources: a.cfg.Resources,
		RequestKey: a.master.Derive("oauth request", 32),
		Clock:      a.opts.clock, Events: a.opts.events, Logger: a.logger,
	})
	if err != nil {
		return err
	}
	a.provider = p
	return nil
}

// oauthCleanupEvery is how often expired authorization codes and used
// client-assertion IDs are deleted.
const oauthCleanupEvery = time.Minute

// startOAuth runs the back-channel logout dispatcher and the cleanup of
// expired codes and used assertion IDs (by the App's clock: the store
// reads none) until ctx ends.
func (a *App) startOAuth(ctx context.Context) {
	if a.provider == nil {
		return
	}
	a.spawn(func() { a.provider.Start(ctx) }) // returns once its deliveries in flight are done
	store, clock := a.OAuthStore(), a.Clock()
	a.spawn(func() {
		t := time.NewTicker(oauthCleanupEvery)
		defer t.Stop()
		for {
			if err := store.DeleteExpiredOAuth(ctx, clock.Now()); err != nil && ctx.Err() == nil {
				a.logger.Warn("oauth: deleting expired codes failed; retried in a minute", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

// userGroups reads a user's groups for the groups claim (groups_claim).
func (a *App) userGroups(ctx context.Context, userID string) ([]string, error) {
	u, err := a.durable.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	return u.Groups, nil
}
