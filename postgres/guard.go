package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/guard"
)

var (
	_ guard.Store   = (*DB)(nil)
	_ guard.Cleaner = (*DB)(nil)
)

// failThrottle is the per-key atomic step of Fail: an upsert whose SET
// expressions read the row as it is once the row lock is held, so
// concurrent failures on one key, from any process, each add one.
const failThrottle = `INSERT INTO throttle AS t (key, count, last_at, expires_at) VALUES ($1, 1, $2, $3)
ON CONFLICT (key) DO UPDATE SET
	count = CASE WHEN excluded.last_at >= t.expires_at
		THEN 1 ELSE t.count + 1 END,
	last_at = CASE WHEN excluded.last_at >= t.expires_at
		THEN excluded.last_at ELSE greatest(t.last_at, excluded.last_at) END,
	expires_at = CASE WHEN excluded.last_at >= t.expires_at
		THEN excluded.expires_at ELSE greatest(t.expires_at, excluded.expires_at) END
RETURNING count, last_at, expires_at`

// Fail implements [guard.Store]: one upsert per counter, sent as one batch
// (one round trip, one implicit transaction). The upserts run in key
// order, so that two calls naming the same keys in different orders lock
// the rows in the same order and cannot deadlock.
func (db *DB) Fail(ctx context.Context, now time.Time, counters ...guard.Counter) ([]guard.State, error) {
	out, err := db.failThrottles(ctx, now, counters)
	if err != nil {
		return nil, writeErr("record throttle failure", err)
	}
	return out, nil
}

func (db *DB) failThrottles(ctx context.Context, now time.Time, counters []guard.Counter) ([]guard.State, error) {
	out := make([]guard.State, len(counters))
	if len(counters) == 0 {
		return out, nil
	}
	order := make([]int, len(counters))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(counters[a].Key, counters[b].Key) })
	b := &pgx.Batch{}
	for _, i := range order {
		b.Queue(failThrottle, counters[i].Key, nanos(now), nanos(now.Add(counters[i].Window)))
	}
	br := db.pool.SendBatch(ctx, b)
	defer br.Close()
	for _, i := range order {
		var count, last, expires int64
		if err := br.QueryRow().Scan(&count, &last, &expires); err != nil {
			return nil, err
		}
		out[i] = guard.State{Count: int(count), Last: fromNanos(last), Expires: fromNanos(expires)}
	}
	return out, br.Close()
}

// Get implements [guard.Store]: one query through the primary key.
func (db *DB) Get(ctx context.Context, now time.Time, keys ...string) ([]guard.State, error) {
	out := make([]guard.State, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT key, count, last_at, expires_at FROM throttle
		WHERE expires_at > $1 AND key = ANY($2)`, nanos(now), storableKeys(keys))
	if err != nil {
		return nil, fmt.Errorf("postgres: read throttle counters: %w", err)
	}
	found := make(map[string]guard.State, len(keys))
	var key string
	var count, last, expires int64
	_, err = pgx.ForEachRow(rows, []any{&key, &count, &last, &expires}, func() error {
		found[key] = guard.State{Count: int(count), Last: fromNanos(last), Expires: fromNanos(expires)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read throttle counters: %w", err)
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
	if _, err := db.pool.Exec(ctx, `DELETE FROM throttle WHERE key = ANY($1)`, storableKeys(keys)); err != nil {
		return fmt.Errorf("postgres: reset throttle counters: %w", err)
	}
	return nil
}

// DeleteStaleThrottles implements [guard.Cleaner], through the expiry
// index. Run it periodically (guard.RunCleanup); expired counters already
// read as absent, so this only reclaims space.
func (db *DB) DeleteStaleThrottles(ctx context.Context, now time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM throttle WHERE expires_at <= $1`, nanos(now))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete stale throttle counters: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// storableKeys drops the keys text cannot hold: no counter has them.
func storableKeys(keys []string) []string {
	if !slices.ContainsFunc(keys, func(k string) bool { return !storableText(k) }) {
		return keys
	}
	return slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return !storableText(k) })
}
