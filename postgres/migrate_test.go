package postgres_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sesame-auth/sesame/postgres"
)

// schemaVersion returns the number of rows of schema_migrations and their
// highest version.
func schemaVersion(t *testing.T, db *postgres.DB) (rows, version int) {
	t.Helper()
	must(t, "read schema_migrations", db.Pool().QueryRow(ctx,
		`SELECT count(*), coalesce(max(version), 0) FROM schema_migrations`).Scan(&rows, &version))
	return rows, version
}

// Nodes starting at once on a fresh schema: every Open succeeds, and the
// migrations ran once.
func TestConcurrentOpen(t *testing.T) {
	u, schema := testURL(t), newSchema(t)
	const n = 8
	dbs := make([]*postgres.DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			dbs[i], errs[i] = postgres.OpenSchema(ctx, u, schema)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d: %v", i, err)
		} else {
			t.Cleanup(func() { dbs[i].Close() })
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	rows, version := schemaVersion(t, dbs[0])
	if version < 1 || rows != version {
		t.Fatalf("schema_migrations after %d concurrent Opens: got %d rows up to version %d, want one row per version", n, rows, version)
	}
	// Every handle works on the one schema.
	for i, db := range dbs {
		s := newSession(fmt.Sprintf("u%d", i))
		must(t, "Create", db.Create(ctx, s))
		if _, err := dbs[(i+1)%n].ByID(ctx, s.ID); err != nil {
			t.Fatalf("session created through handle %d, read through the next: %v", i, err)
		}
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	u, schema := testURL(t), newSchema(t)
	var versions []int
	for i := range 3 {
		db, err := postgres.OpenSchema(ctx, u, schema)
		must(t, fmt.Sprintf("Open #%d", i+1), err)
		rows, v := schemaVersion(t, db)
		if rows != v {
			t.Fatalf("schema_migrations: got %d rows up to version %d, want one row per version", rows, v)
		}
		versions = append(versions, v)
		db.Close()
	}
	if versions[0] < 1 || versions[1] != versions[0] || versions[2] != versions[0] {
		t.Fatalf("schema version on each open: got %v, want the same positive version", versions)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	u, schema := testURL(t), newSchema(t)
	db := openSchema(t, u, schema)
	_, err := db.Pool().Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`)
	must(t, "plant a future version", err)

	db2, err := postgres.OpenSchema(ctx, u, schema)
	if err == nil {
		db2.Close()
		t.Fatal("Open of a database from a newer version: got nil error, want one")
	}
	if !strings.Contains(err.Error(), "newer") || !strings.Contains(err.Error(), "9999") {
		t.Fatalf("error: got %q, want it to say the schema (9999) is newer", err)
	}
	if !strings.HasPrefix(err.Error(), "postgres: ") {
		t.Fatalf("error %q: want the prefix %q", err, "postgres: ")
	}
}

// The search_path URL parameter, honoured by pgx, places the tables as
// OpenSchema does.
func TestOpenHonoursSearchPath(t *testing.T) {
	u, schema := testURL(t), newSchema(t)
	pre := openSchema(t, u, schema) // creates the schema
	db, err := postgres.Open(ctx, withParam(t, u, "search_path", schema))
	must(t, "Open", err)
	defer db.Close()
	s := newSession("u1")
	must(t, "Create", db.Create(ctx, s))
	if _, err := pre.ByID(ctx, s.ID); err != nil {
		t.Fatalf("session created with search_path=%s, read through OpenSchema: %v", schema, err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct{ name, url, schema string }{
		{"bad URL", "postgres://u:secret@[::1", "x"},
		{"empty schema", "postgres://127.0.0.1:1/x", ""},
		{"NUL in schema", "postgres://127.0.0.1:1/x", "a\x00b"},
		{"unreachable", "postgres://127.0.0.1:1/x?connect_timeout=1", "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := postgres.OpenSchema(ctx, tc.url, tc.schema)
			if err == nil {
				db.Close()
				t.Fatal("got nil error, want one")
			}
			if !strings.HasPrefix(err.Error(), "postgres: ") {
				t.Fatalf("error %q: want the prefix %q", err, "postgres: ")
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error %q reveals the password", err)
			}
		})
	}
}
