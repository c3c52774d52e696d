package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"github.com/sesame-auth/sesame/internal/migrations"
	"io/fs"
	"time"
)

// migrationFiles are the schema changes, named NNNN_description.sql and
// numbered from 0001 without gaps. To change the schema, add the next file;
// never edit one that has shipped.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration = migrations.Migration

// loadMigrations reads and checks the embedded migrations, in version order.
func loadMigrations() ([]migration, error) {
	return parseMigrations(migrationFiles, "migrations")
}

func parseMigrations(fsys fs.FS, dir string) ([]migration, error) {
	ms, err := migrations.Parse(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return ms, nil
}

// migrate applies the migrations that w's database has not seen, each in
// its own transaction together with its schema_migrations row, so that a
// crash leaves the schema at one version or the next and never between. Two
// processes migrating at once are safe: each step takes the write lock
// before it reads the current version.
func migrate(ctx context.Context, w *sql.DB, ms []migration) error {
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`
	if _, err := w.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for {
		done, err := migrateStep(ctx, w, ms)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep applies the next migration, or reports done when there is
// none.
func migrateStep(ctx context.Context, w *sql.DB, ms []migration) (done bool, err error) {
	tx, err := w.BeginTx(ctx, nil) // BEGIN IMMEDIATE (see writerParams)
	if err != nil {
		return false, fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer tx.Rollback()
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return false, fmt.Errorf("sqlite: migrate: read schema version: %w", err)
	}
	switch {
	case current > len(ms):
		return false, fmt.Errorf("sqlite: database schema version %d is newer than this program knows (%d): upgrade Sesame, or restore a backup made for this version", current, len(ms))
	case current == len(ms):
		return true, nil
	}
	m := ms[current]
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
	}
	const record = `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`
	if _, err := tx.ExecContext(ctx, record, m.Version, m.Name, time.Now().UnixNano()); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: commit: %w", m.Name, err)
	}
	return false, nil
}
