package main

import (
	"context"

	"github.com/sesame-auth/sesame/postgres"
)

// openPostgres opens a PostgreSQL --db database: users, keys and, unless
// --sessions says otherwise, session state, with LISTEN/NOTIFY as the
// notifier.
func (st *stack) openPostgres(ctx context.Context, db string) error {
	pg, err := postgres.Open(ctx, db)
	if err != nil {
		return failure("open database %s: %v", redactURL(db), err)
	}
	st.durable, st.state, st.notifier = pg, pg, pg.Notifier()
	st.closers = append(st.closers, pg.Close)
	return nil
}

// openRedis opens the Redis --sessions store.
func (st *stack) openRedis(ctx context.Context, url string) error {
	return usageError("--sessions: redis is not supported yet")
}
