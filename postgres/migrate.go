package postgres

import (
	"context"
	"embed"
	"fmt"
	"github.com/sesame-auth/sesame/internal/migrations"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationFiles are the schema changes, named NNNN_description.sql and
// numbered from 0001 without gaps. To change the schema, add the next file;
// never edit one that has shipped.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the key of the transaction-scoped advisory lock that
// every Open holds while it reads and changes the schema ("SESAME" and 1).
// It is one key per database, so that nodes starting at once migrate one
// after the other; the others then find the schema current.
const migrationLock int64 = 0x5345_5341_4d45_0001

type migration = migrations.Migration

// loadMigrations reads and checks the embedded migrations, in version order.
func loadMigrations() ([]migration, error) {
	return parseMigrations(migrationFiles, "migrations")
}

func parseMigrations(fsys fs.FS, dir string) ([]migration, error) {
	ms, err := migrations.Parse(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
}

// migrate brings the schema up to date in one transaction that first takes
// the migration lock: PostgreSQL's DDL is transactional, so a failure or a
// crash leaves the schema as it was, and processes starting at once wait
// for each other instead of racing to create the same tables. schema, when
// not empty, is created first.
func migrate(ctx context.Context, pool *pgxpool.Pool, ms []migration, schema string) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("postgres: migrate: take the migration lock: %w", err)
	}
	if schema != "" {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
			return fmt.Errorf("postgres: migrate: create schema: %w", err)
		}
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer NOT NULL PRIMARY KEY,
		name       text    NOT NULL,
		applied_at bigint  NOT NULL
	)`
	if _, err := tx.Exec(ctx, create); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("postgres: migrate: read schema version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("postgres: database schema version %d is newer than this program knows (%d): upgrade Sesame, or restore a backup made for this version", current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		}
		const record = `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`
		if _, err := tx.Exec(ctx, record, m.Version, m.Name, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: commit: %w", err)
	}
	return nil
}
