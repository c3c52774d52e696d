package multinode

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A revoke issued while a node is cut off from the bus is enforced by that
// node: while deaf it reads the store per request, and after reconnecting
// it has caught up. The cut: PostgreSQL terminates every LISTEN connection.
func TestRevokeWhileCutOffFromBus(t *testing.T) {
	dep := postgresDeployment(t)
	c := newCluster(t, dep, 3)
	a, cc := c.nodes[0], c.nodes[2]
	a.want(201, "POST", "/api/v1/signup", map[string]string{"username": "alice", "password": pw}, "", "")
	cookie := a.loginCookie("alice", pw)
	victim := a.loginBearer("alice", pw).AccessToken
	admin := cc.loginBearer("alice", pw).AccessToken
	a.want(200, "GET", "/api/v1/me", nil, cookie, "") // cached on A
	a.want(200, "GET", "/api/v1/me", nil, "", victim)

	conn, err := pgx.Connect(bg, dep.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(bg)
	var killed int
	if err := conn.QueryRow(bg, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name LIKE '% listener'`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed < 3 {
		t.Fatalf("terminated %d listeners, want one per node (3)", killed)
	}
	// Revoke on C at once, while A may still be reconnecting.
	cc.want(204, "DELETE", "/api/v1/sessions/"+sessionIDOfCookie(t, a, cookie), nil, "", admin)
	cc.want(204, "DELETE", "/api/v1/sessions/"+a.sessionID(victim), nil, "", admin)
	la := a.eventually(401, cookie, "")
	lb := a.eventually(401, "", victim)
	t.Logf("node A, cut off from the bus, rejected the revoked cookie after %v and token after %v", la, lb)
	// And it stays rejected after A's listener is back.
	time.Sleep(2500 * time.Millisecond)
	for _, cred := range [][2]string{{cookie, ""}, {"", victim}} {
		if status, _ := a.call("GET", "/api/v1/me", nil, cred[0], cred[1]); status != 401 {
			t.Fatalf("after reconnecting: got %d, want 401", status)
		}
	}
	a.want(200, "GET", "/api/v1/me", nil, "", admin)
}
