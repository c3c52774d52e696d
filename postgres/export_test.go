package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-auth/sesame/session"
)

// OpenWithoutMigrating returns a DB over a pool that has not connected
// yet, for tests of what happens when the server cannot be reached.
func OpenWithoutMigrating(ctx context.Context, url string) (*DB, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, err
	}
	return &DB{pool: pool}, nil
}

// NotifierWithHealth returns db's notifier pinging its idle connection
// every d instead of every 5 s.
func NotifierWithHealth(db *DB, d time.Duration) session.Notifier {
	return &notifier{db: db, health: d}
}
