package mongo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/mongo"
)

var ctx = context.Background()

var base = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

// testURL returns the URL of the test server, skipping the test when there
// is none (failing it under CI=true, where .ci/services starts FerretDB).
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("SESAME_TEST_MONGO_URL")
	if u == "" {
		const msg = "SESAME_TEST_MONGO_URL is not set: start FerretDB with eval \"$(bash .ci/services start)\" (see .ci/services)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return u
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

// openDB opens a Store on the database db, closed when the test ends.
func openDB(t testing.TB, db string, opt mongo.Options) *mongo.Store {
	t.Helper()
	opt.Database = db
	s, err := mongo.Open(ctx, testURL(t), opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newDB returns a fresh database name, dropped when the test ends.
func newDB(t testing.TB) string {
	t.Helper()
	name := "t_" + randHex(6)
	t.Cleanup(func() {
		c, err := mdb.Connect(options.Client().ApplyURI(testURL(t)))
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Disconnect(ctx)
		if err := c.Database(name).Drop(ctx); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return name
}

// openTest opens a Store on a fresh database of its own.
func openTest(t testing.TB) *mongo.Store {
	t.Helper()
	return openDB(t, newDB(t), mongo.Options{})
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
