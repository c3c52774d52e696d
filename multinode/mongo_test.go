package multinode

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// mongoDeployment: SQLite for users and keys, MongoDB (FerretDB in the
// tests) for session state, in a database of its own, dropped at the end.
// The nodes poll the change feed every 50 ms (FerretDB has no change
// streams).
func mongoDeployment(t *testing.T) deployment {
	url := need(t, "SESAME_TEST_MONGO_URL")
	name := "sesame_mn_" + randHex(6)
	base, query, _ := strings.Cut(url, "?")
	scheme, rest, _ := strings.Cut(base, "://")
	hosts, _, _ := strings.Cut(rest, "/")
	sessions := scheme + "://" + hosts + "/" + name + "?poll_interval=50ms"
	if query != "" {
		sessions += "&" + query
	}
	t.Cleanup(func() {
		c, err := mdb.Connect(options.Client().ApplyURI(url))
		if err != nil {
			return
		}
		defer c.Disconnect(context.Background())
		c.Database(name).Drop(context.Background())
	})
	return deployment{db: filepath.Join(t.TempDir(), "sesame.db"), sessions: sessions}
}
