package multinode

import (
	"encoding/json"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// SEC-66 with real processes: a client refreshes on node A; A is killed
// with SIGKILL at a random point 0-3 ms into the request and restarted;
// the client retries the same refresh token on node B at once (within the
// grace). Over many rounds of one family: the retry always succeeds while
// the session lives (no family is stranded), every successor the client is
// given for one token is the same, and the family goes on from it.
func TestRefreshNodeKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a node process many times")
	}
	for _, d := range []struct {
		name   string
		new    func(t *testing.T) deployment
		rounds int
	}{{"redis", redisDeployment, 40}, {"redis-cluster", redisClusterDeployment, 20}} {
		t.Run(d.name, func(t *testing.T) {
			refreshKillRounds(t, newCluster(t, d.new(t), 3), d.rounds)
		})
	}
}

func refreshKillRounds(t *testing.T, c *cluster, rounds int) {
	a := c.nodes[0]
	a.want(201, "POST", "/api/v1/signup", map[string]string{"username": "alice", "password": pw}, "", "")
	rt := c.nodes[1].loginBearer("alice", pw).RefreshToken
	var killedBefore, answeredBefore int
	for round := range rounds {
		a, b := c.nodes[0], c.nodes[1]
		type answer struct {
			status int
			body   []byte
		}
		done := make(chan answer, 1)
		go func() {
			status, body := a.call("POST", "/api/v1/token/refresh", map[string]string{"refresh_token": rt}, "", "")
			done <- answer{status, body}
		}()
		time.Sleep(time.Duration(rand.Int64N(int64(3 * time.Millisecond))))
		a.cmd.Process.Signal(syscall.SIGKILL)
		a.cmd.Wait()
		got := <-done

		successors := map[string]bool{}
		if got.status == 200 {
			answeredBefore++
			successors[refreshTokenOf(t, got.body)] = true
		} else {
			killedBefore++
		}
		status, body := b.call("POST", "/api/v1/token/refresh", map[string]string{"refresh_token": rt}, "", "")
		if status != 200 {
			t.Fatalf("round %d: the retry on %s after %s was killed: got %d %s (the family is stranded)",
				round, b.name, a.name, status, body)
		}
		successors[refreshTokenOf(t, body)] = true
		if len(successors) != 1 {
			t.Fatalf("round %d: one refresh token got two different successors", round)
		}
		for s := range successors {
			rt = s
		}
		c.nodes[0] = c.start(a.name)
		// Warm the new process up (its store connections), so that the
		// next kill lands in the refresh rather than in its first dial.
		for range 3 {
			c.nodes[0].call("GET", "/healthz", nil, "", "")
		}
	}
	t.Logf("%d rounds: %d killed before answering, %d answered before the kill", rounds, killedBefore, answeredBefore)
	// The family goes on, on every node.
	for _, n := range c.nodes {
		var p pair
		json.Unmarshal(n.want(200, "POST", "/api/v1/token/refresh", map[string]string{"refresh_token": rt}, "", ""), &p)
		rt = p.RefreshToken
	}
}

func refreshTokenOf(t *testing.T, body []byte) string {
	t.Helper()
	var p pair
	if err := json.Unmarshal(body, &p); err != nil || p.RefreshToken == "" {
		t.Fatalf("refresh answer without a refresh token: %s", body)
	}
	return p.RefreshToken
}
