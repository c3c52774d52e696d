// Package migrations reads the numbered schema migrations the SQL adapters
// embed: files named NNNN_description.sql, numbered from 0001 without gaps.
package migrations

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// Migration is one schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Parse reads and checks the migrations in dir of fsys, in version order.
// Errors name the offending file; the caller adds its package prefix.
func Parse(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir) // sorted by name
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration %q: want a name like 0001_description.sql", name)
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("migration %q: got version %d, want %d (versions run from 1 without gaps)", name, v, len(ms)+1)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("migration %q: %w", name, err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	return ms, nil
}
