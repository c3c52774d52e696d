package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/session"
)

// Channel is the LISTEN/NOTIFY channel of the change-feed notifications.
// Channels are per database, not per schema: deployments in different
// schemas of one database hear each other's notifications, which costs
// them a feed read each and nothing else.
const Channel = "sesame_changes"

// The listener's timing. It reconnects after 100 ms, doubling up to 2 s
// while the server stays unreachable. While idle it pings its connection
// every healthInterval, so that a connection cut without a reset (a
// vanished host, a dropped route) is noticed within about healthInterval +
// pingTimeout, not at the next TCP keepalive failure minutes later.
const (
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = 2 * time.Second
	healthInterval = 5 * time.Second
	pingTimeout    = 3 * time.Second
)

// Notifier returns the [session.Notifier] over PostgreSQL's LISTEN/NOTIFY
// on this database. Notify sends through the pool; each Subscribe holds
// its own connection, outside the pool, opened with the pool's settings.
// Notifications are best-effort (see the package documentation): the
// change feed stays the truth.
func (db *DB) Notifier() session.Notifier { return &notifier{db: db, health: healthInterval} }

type notifier struct {
	db     *DB
	health time.Duration // idle time after which the connection is pinged
}

// Notify implements [session.Notifier] with pg_notify, one statement
// through the pool. PostgreSQL delivers it to every listening connection
// of the database, the sender's own process included, and folds identical
// notifications sent in one transaction into one.
func (n *notifier) Notify(ctx context.Context, payload string) error {
	if _, err := n.db.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, payload); err != nil {
		return fmt.Errorf("postgres: notify: %w", err)
	}
	return nil
}

// Subscribe implements [session.Notifier]. It connects, runs LISTEN, calls
// connected(true) and then changed() for each notification. On any error
// (the connection closed or reset, the server restarted or terminated the
// backend, a health ping unanswered) it closes the connection, calls
// connected(false) at once, and reconnects with backoff until ctx ends;
// connected(false) is called once per lost connection, not once per failed
// attempt; not at all when the connection ends because ctx did. It returns
// nil when ctx ends.
func (n *notifier) Subscribe(ctx context.Context, changed func(payload string), connected func(bool)) error {
	cfg := n.db.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = listenerName(cfg.RuntimeParams["application_name"])
	backoff := minBackoff
	for ctx.Err() == nil {
		listening := n.listen(ctx, cfg, changed, connected)
		if listening && ctx.Err() == nil {
			connected(false)
			backoff = minBackoff
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
			backoff = min(2*backoff, maxBackoff)
		}
	}
	return nil
}

// listen runs one connection until it fails or ctx ends, and reports
// whether it got as far as listening (and calling connected(true)). Why it
// failed does not matter: every failure is answered by reconnecting.
func (n *notifier) listen(ctx context.Context, cfg *pgx.ConnConfig, changed func(payload string), connected func(bool)) (listening bool) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return false
	}
	connected(true)
	for {
		waitCtx, cancel := context.WithTimeout(ctx, n.health)
		nt, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			changed(nt.Payload)
			continue
		case ctx.Err() != nil:
			return true
		case waitCtx.Err() == nil:
			return true // the connection failed
		}
		// Idle for n.health: check that the server still answers.
		pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
		err = conn.Ping(pingCtx)
		cancel()
		if err != nil {
			return true
		}
	}
}

// listenerName is the application_name of a listener connection, so that
// operators (and tests) can tell it from the pool's in pg_stat_activity.
func listenerName(base string) string {
	const suffix = " listener"
	if base == "" {
		base = "sesame"
	}
	if len(base)+len(suffix) > 63 { // NAMEDATALEN-1: the server would truncate it
		base = base[:63-len(suffix)]
	}
	return base + suffix
}
