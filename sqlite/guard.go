package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/guard"
)

var (
	_ guard.Store   = (*DB)(nil)
	_ guard.Cleaner = (*DB)(nil)
)

// failThrottle is the per-key atomic step of Fail: SQLite evaluates every
// SET expression against the row as it was, and the writer's BEGIN
// IMMEDIATE serializes it against every other writer, in this process or
// another.
const failThrottle = `INSERT INTO throttle (key, count, last_at, expires_at) VALUES (?, 1, ?, ?)
ON CONFLICT (key) DO UPDATE SET
	count = CASE WHEN excluded.last_at >= throttle.expires_at
		THEN 1 ELSE throttle.count + 1 END,
	last_at = CASE WHEN excluded.last_at >= throttle.expires_at
		THEN excluded.last_at ELSE max(throttle.last_at, excluded.last_at) END,
	expires_at = CASE WHEN excluded.last_at >= throttle.expires_at
		THEN excluded.expires_at ELSE max(throttle.expires_at, excluded.expires_at) END
RETURNING count, last_at, expires_at`

// Fail implements [guard.Store]: one immediate transaction with one upsert
// per counter.
func (db *DB) Fail(ctx context.Context, now time.Time, counters ...guard.Counter) ([]guard.State, error) {
	out, err := db.failThrottles(ctx, now, counters)
	if err != nil {
		return nil, fmt.Errorf("sqlite: record throttle failure: %w", err)
	}
	return out, nil
}

func (db *DB) failThrottles(ctx context.Context, now time.Time, counters []guard.Counter) ([]guard.State, error) {
	out := make([]guard.State, len(counters))
	if len(counters) == 0 {
		return out, nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	for i, c := range counters {
		var count, last, expires int64
		err := tx.QueryRowContext(ctx, failThrottle, c.Key, nanos(now), nanos(now.Add(c.Window))).Scan(&count, &last, &expires)
		if err != nil {
			return nil, err
		}
		out[i] = guard.State{Count: int(count), Last: fromNanos(last), Expires: fromNanos(expires)}
	}
	return out, tx.Commit()
}

// Get implements [guard.Store], on the reader pool.
func (db *DB) Get(ctx context.Context, now time.Time, keys ...string) ([]guard.State, error) {
	out := make([]guard.State, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(keys)+1)
	args = append(args, nanos(now))
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT key, count, last_at, expires_at FROM throttle
		WHERE expires_at > ? AND key IN (`+throttlePlaceholders(len(keys))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read throttle counters: %w", err)
	}
	defer rows.Close()
	found := make(map[string]guard.State, len(keys))
	for rows.Next() {
		var key string
		var count, last, expires int64
		if err := rows.Scan(&key, &count, &last, &expires); err != nil {
			return nil, fmt.Errorf("sqlite: read throttle counters: %w", err)
		}
		found[key] = guard.State{Count: int(count), Last: fromNanos(last), Expires: fromNanos(expires)}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read throttle counters: %w", err)
	}
	for i, k := range keys {
		out[i] = found[k]
	}
	return out, nil
}

// Reset implements [guard.Store].
func (db *DB) Reset(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	if _, err := db.w.ExecContext(ctx, `DELETE FROM throttle WHERE key IN (`+throttlePlaceholders(len(keys))+`)`, args...); err != nil {
		return fmt.Errorf("sqlite: reset throttle counters: %w", err)
	}
	return nil
}

// DeleteStaleThrottles implements [guard.Cleaner], through the expiry
// index. Run it periodically (guard.RunCleanup); expired counters already
// read as absent, so this only reclaims space.
func (db *DB) DeleteStaleThrottles(ctx context.Context, now time.Time) (int, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM throttle WHERE expires_at <= ?`, nanos(now))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete stale throttle counters: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete stale throttle counters: %w", err)
	}
	return int(n), nil
}

// throttlePlaceholders returns "?, ?, ..." with n marks.
func throttlePlaceholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
