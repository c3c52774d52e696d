package sqlite

import (
	"context"
	"fmt"
	"github.com/sesame-auth/sesame/internal/cleanup"
	"log/slog"
	"time"
)

// DeleteExpired implements [session.Cleaner]. It removes at most limit
// sessions whose deadline is at or before now, earliest deadline first,
// using the deadline index; each removal is recorded in the change feed as
// a revocation, in the same transaction. It also removes change records
// older than keepChanges before now (change records are timed by the wall
// clock), refresh tokens past their expiry, and what
// [DB.DeleteExpiredOAuth] removes (expired authorization codes and used
// client-assertion keys), and TOTP enrolments never confirmed and older
// than an hour (abandoned: past factor.EnrolmentTTL whatever the nodes'
// clock skew). A limit of 0 or less removes no sessions but still trims
// the feed, the refresh tokens, the OAuth records and the enrolments.
func (db *DB) DeleteExpired(ctx context.Context, now time.Time, keepChanges time.Duration, limit int) (int, error) {
	n, err := db.deleteExpired(ctx, now, keepChanges, limit)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired sessions: %w", err)
	}
	return n, nil
}

// abandonedEnrolment is the age after which a cleanup removes an
// unconfirmed second factor: well past factor.EnrolmentTTL (15 min).
const abandonedEnrolment = time.Hour

func (db *DB) deleteExpired(ctx context.Context, now time.Time, keepChanges time.Duration, limit int) (int, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var n int64
	if limit > 0 {
		res, err := tx.StmtContext(ctx, db.st.deleteExpired).ExecContext(ctx, nanos(now), limit)
		if err != nil {
			return 0, err
		}
		if n, err = res.RowsAffected(); err != nil {
			return 0, err
		}
	}
	if _, err := tx.StmtContext(ctx, db.st.trimChanges).ExecContext(ctx, nanos(now.Add(-keepChanges))); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE expires_at <= ?`, nanos(now)); err != nil {
		return 0, err
	}
	if err := deleteExpiredOAuth(ctx, tx, now); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM factors WHERE confirmed_at IS NULL AND created_at < ?`,
		nanos(now.Add(-abandonedEnrolment))); err != nil {
		return 0, err
	}
	return int(n), tx.Commit()
}

// RunCleanup removes expired sessions until ctx ends: every round deletes
// batches of at most batch sessions, one transaction each so that writers
// never wait long, until a batch comes back short; then it sleeps for
// every. Change records older than keepChanges are trimmed on the way.
// Errors are logged and retried next round. every <= 0 means one minute,
// batch < 1 means 1, and a nil logger discards. Run it in its own
// goroutine; it returns when ctx is done.
func (db *DB) RunCleanup(ctx context.Context, every time.Duration, batch int, keepChanges time.Duration, logger *slog.Logger) {
	batch = max(batch, 1)
	cleanup.Loop(ctx, "sqlite", every, logger, func(ctx context.Context) (int, int, error) {
		return db.cleanupRound(ctx, batch, keepChanges)
	})
}

// cleanupRound deletes batches until one is short.
func (db *DB) cleanupRound(ctx context.Context, batch int, keepChanges time.Duration) (removed, batches int, err error) {
	for {
		n, err := db.DeleteExpired(ctx, time.Now(), keepChanges, batch)
		if err != nil {
			return removed, batches, err
		}
		removed += n
		batches++
		if n < batch {
			return removed, batches, nil
		}
	}
}
