package main

import (
	"context"

	"github.com/sesame-auth/sesame/postgres"
	"github.com/sesame-auth/sesame/redis"
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

// openRedis opens the Redis --sessions store (a single server, or a
// Cluster with redis+cluster://), with pub/sub as the notifier.
func (st *stack) openRedis(ctx context.Context, url string) error {
	r, err := redis.Open(ctx, url, redis.Options{})
	if err != nil {
		return failure("open sessions store %s: %v", redactURL(url), err)
	}
	st.state, st.notifier = r, r.Notifier()
	st.closers = append(st.closers, r.Close)
	return nil
}
