package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// migrationFiles are the schema changes, named NNNN_description.sql and
// numbered from 0001 without gaps. To change the schema, add the next file;
// never edit one that has shipped.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads and checks the embedded migrations, in version order.
func loadMigrations() ([]migration, error) {
	return parseMigrations(migrationFiles, "migrations")
}

func parseMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir) // sorted by name
	if err != nil {
		return nil, fmt.Errorf("sqlite: migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("sqlite: migration %q: want a name like 0001_description.sql", name)
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("sqlite: migration %q: got version %d, want %d (versions run from 1 without gaps)", name, v, len(ms)+1)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("sqlite: migration %q: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
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
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: %w", m.name, err)
	}
	const record = `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`
	if _, err := tx.ExecContext(ctx, record, m.version, m.name, time.Now().UnixNano()); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: commit: %w", m.name, err)
	}
	return false, nil
}
