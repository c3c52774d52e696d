package multinode

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const pw = "correct horse battery"

// deployments are the ways to run several nodes; each test runs on all of
// them (the server-backed ones skip without their server, and fail under
// CI=true).
var deployments = []struct {
	name string
	new  func(t *testing.T) deployment
}{
	{"sqlite", sqliteDeployment},
	{"redis", redisDeployment},
	{"redis-cluster", redisClusterDeployment},
	{"postgres", postgresDeployment},
	{"postgres+redis", postgresRedisDeployment},
	{"mongo", mongoDeployment},
}

func sqliteDeployment(t *testing.T) deployment {
	return deployment{db: filepath.Join(t.TempDir(), "sesame.db")}
}

func forEachDeployment(t *testing.T, fn func(t *testing.T, c *cluster)) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			dep := d.new(t)
			fn(t, newCluster(t, dep, 3))
		})
	}
}

// A cookie and a bearer token from node A work on B and C; revoking both
// sessions on C is enforced by A and B within the deadline.
func TestRevokeOnOneNodeRejectedOnAll(t *testing.T) {
	forEachDeployment(t, func(t *testing.T, c *cluster) {
		a, b, cc := c.nodes[0], c.nodes[1], c.nodes[2]
		a.want(201, "POST", "/api/v1/signup", map[string]string{"username": "alice", "password": pw}, "", "")
		cookie := a.loginCookie("alice", pw)
		bearer := a.loginBearer("alice", pw).AccessToken
		for _, n := range c.nodes {
			n.want(200, "GET", "/api/v1/me", nil, cookie, "")
			n.want(200, "GET", "/api/v1/me", nil, "", bearer)
		}
		var me struct {
			Session struct{ ID string } `json:"session"`
		}
		json.Unmarshal(a.want(200, "GET", "/api/v1/me", nil, cookie, ""), &me)
		cookieSID, bearerSID := me.Session.ID, a.sessionID(bearer)
		admin := cc.loginBearer("alice", pw).AccessToken // a third session of the same user, on C
		cc.want(204, "DELETE", "/api/v1/sessions/"+cookieSID, nil, "", admin)
		cc.want(204, "DELETE", "/api/v1/sessions/"+bearerSID, nil, "", admin)
		for _, n := range []*node{a, b} {
			lc := n.eventually(401, cookie, "")
			lb := n.eventually(401, "", bearer)
			t.Logf("%s rejected the revoked cookie after %v and the bearer token after %v", n.name, lc, lb)
		}
		// The third session is untouched everywhere.
		for _, n := range c.nodes {
			n.want(200, "GET", "/api/v1/me", nil, "", admin)
		}
	})
}

// Concurrent refreshes of one refresh token sent to different nodes yield
// one successor (SEC-30 across nodes).
func TestConcurrentRefreshAcrossNodes(t *testing.T) {
	forEachDeployment(t, func(t *testing.T, c *cluster) {
		a := c.nodes[0]
		a.want(201, "POST", "/api/v1/signup", map[string]string{"username": "alice", "password": pw}, "", "")
		p := a.loginBearer("alice", pw)
		const n = 30
		got := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				node := c.nodes[i%len(c.nodes)]
				status, body := node.call("POST", "/api/v1/token/refresh", map[string]string{"refresh_token": p.RefreshToken}, "", "")
				if status != 200 {
					t.Errorf("refresh %d on %s: got %d %s", i, node.name, status, body)
					return
				}
				var q pair
				json.Unmarshal(body, &q)
				got[i] = q.RefreshToken
			}()
		}
		wg.Wait()
		for i := range got {
			if got[i] != got[0] || got[i] == "" {
				t.Fatalf("refreshes across nodes returned different successors")
			}
		}
		for _, node := range c.nodes {
			var q pair
			json.Unmarshal(node.want(200, "POST", "/api/v1/token/refresh", map[string]string{"refresh_token": got[0]}, "", ""), &q)
			got[0] = q.RefreshToken
		}
	})
}

// Blocking a user on one node kills their requests on all.
func TestBlockOnOneNodeKillsAll(t *testing.T) {
	forEachDeployment(t, func(t *testing.T, c *cluster) {
		c.sesame(pw+"\n", append([]string{"user", "add", "--admin", "--password-stdin"}, append(c.args(), "root")...)...)
		a, b, cc := c.nodes[0], c.nodes[1], c.nodes[2]
		a.want(201, "POST", "/api/v1/signup", map[string]string{"username": "bob", "password": pw}, "", "")
		cookie := a.loginCookie("bob", pw)
		bearer := b.loginBearer("bob", pw).AccessToken
		root := cc.loginBearer("root", pw).AccessToken
		cc.want(200, "POST", "/api/v1/admin/users/bob/block", nil, "", root)
		for _, n := range c.nodes {
			n.eventually(401, cookie, "")
			n.eventually(401, "", bearer)
		}
		status, _ := a.call("POST", "/api/v1/login", map[string]string{"username": "bob", "password": pw}, "", "")
		if status != 403 {
			t.Fatalf("login of a blocked user: got %d, want 403", status)
		}
	})
}

func trimSlashDB(u string) string {
	if i := strings.LastIndex(u, "/"); i > len("redis://") {
		return u[:i]
	}
	return u
}
