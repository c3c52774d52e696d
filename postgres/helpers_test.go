package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/postgres"
)

var ctx = context.Background()

// base has nanosecond precision: the adapter keeps every digit.
var base = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

// testURL returns the URL of the test server, skipping the test when there
// is none (failing it under CI=true, where a missing server is a broken
// pipeline, not a developer's laptop).
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("SESAME_TEST_POSTGRES_URL")
	if u == "" {
		const msg = "SESAME_TEST_POSTGRES_URL is not set: start PostgreSQL with eval \"$(bash .ci/services start)\" (see .ci/services)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return u
}

// withParam returns raw with the query parameter k set to v.
func withParam(t testing.TB, raw, k, v string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse SESAME_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randHash() [32]byte {
	var h [32]byte
	rand.Read(h[:])
	return h
}

// newSchema returns a fresh schema name and drops that schema when the test
// ends, through a connection of its own (the test's handles may be closed
// or broken by then).
func newSchema(t testing.TB) string {
	t.Helper()
	u := testURL(t)
	schema := "t_" + randHex(8)
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// openSchema opens a DB on schema and closes it when the test ends (before
// the schema is dropped: cleanups run last-registered first).
func openSchema(t testing.TB, rawURL, schema string) *postgres.DB {
	t.Helper()
	db, err := postgres.OpenSchema(ctx, rawURL, schema)
	if err != nil {
		t.Fatalf("OpenSchema: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openTest opens a DB on a fresh schema of its own.
func openTest(t testing.TB) *postgres.DB {
	t.Helper()
	schema := newSchema(t)
	return openSchema(t, testURL(t), schema)
}

func newSession(userID string) *sesame.Session {
	return &sesame.Session{
		ID: randHex(16), UserID: userID, TokenHash: randHash(),
		CreatedAt: base, LastSeen: base, AuthTime: base,
		IdleTimeout: 30 * time.Minute, ExpiresAt: base.Add(12 * time.Hour),
		Device: sesame.Device{UserAgent: "test", IP: "192.0.2.1"},
	}
}

func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
