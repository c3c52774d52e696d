package multinode

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// load drives GET /api/v1/me on every node with each credential until
// stopped, and records what it saw.
type load struct {
	stop      chan struct{}
	wg        sync.WaitGroup
	mu        sync.Mutex
	statuses  map[string]map[int]int // credential name → status → count
	violation atomic.Value           // string: the first forbidden answer
}

type credential struct {
	name           string
	cookie, bearer string
	revoked        bool // must never get 200
}

func startLoad(c *cluster, creds []credential) *load {
	l := &load{stop: make(chan struct{}), statuses: map[string]map[int]int{}}
	for _, n := range c.nodes {
		for _, cr := range creds {
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				for {
					select {
					case <-l.stop:
						return
					default:
					}
					status, body := n.call("GET", "/api/v1/me", nil, cr.cookie, cr.bearer)
					l.mu.Lock()
					if l.statuses[cr.name] == nil {
						l.statuses[cr.name] = map[int]int{}
					}
					l.statuses[cr.name][status]++
					l.mu.Unlock()
					if status >= 500 && status != 503 || status == 0 {
						l.violation.CompareAndSwap(nil, fmt.Sprintf("%s %s: %d %s", n.name, cr.name, status, body))
					}
					if cr.revoked && status == 200 {
						l.violation.CompareAndSwap(nil, fmt.Sprintf("%s accepted the revoked %s", n.name, cr.name))
					}
					time.Sleep(2 * time.Millisecond)
				}
			}()
		}
	}
	return l
}

func (l *load) finish(t *testing.T) map[string]map[int]int {
	close(l.stop)
	l.wg.Wait()
	if v := l.violation.Load(); v != nil {
		t.Fatalf("during the outage: %s", v)
	}
	return l.statuses
}

// outageScenario logs in, revokes one cookie and one bearer token, then runs
// load on every node while stopStore and startStore are called; it checks
// no 500, no revoked credential accepted, some 503s during the outage, and
// service back afterwards without restarting Sesame.
func outageScenario(t *testing.T, c *cluster, stopStore, startStore func(), durable bool) {
	a, b := c.nodes[0], c.nodes[1]
	a.want(201, "POST", "/api/v1/signup", map[string]string{"username": "alice", "password": pw}, "", "")
	live := credential{name: "live cookie", cookie: a.loginCookie("alice", pw)}
	liveB := credential{name: "live bearer", bearer: b.loginBearer("alice", pw).AccessToken}
	deadC := credential{name: "revoked cookie", cookie: a.loginCookie("alice", pw), revoked: true}
	deadB := credential{name: "revoked bearer", bearer: a.loginBearer("alice", pw).AccessToken, revoked: true}
	a.want(204, "POST", "/api/v1/logout", nil, "", deadB.bearer)
	for _, n := range c.nodes {
		n.eventually(401, "", deadB.bearer)
	}
	// Revoke the cookie session by its ID with a bearer token of the same
	// user (a cookie logout from Go would need the CSRF dance).
	deadSID := sessionIDOfCookie(t, a, deadC.cookie)
	a.want(204, "DELETE", "/api/v1/sessions/"+deadSID, nil, "", liveB.bearer)
	for _, n := range c.nodes {
		n.eventually(401, deadC.cookie, "")
	}

	l := startLoad(c, []credential{live, liveB, deadC, deadB})
	time.Sleep(300 * time.Millisecond)
	stopStore()
	time.Sleep(2 * time.Second)
	during := l.finish(t)
	t.Logf("statuses during the outage: %v", during)
	saw503 := during["live cookie"][503] + during["live bearer"][503]
	if saw503 == 0 {
		t.Fatal("no 503 while the store was down: the nodes kept trusting their caches")
	}

	l = startLoad(c, []credential{deadC, deadB})
	startStore()
	waitHealthy(t, c.nodes)
	after := l.finish(t)
	t.Logf("statuses of revoked credentials after the restart: %v", after)
	for _, n := range c.nodes {
		if durable {
			n.eventually(200, live.cookie, "")
			n.eventually(200, "", liveB.bearer)
		} else {
			// Redis without persistence: every session ended with it.
			n.eventually(401, live.cookie, "")
		}
		n.loginBearer("alice", pw)
	}
}

func sessionIDOfCookie(t *testing.T, n *node, cookie string) string {
	t.Helper()
	var me struct {
		Session struct{ ID string } `json:"session"`
	}
	b := n.want(200, "GET", "/api/v1/me", nil, cookie, "")
	if err := jsonUnmarshal(b, &me); err != nil || me.Session.ID == "" {
		t.Fatalf("me: %s", b)
	}
	return me.Session.ID
}

// A Redis outage under load: 503s, never a 500 or an accepted revoked
// credential; a restarted Redis brings service back without restarting
// Sesame (and, without persistence, every session ended).
func TestRedisOutage(t *testing.T) {
	bin := need(t, "SESAME_TEST_REDIS_SERVER")
	port := freePort(t)
	dir := t.TempDir()
	var srv *exec.Cmd
	startRedis := func() {
		srv = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 100; i++ {
			if out, err := exec.Command("redis-cli", "-p", strconv.Itoa(port), "ping").Output(); err == nil && string(out) == "PONG\n" {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("redis-server did not start")
	}
	stopRedis := func() {
		srv.Process.Kill()
		srv.Wait()
	}
	startRedis()
	t.Cleanup(func() {
		if srv.ProcessState == nil {
			stopRedis()
		}
	})
	dep := deployment{db: filepath.Join(t.TempDir(), "sesame.db"), sessions: fmt.Sprintf("redis://127.0.0.1:%d/0", port)}
	c := newCluster(t, dep, 2)
	outageScenario(t, c, stopRedis, startRedis, false)
}

// A PostgreSQL outage under load: the same, and since PostgreSQL is
// durable, the live sessions are back after the restart.
func TestPostgresOutage(t *testing.T) {
	pgctl := need(t, "SESAME_TEST_PG_CTL")
	if os.Geteuid() != 0 {
		t.Skip("this test runs a private PostgreSQL as the postgres user and needs root (as in CI)")
	}
	bindir := filepath.Dir(pgctl)
	dir, err := os.MkdirTemp("", "sesame-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	asPostgres := func(cmd string) {
		t.Helper()
		out, err := exec.Command("su", "postgres", "-s", "/bin/sh", "-c", cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
	}
	if out, err := exec.Command("chown", "postgres:postgres", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	asPostgres(fmt.Sprintf("%s/initdb -D %s/data -U postgres --auth=trust -E UTF8 >/dev/null", bindir, dir))
	port := freePort(t)
	start := func() {
		asPostgres(fmt.Sprintf("%s -D %s/data -l %s/pg.log -w -o '-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off' start >/dev/null", pgctl, dir, dir, port, dir))
	}
	stop := func() { asPostgres(fmt.Sprintf("%s -D %s/data -m immediate stop >/dev/null", pgctl, dir)) }
	start()
	t.Cleanup(func() {
		exec.Command("su", "postgres", "-s", "/bin/sh", "-c", fmt.Sprintf("%s -D %s/data -m immediate stop", pgctl, dir)).Run()
	})
	dep := deployment{db: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
	c := newCluster(t, dep, 2)
	outageScenario(t, c, stop, start, true)
}
