package main

import "context"

// openPostgres opens a PostgreSQL --db database. Until the adapter lands
// this refuses clearly.
func (st *stack) openPostgres(ctx context.Context, db string) error {
	return usageError("--db: postgres databases are not supported yet")
}

// openRedis opens the Redis --sessions store.
func (st *stack) openRedis(ctx context.Context, url string) error {
	return usageError("--sessions: redis is not supported yet")
}
