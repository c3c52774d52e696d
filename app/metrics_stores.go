package app

import (
	"context"
	"time"

	"github.com/sesame-auth/sesame/internal/cleanup"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/metrics"
	"github.com/sesame-auth/sesame/oauth"
)

// The store calls of the OAuth provider (oauth.Store), of the signing
// keys (keyring.Store) and of the periodic cleanups, timed like the
// session and user calls (metrics.go): operations oauth_*, key_* and
// cleanup_*.

// keyStore is the keyring's store: a.durable, instrumented when metrics
// are on.
func (a *App) keyStore() keyring.Store {
	if a.metrics == nil {
		return a.durable
	}
	return newMeteredKeys(a.durable, a.metrics)
}

type meteredKeys struct {
	keyring.Store
	insert, list, retire, del *metrics.StoreOp
}

func newMeteredKeys(s keyring.Store, m *metrics.Metrics) *meteredKeys {
	return &meteredKeys{Store: s, insert: m.StoreOp("key_insert"), list: m.StoreOp("key_list"),
		retire: m.StoreOp("key_retire"), del: m.StoreOp("key_delete")}
}

func (k *meteredKeys) InsertKey(ctx context.Context, r *keyring.Record) error {
	t := time.Now()
	err := k.Store.InsertKey(ctx, r)
	k.insert.Done(t, err)
	return err
}

func (k *meteredKeys) ListKeys(ctx context.Context) ([]*keyring.Record, error) {
	t := time.Now()
	x, err := k.Store.ListKeys(ctx)
	k.list.Done(t, err)
	return x, err
}

func (k *meteredKeys) RetireKey(ctx context.Context, kid string, at time.Time) error {
	t := time.Now()
	err := k.Store.RetireKey(ctx, kid, at)
	k.retire.Done(t, err)
	return err
}

func (k *meteredKeys) DeleteKey(ctx context.Context, kid string) error {
	t := time.Now()
	err := k.Store.DeleteKey(ctx, kid)
	k.del.Done(t, err)
	return err
}

// meteredOAuth times every call of the OAuth provider's store.
type meteredOAuth struct {
	oauth.Store
	createClient, updateClient, client, listClients, deleteClient *metrics.StoreOp
	createCode, redeemCode                                        *metrics.StoreOp
	saveConsent, consent, deleteConsent                           *metrics.StoreOp
	addTarget, sessionsEnded, claimLogouts, retryLogout           *metrics.StoreOp
	deleteLogout, targets, cursor, setCursor, useOnce, expired    *metrics.StoreOp
}

func newMeteredOAuth(s oauth.Store, m *metrics.Metrics) *meteredOAuth {
	return &meteredOAuth{Store: s,
		createClient: m.StoreOp("oauth_client_create"), updateClient: m.StoreOp("oauth_client_update"),
		client: m.StoreOp("oauth_client"), listClients: m.StoreOp("oauth_client_list"), deleteClient: m.StoreOp("oauth_client_delete"),
		createCode: m.StoreOp("oauth_code_create"), redeemCode: m.StoreOp("oauth_code_redeem"),
		saveConsent: m.StoreOp("oauth_consent_save"), consent: m.StoreOp("oauth_consent"), deleteConsent: m.StoreOp("oauth_consent_delete"),
		addTarget: m.StoreOp("oauth_logout_add"), sessionsEnded: m.StoreOp("oauth_logout_sessions_ended"),
		claimLogouts: m.StoreOp("oauth_logout_claim"), retryLogout: m.StoreOp("oauth_logout_retry"),
		deleteLogout: m.StoreOp("oauth_logout_delete"), targets: m.StoreOp("oauth_logout_list"),
		cursor: m.StoreOp("oauth_cursor"), setCursor: m.StoreOp("oauth_cursor_set"), useOnce: m.StoreOp("oauth_use_once"),
		expired: m.StoreOp("cleanup_oauth"),
	}
}

func (s *meteredOAuth) CreateClient(ctx context.Context, c *oauth.Client) error {
	t := time.Now()
	err := s.Store.CreateClient(ctx, c)
	s.createClient.Done(t, err)
	return err
}

func (s *meteredOAuth) UpdateClient(ctx context.Context, c *oauth.Client) error {
	t := time.Now()
	err := s.Store.UpdateClient(ctx, c)
	s.updateClient.Done(t, err)
	return err
}

func (s *meteredOAuth) Client(ctx context.Context, id string) (*oauth.Client, error) {
	t := time.Now()
	x, err := s.Store.Client(ctx, id)
	s.client.Done(t, err)
	return x, err
}

func (s *meteredOAuth) ListClients(ctx context.Context) ([]*oauth.Client, error) {
	t := time.Now()
	x, err := s.Store.ListClients(ctx)
	s.listClients.Done(t, err)
	return x, err
}

