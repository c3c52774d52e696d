package app

import (
	"context"
	"net/url"

	"github.com/sesame-auth/sesame/factor"
	"github.com/sesame-auth/sesame/server"
)

// secondFactors wires the second factors into the login policy and the
// server: TOTP factors and recovery codes in the durable database (their
// secrets sealed with the master key), passkeys as a second factor, the
// second_factor policy and step_up_max_age. Call it after sc.Passkeys is
// set and before server.New.
func (a *App) secondFactors(sc *server.Config) error {
	c := a.cfg
	a.accounts.FactorPolicy = c.SecondFactor
	sc.StepUpMaxAge = c.StepUpMaxAge
	if pk := sc.Passkeys; pk != nil {
		a.accounts.HasPasskey = func(ctx context.Context, userID string) (bool, error) {
			cs, err := pk.List(ctx, userID)
			return len(cs) > 0, err
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
	f, err := factor.New(factor.Config{Store: store, Sealer: a.master, Issuer: issuer, Clock: a.opts.clock})
	if err != nil {
		return err
	}
	a.accounts.Factors = f
	a.factors = f
	sc.Factors = f
	return nil
}

// Factors returns the TOTP factors and recovery codes service, or nil when
// the durable store keeps none.
func (a *App) Factors() *factor.Service { return a.factors }
