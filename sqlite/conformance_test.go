package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/sqlite"
	"github.com/sesame-auth/sesame/storetest"
)

// openTemp opens a fresh database file under t.TempDir and closes it when
// the test ends.
func openTemp(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sesame.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := openTemp(t)
		return storetest.Stores{Sessions: db, Users: db, Refresh: db}
	})
}

// SEC-66: a refresh survives the process dying after any store call.
func TestCrash(t *testing.T) {
	storetest.RunCrash(t, func(t *testing.T) storetest.Stores {
		db := openTemp(t)
		return storetest.Stores{Sessions: db, Refresh: db}
	})
}

func TestOAuthConformance(t *testing.T) {
	storetest.RunOAuth(t, func(t *testing.T) oauth.Store { return openTemp(t) })
}
