package oauth

import (
	"context"
	"time"
)

// Hooks for the back-channel tests of package oauth_test (which can
// import memstore, itself an importer of oauth).

type BackchannelTuning = backchannelTuning

var DefaultBackchannelTuning = defaultBackchannelTuning

const BackchannelCursor = backchannelCursor

// NewBackchannelTestProvider returns a provider over cfg without New's
// checks: the back-channel dispatcher needs only Issuer, Registry, Store,
// Sessions, Keys, Clock, Events, Logger and HTTPClient.
func NewBackchannelTestProvider(cfg Config) *Provider { return &Provider{cfg: cfg} }

func (p *Provider) RunBackchannel(ctx context.Context, tu BackchannelTuning) {
	p.runBackchannel(ctx, tu)
}

func (p *Provider) TrackSession(ctx context.Context, client *Client, sid, userID string) error {
	return p.trackSession(ctx, client, sid, userID)
}

func (p *Provider) LogoutToken(c *Client, userID, sid string) (string, error) {
	return p.logoutToken(c, userID, sid)
}

func (tu *backchannelTuning) NominalBackoff(attempts int) time.Duration {
	return tu.nominalBackoff(attempts)
}
func (tu *backchannelTuning) Backoff(attempts int) time.Duration { return tu.backoff(attempts) }
func (tu *backchannelTuning) ScheduleSpan(attempts int) time.Duration {
	return tu.scheduleSpan(attempts)
}