func (s *meteredOAuth) DeleteClient(ctx context.Context, id string) error {
	t := time.Now()
	err := s.Store.DeleteClient(ctx, id)
	s.deleteClient.Done(t, err)
	return err
}

func (s *meteredOAuth) CreateCode(ctx context.Context, c *oauth.Code) error {
	t := time.Now()
	err := s.Store.CreateCode(ctx, c)
	s.createCode.Done(t, err)
	return err
}

func (s *meteredOAuth) RedeemCode(ctx context.Context, h [32]byte, at time.Time) (*oauth.Code, error) {
	t := time.Now()
	x, err := s.Store.RedeemCode(ctx, h, at)
	s.redeemCode.Done(t, err)
	return x, err
}

func (s *meteredOAuth) SaveConsent(ctx context.Context, c *oauth.Consent) error {
	t := time.Now()
	err := s.Store.SaveConsent(ctx, c)
	s.saveConsent.Done(t, err)
	return err
}

func (s *meteredOAuth) Consent(ctx context.Context, userID, clientID string) (*oauth.Consent, error) {
	t := time.Now()
	x, err := s.Store.Consent(ctx, userID, clientID)
	s.consent.Done(t, err)
	return x, err
}

func (s *meteredOAuth) DeleteConsent(ctx context.Context, userID, clientID string) error {
	t := time.Now()
	err := s.Store.DeleteConsent(ctx, userID, clientID)
	s.deleteConsent.Done(t, err)
	return err
}

func (s *meteredOAuth) AddLogoutTarget(ctx context.Context, x *oauth.LogoutTarget) error {
	t := time.Now()
	err := s.Store.AddLogoutTarget(ctx, x)
	s.addTarget.Done(t, err)
	return err
}

func (s *meteredOAuth) SessionsEnded(ctx context.Context, ids []string, at time.Time) (int, error) {
	t := time.Now()
	n, err := s.Store.SessionsEnded(ctx, ids, at)
	s.sessionsEnded.Done(t, err)
	return n, err
}

func (s *meteredOAuth) ClaimLogouts(ctx context.Context, now, until time.Time, limit int) ([]*oauth.LogoutTarget, error) {
	t := time.Now()
	x, err := s.Store.ClaimLogouts(ctx, now, until, limit)
	s.claimLogouts.Done(t, err)
	return x, err
}

func (s *meteredOAuth) RetryLogout(ctx context.Context, sessionID, clientID string, due time.Time, lastError string) error {
	t := time.Now()
	err := s.Store.RetryLogout(ctx, sessionID, clientID, due, lastError)
	s.retryLogout.Done(t, err)
	return err
}

func (s *meteredOAuth) DeleteLogout(ctx context.Context, sessionID, clientID string) error {
	t := time.Now()
	err := s.Store.DeleteLogout(ctx, sessionID, clientID)
	s.deleteLogout.Done(t, err)
	return err
}

func (s *meteredOAuth) LogoutTargets(ctx context.Context, after string, limit int) ([]*oauth.LogoutTarget, error) {
	t := time.Now()
	x, err := s.Store.LogoutTargets(ctx, after, limit)
	s.targets.Done(t, err)
	return x, err
}

func (s *meteredOAuth) Cursor(ctx context.Context, name string) (int64, error) {
	t := time.Now()
	x, err := s.Store.Cursor(ctx, name)
	s.cursor.Done(t, err)
	return x, err
}

func (s *meteredOAuth) SetCursor(ctx context.Context, name string, pos int64) error {
	t := time.Now()
	err := s.Store.SetCursor(ctx, name, pos)
	s.setCursor.Done(t, err)
	return err
}

func (s *meteredOAuth) UseOnce(ctx context.Context, key string, exp time.Time) error {
	t := time.Now()
	err := s.Store.UseOnce(ctx, key, exp)
	s.useOnce.Done(t, err)
	return err
}

func (s *meteredOAuth) DeleteExpiredOAuth(ctx context.Context, now time.Time) error {
	t := time.Now()
	err := s.Store.DeleteExpiredOAuth(ctx, now)
	s.expired.Done(t, err)
	return err
}

// cleanupContext is ctx for a store's own cleanup loop (RunCleanup, which
// runs internal/cleanup.Loop): each round is timed as operation op.
func (a *App) cleanupContext(ctx context.Context, op string) context.Context {
	if a.metrics == nil {
		return ctx
	}
	o := a.metrics.StoreOp(op)
	return cleanup.WithObserver(ctx, o.Done)
}

// meterCleanup times one cleanup call as operation op (nil metrics: not).
func (a *App) meterCleanup(op string) func(start time.Time, err error) {
	if a.metrics == nil {
		return func(time.Time, error) {}
	}
	return a.metrics.StoreOp(op).Done
}
