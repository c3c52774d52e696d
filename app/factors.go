package app

import (
	"context"
	"errors"
	"net/url"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/passkey"

	"github.com/sesame-auth/sesame/factor"
	"github.com/sesame-auth/sesame/server"
)

// wireFactors gives the login policy its second factors, for the server
// and the operator commands alike: TOTP factors and recovery codes in the
// durable database (their secrets sealed with the master key), passkey
// removal for an administrator's reset, and the second_factor policy.
func (a *App) wireFactors() error {
	c := a.cfg
	a.accounts.FactorPolicy = c.SecondFactor
	if ps, ok := a.durable.(passkey.Store); ok {
		a.accounts.RemovePasskeys = func(ctx context.Context, userID string) (int, error) {
			cs, err := ps.Passkeys(ctx, userID)
			if err != nil {
				return 0, err
			}
			n := 0
			for _, c := range cs {
				if err := ps.DeletePasskey(ctx, userID, c.ID); err != nil && !errors.Is(err, sesame.ErrNotFound) {
					return n, err
				}
				n++
			}
			return n, nil
		}
	}
	store, ok := a.durable.(factor.Store)
	if !ok {
		return nil
	}
	issuer := "Sesame"
	public := c.PublicURL
	if public == "" {
		public = c.EffectiveIssuer()
	}
	if u, err := url.Parse(public); err == nil && u.Hostname() != "" {
		issuer = u.Hostname()
	}
	f, err := factor.New(factor.Config{Store: store, Sealer: a.master, Issuer: issuer, Clock: a.opts.clock,
		RecoveryKey: a.master.Derive("recovery codes", 32)})
	if err != nil {
		return err
	}
	a.accounts.Factors = f
	a.factors = f
	return nil
}

// secondFactors completes the server's configuration: its factor service,
// step_up_max_age, and passkeys as second factors when passkeys are on
// (off, a user's passkeys are no factor they could give). Call it after
// sc.Passkeys is set and before server.New.
func (a *App) secondFactors(sc *server.Config) {
	sc.StepUpMaxAge = a.cfg.StepUpMaxAge
	sc.Factors = a.factors
	if pk := sc.Passkeys; pk != nil {
		a.accounts.HasPasskey = func(ctx context.Context, userID string) (bool, error) {
			cs, err := pk.List(ctx, userID)
			return len(cs) > 0, err
		}
	}
}

// Factors returns the TOTP factors and recovery codes service, or nil when
// the durable store keeps none.
func (a *App) Factors() *factor.Service { return a.factors }
