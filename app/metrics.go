package app

import (
	"context"
	"net/http"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/metrics"
	"github.com/sesame-auth/sesame/server"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// MetricsHandler serves the node's Prometheus metrics at GET /metrics
// (every other path 404), or is nil when metrics_addr is unset or for a
// command. Serve it on the metrics_addr listener only: the public
// handler never serves /metrics.
func (a *App) MetricsHandler() http.Handler {
	if a.metrics == nil {
		return nil
	}
	return a.metrics.Handler()
}

// Metrics is the node's metrics, or nil when metrics_addr is unset.
func (a *App) Metrics() *metrics.Metrics { return a.metrics }

// setupMetrics builds the metrics of a server whose configuration has a
// metrics_addr, before any component: every component then gets the
// counting event sink.
func (a *App) setupMetrics() {
	if a.cfg.MetricsAddr == "" || a.opts.command {
		return
	}
	a.metrics = metrics.New()
	a.opts.events = a.metrics.Events(a.opts.events)
}

// meterServer gives the server its request metrics and a hashing gate
// whose state is read at scrape time, and adds the session view's
// metrics.
func (a *App) meterServer(sc *server.Config) {
	if a.metrics == nil {
		return
	}
	sc.Metrics = a.metrics
	if sc.Hashing == nil {
		sc.Hashing = guard.NewHashLimiter(guard.HashConfig{}) // the server's default
	}
	a.metrics.WatchHashing(sc.Hashing.Stats)
	a.metrics.WatchSessions(a.sessions.ViewStats)
}

// stateStore is the session-state store the components use: a.state,
// instrumented when metrics are on.
func (a *App) stateStore() StateStore {
	if a.metrics == nil {
		return a.state
	}
	if a.meteredState == nil {
		a.meteredState = newMeteredState(a.state, a.metrics)
	}
	return a.meteredState
}

// userStore is the user store of the account service: a.durable,
// instrumented when metrics are on.
func (a *App) userStore() sesame.UserStore {
	if a.metrics == nil {
		return a.durable
	}
	return newMeteredUsers(a.durable, a.metrics)
}

// meteredState times every call of the session, refresh token and
// throttle stores (all of session.Store, token.Store and guard.Store: the
// request and login paths). The expiry cleanup is timed per round
// (metrics_stores.go); the notifier is reached through a.state directly
// and is not measured.
type meteredState struct {
	StateStore
	byToken, byID, create, update, touch, del, list, delUser, changes *metrics.StoreOp
	refCreate, refByHash, refRedeem, refDelFamily                     *metrics.StoreOp
	thrFail, thrGet, thrReset                                         *metrics.StoreOp
}

func newMeteredState(s StateStore, m *metrics.Metrics) *meteredState {
	return &meteredState{StateStore: s,
		byToken: m.StoreOp("session_by_token"), byID: m.StoreOp("session_by_id"),
		create: m.StoreOp("session_create"), update: m.StoreOp("session_update"),
		touch: m.StoreOp("session_touch"), del: m.StoreOp("session_delete"),
		list: m.StoreOp("session_list_by_user"), delUser: m.StoreOp("session_delete_by_user"),
		changes:   m.StoreOp("session_changes"),
		refCreate: m.StoreOp("refresh_create"), refByHash: m.StoreOp("refresh_by_hash"),
		refRedeem: m.StoreOp("refresh_redeem"), refDelFamily: m.StoreOp("refresh_delete_family"),
		thrFail: m.StoreOp("throttle_fail"), thrGet: m.StoreOp("throttle_get"), thrReset: m.StoreOp("throttle_reset"),
	}
}

func (s *meteredState) Create(ctx context.Context, x *sesame.Session) error {
	t := time.Now()
	err := s.StateStore.Create(ctx, x)
	s.create.Done(t, err)
	return err
}

func (s *meteredState) ByToken(ctx context.Context, h [32]byte) (*sesame.Session, error) {
	t := time.Now()
	x, err := s.StateStore.ByToken(ctx, h)
	s.byToken.Done(t, err)
	return x, err
}

func (s *meteredState) ByID(ctx context.Context, id string) (*sesame.Session, error) {
	t := time.Now()
	x, err := s.StateStore.ByID(ctx, id)
	s.byID.Done(t, err)
	return x, err
}

func (s *meteredState) Update(ctx context.Context, x *sesame.Session) error {
	t := time.Now()
	err := s.StateStore.Update(ctx, x)
	s.update.Done(t, err)
	return err
}

func (s *meteredState) Touch(ctx context.Context, id string, at time.Time) error {
	t := time.Now()
	err := s.StateStore.Touch(ctx, id, at)
	s.touch.Done(t, err)
	return err
}

func (s *meteredState) Delete(ctx context.Context, id string) (bool, error) {
	t := time.Now()
	ok, err := s.StateStore.Delete(ctx, id)
	s.del.Done(t, err)
	return ok, err
}

func (s *meteredState) ListByUser(ctx context.Context, userID string) ([]*sesame.Session, error) {
	t := time.Now()
	x, err := s.StateStore.ListByUser(ctx, userID)
	s.list.Done(t, err)
	return x, err
}

func (s *meteredState) DeleteByUser(ctx context.Context, userID, except string) ([]string, error) {
	t := time.Now()
	x, err := s.StateStore.DeleteByUser(ctx, userID, except)
	s.delUser.Done(t, err)
	return x, err
}

func (s *meteredState) Changes(ctx context.Context, after int64, limit int) ([]session.Change, int64, error) {
	t := time.Now()
	x, oldest, err := s.StateStore.Changes(ctx, after, limit)
	s.changes.Done(t, err)
	return x, oldest, err
}

func (s *meteredState) CreateRefresh(ctx context.Context, r *token.Refresh) error {
	t := time.Now()
	err := s.StateStore.CreateRefresh(ctx, r)
	s.refCreate.Done(t, err)
	return err
}

func (s *meteredState) RefreshByHash(ctx context.Context, h [32]byte) (*token.Refresh, error) {
	t := time.Now()
	x, err := s.StateStore.RefreshByHash(ctx, h)
	s.refByHash.Done(t, err)
	return x, err
}

func (s *meteredState) RedeemRefresh(ctx context.Context, h [32]byte, at time.Time, next *token.Refresh) error {
	t := time.Now()
	err := s.StateStore.RedeemRefresh(ctx, h, at, next)
	s.refRedeem.Done(t, err)
	return err
}

func (s *meteredState) DeleteFamily(ctx context.Context, familyID string) error {
	t := time.Now()
	err := s.StateStore.DeleteFamily(ctx, familyID)
	s.refDelFamily.Done(t, err)
	return err
}

func (s *meteredState) Fail(ctx context.Context, now time.Time, counters ...guard.Counter) ([]guard.State, error) {
	t := time.Now()
	x, err := s.StateStore.Fail(ctx, now, counters...)
	s.thrFail.Done(t, err)
	return x, err
}

func (s *meteredState) Get(ctx context.Context, now time.Time, keys ...string) ([]guard.State, error) {
	t := time.Now()
	x, err := s.StateStore.Get(ctx, now, keys...)
	s.thrGet.Done(t, err)
	return x, err
}

func (s *meteredState) Reset(ctx context.Context, keys ...string) error {
	t := time.Now()
	err := s.StateStore.Reset(ctx, keys...)
	s.thrReset.Done(t, err)
	return err
}

// meteredUsers times the user store calls of the login, sign-up and
// session paths (UserByName, UserByID, CreateUser, UpdateUser). Not
// wrapped: ChangeGroups and ListUsers (admin pages). The signing keys and
// the OAuth store are wrapped in metrics_stores.go; the identity is
// reached directly.
type meteredUsers struct {
	sesame.UserStore
	byName, byID, create, update *metrics.StoreOp
}

func newMeteredUsers(u sesame.UserStore, m *metrics.Metrics) *meteredUsers {
	return &meteredUsers{UserStore: u, byName: m.StoreOp("user_by_name"), byID: m.StoreOp("user_by_id"),
		create: m.StoreOp("user_create"), update: m.StoreOp("user_update")}
}

func (u *meteredUsers) UserByName(ctx context.Context, name string) (*sesame.User, error) {
	t := time.Now()
	x, err := u.UserStore.UserByName(ctx, name)
	u.byName.Done(t, err)
	return x, err
}

func (u *meteredUsers) UserByID(ctx context.Context, id string) (*sesame.User, error) {
	t := time.Now()
	x, err := u.UserStore.UserByID(ctx, id)
	u.byID.Done(t, err)
	return x, err
}

func (u *meteredUsers) CreateUser(ctx context.Context, x *sesame.User) error {
	t := time.Now()
	err := u.UserStore.CreateUser(ctx, x)
	u.create.Done(t, err)
	return err
}

func (u *meteredUsers) UpdateUser(ctx context.Context, x *sesame.User) error {
	t := time.Now()
	err := u.UserStore.UpdateUser(ctx, x)
	u.update.Done(t, err)
	return err
}
