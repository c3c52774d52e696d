package postgres

import (
	"context"
	"fmt"
	"github.com/sesame-auth/sesame/internal/cleanup"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// defaultRefreshBatch bounds the expired refresh tokens one DeleteExpired
// removes when its limit is 0 or less.
const defaultRefreshBatch = 1000

const (
	// SKIP LOCKED: cleaners on several nodes take different rows instead of
	// waiting for each other, and never wait for a request's write.
	trimChanges = `DELETE FROM session_changes WHERE seq IN (
		SELECT seq FROM session_changes WHERE time < $1 FOR UPDATE SKIP LOCKED)`

	deleteExpiredRefresh = `DELETE FROM refresh_tokens WHERE hash IN (
		SELECT hash FROM refresh_tokens WHERE expires_at <= $1
		ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`

	deleteExpiredCodes = `DELETE FROM oauth_codes WHERE hash IN (
		SELECT hash FROM oauth_codes WHERE expires_at <= $1
		ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`

	deleteExpiredUsedKeys = `DELETE FROM oauth_used_keys WHERE key IN (
		SELECT key FROM oauth_used_keys WHERE expires_at <= $1
		ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`

	// Unconfirmed second factors older than $1 (abandoned enrolments).
	deleteAbandonedFactors = `DELETE FROM factors WHERE id IN (
		SELECT id FROM factors WHERE confirmed_at IS NULL AND created_at < $1
		LIMIT $2 FOR UPDATE SKIP LOCKED)`

	deleteExpiredSessions = `DELETE FROM sessions WHERE id IN (
		SELECT id FROM sessions WHERE deadline <= $1
		ORDER BY deadline LIMIT $2 FOR UPDATE SKIP LOCKED)`
)

// DeleteExpired implements [session.Cleaner]. In one transaction (one
// round trip) it removes at most limit refresh tokens past their expiry,
// at most limit sessions whose deadline is at or before now, earliest
// deadline first, through the deadline index, and change records older
// than keepChanges before now (change records are timed by the database
// server's clock). Each session removal is recorded in the change feed as
// a revocation, in the same transaction, and takes the session's refresh
// tokens with it. It also removes at most limit expired authorization
// codes and at most limit used client-assertion keys (what
// [DB.DeleteExpiredOAuth] removes), and at most limit TOTP enrolments
// never confirmed and older than an hour (abandoned: past
// factor.EnrolmentTTL whatever the nodes' clock skew). A limit of 0 or
// less removes no sessions, but still trims the feed and up to 1000
// refresh tokens, codes, keys and enrolments.
func (db *DB) DeleteExpired(ctx context.Context, now time.Time, keepChanges time.Duration, limit int) (int, error) {
	sessions, _, err := db.deleteExpired(ctx, now, keepChanges, limit)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired sessions: %w", err)
	}
	return sessions, nil
}

// abandonedEnrolment is the age after which a cleanup removes an
// unconfirmed second factor: well past factor.EnrolmentTTL (15 min).
const abandonedEnrolment = time.Hour

// deleteExpired returns how many sessions it removed, and the largest
// number of refresh tokens, codes, keys or enrolments it removed (a full batch of any
// means there may be more).
func (db *DB) deleteExpired(ctx context.Context, now time.Time, keepChanges time.Duration, limit int) (sessions, refresh int, err error) {
	refreshLimit := limit
	if limit <= 0 {
		refreshLimit = defaultRefreshBatch
	}
	// The feed is trimmed last, so that a call whose now is far enough ahead
	// of the database's clock trims the revocations it has just recorded
	// too. The sessions' trigger takes the feed lock, held from there to the
	// commit; the trim skips rows another cleaner holds, so it never waits.
	b := &pgx.Batch{}
	b.Queue(deleteExpiredRefresh, nanos(now), refreshLimit)
	b.Queue(deleteExpiredCodes, nanos(now), refreshLimit)
	b.Queue(deleteExpiredUsedKeys, nanos(now), refreshLimit)
	b.Queue(deleteAbandonedFactors, nanos(now.Add(-abandonedEnrolment)), refreshLimit)
	if limit > 0 {
		b.Queue(deleteExpiredSessions, nanos(now), limit)
	}
	b.Queue(trimChanges, nanos(now.Add(-keepChanges)))
	br := db.pool.SendBatch(ctx, b)
	defer br.Close()
	tag, err := br.Exec()
	if err != nil {
		return 0, 0, err
	}
	refresh = int(tag.RowsAffected())
	for range 3 { // codes, used keys, enrolments
		if tag, err = br.Exec(); err != nil {
			return 0, 0, err
		}
		refresh = max(refresh, int(tag.RowsAffected()))
	}
	if limit > 0 {
		if tag, err = br.Exec(); err != nil {
			return 0, 0, err
		}
		sessions = int(tag.RowsAffected())
	}
	if _, err := br.Exec(); err != nil {
		return 0, 0, err
	}
	return sessions, refresh, br.Close()
}

// RunCleanup removes expired sessions, refresh tokens, authorization codes,
// used client-assertion keys and abandoned TOTP enrolments until ctx ends:
// every round deletes batches of at most batch rows, one transaction each
// so that no lock is held long, until a batch comes back short; then it
// sleeps for every. Change records older than keepChanges are trimmed on
// the way. Errors are logged and retried next round. every <= 0 means one
// minute, batch < 1 means 1, and a nil logger discards. Several nodes may
// run it at once. Run it in its own goroutine; it returns when ctx is done.
func (db *DB) RunCleanup(ctx context.Context, every time.Duration, batch int, keepChanges time.Duration, logger *slog.Logger) {
	batch = max(batch, 1)
	cleanup.Loop(ctx, "postgres", every, logger, func(ctx context.Context) (int, int, error) {
		return db.cleanupRound(ctx, batch, keepChanges)
	})
}

// cleanupRound deletes batches until the sessions, the refresh tokens,
// the codes and the keys of one come back short.
func (db *DB) cleanupRound(ctx context.Context, batch int, keepChanges time.Duration) (removed, batches int, err error) {
	for {
		sessions, refresh, err := db.deleteExpired(ctx, time.Now(), keepChanges, batch)
		if err != nil {
			return removed, batches, fmt.Errorf("postgres: delete expired sessions: %w", err)
		}
		removed += sessions
		batches++
		if sessions < batch && refresh < batch {
			return removed, batches, nil
		}
	}
}
