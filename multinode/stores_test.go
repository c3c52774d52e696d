package multinode

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
)

var redisDBs atomic.Int32

// redisDeployment: SQLite for users and keys, Redis for session state, on
// a Redis database number of its own.
func redisDeployment(t *testing.T) deployment {
	url := need(t, "SESAME_TEST_REDIS_URL")
	db := 4 + redisDBs.Add(1)%11
	return deployment{db: filepath.Join(t.TempDir(), "sesame.db"), sessions: fmt.Sprintf("%s/%d", trimSlashDB(url), db)}
}

// redisClusterDeployment: SQLite plus the 3-node Redis Cluster.
func redisClusterDeployment(t *testing.T) deployment {
	addrs := need(t, "SESAME_TEST_REDIS_CLUSTER")
	return deployment{db: filepath.Join(t.TempDir(), "sesame.db"), sessions: "redis+cluster://" + addrs}
}

// postgresDeployment: PostgreSQL alone, in a database of its own.
func postgresDeployment(t *testing.T) deployment {
	return deployment{db: freshDatabase(t)}
}

// postgresRedisDeployment: PostgreSQL for users and keys, Redis for session
// state.
func postgresRedisDeployment(t *testing.T) deployment {
	d := redisDeployment(t)
	d.db = freshDatabase(t)
	return d
}

// freshDatabase creates a database on the test server and returns its URL.
func freshDatabase(t *testing.T) string {
	t.Helper()
	base := need(t, "SESAME_TEST_POSTGRES_URL")
	conn, err := pgx.Connect(bg, base)
	if err != nil {
		t.Fatalf("connect %s: %v", base, err)
	}
	defer conn.Close(bg)
	name := "sesame_mn_" + randHex(6)
	if _, err := conn.Exec(bg, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(bg, base)
		if err == nil {
			c.Exec(bg, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(bg)
		}
	})
	i := strings.LastIndex(base, "/")
	rest := ""
	if q := strings.Index(base[i:], "?"); q >= 0 {
		rest = base[i+q:]
	}
	return base[:i+1] + name + rest
}
