package multinode

import (
	"context"

	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/verify"
)

// privateRedis is a redis-server of the test's own, without persistence,
// that the test kills, restarts and flushes.
type privateRedis struct {
	t    *testing.T
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T) *privateRedis {
	r := &privateRedis{t: t, bin: need(t, "SESAME_TEST_REDIS_SERVER"), port: freePort(t), dir: t.TempDir()}
	r.start()
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			r.kill()
		}
	})
	return r
}

func (r *privateRedis) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *privateRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	for range 100 {
		if r.cli("PING") == "PONG\n" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatal("redis-server did not start")
}

// kill stops the server with SIGKILL: everything it held is lost.
func (r *privateRedis) kill() {
	r.cmd.Process.Kill()
	r.cmd.Wait()
}

func (r *privateRedis) cli(args ...string) string {
	out, _ := exec.Command("redis-cli", append([]string{"-p", strconv.Itoa(r.port)}, args...)...).Output()
	return string(out)
}

// waitHealthy waits until every node answers /healthz 200.
func waitHealthy(t *testing.T, nodes []*node) {
	t.Helper()
	for _, n := range nodes {
		start := time.Now()
		for {
			if s, _ := n.call("GET", "/healthz", nil, "", ""); s == 200 {
				break
			}
			if time.Since(start) > 30*time.Second {
				t.Fatalf("%s did not become healthy", n.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// downstream is a service that accepts Sesame's access tokens with the
// verify package, following the revocation feed of node n.
func downstream(t *testing.T, n *node) *verify.Verifier {
	t.Helper()
	v, err := verify.New(verify.Config{
		JWKSURL: n.url + "/.well-known/jwks.json", Issuer: "https://sesame.test", Audience: []string{"https://sesame.test"},
		Revocations: &verify.RevocationConfig{URL: n.url + "/api/v1/revocations", PollInterval: 100 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	v.Start(ctx)
	return v
}

// refusedDownstream waits until the downstream refuses tok as revoked
// (not merely unavailable), then checks it stays refused.
func refusedDownstream(t *testing.T, v *verify.Verifier, tok, what string) {
	t.Helper()
	start := time.Now()
	for {
		_, err := v.Verify(context.Background(), tok)
		if sesame.ErrorCode(err) == sesame.EUnauthenticated {
			break
		}
		if time.Since(start) > deadline {
			t.Fatalf("downstream still answers %v for %s after %v", err, what, deadline)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range 20 {
		if _, err := v.Verify(context.Background(), tok); err == nil {
			t.Fatalf("downstream accepted %s again", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SEC-64 with real processes: Redis without persistence is killed and
// restarts empty. From then on every credential of the earlier sessions,
// cookie and Bearer, revoked or not, is refused by every node (never a
// 200), by a node started after Redis returned, and by a verify service
// downstream; new logins work. Then the same after FLUSHDB on the running
// deployment. Before the allowlist, the Bearer tokens of the lost sessions
// were accepted until they expired, and a node started afterwards accepted
// a revoked one.
func TestSEC64_RedisLosesItsData(t *testing.T) {
	r := startPrivateRedis(t)
	c := newCluster(t, deployment{db: filepath.Join(t.TempDir(), "sesame.db"), sessions: r.url()}, 3)
	a, b := c.nodes[0], c.nodes[1]
	a.want(201, "POST", "/api/v1/signup", map[string]string{"username": "alice", "password": pw}, "", "")
	ds := downstream(t, c.nodes[2])
	time.Sleep(1100 * time.Millisecond) // tokens issued in the prime's second count as older (iat has whole seconds)
	liveC := credential{name: "live cookie", cookie: a.loginCookie("alice", pw), revoked: true}
	liveB := credential{name: "live bearer", bearer: b.loginBearer("alice", pw).AccessToken, revoked: true}
	deadC := credential{name: "revoked cookie", cookie: a.loginCookie("alice", pw), revoked: true}
	deadB := credential{name: "revoked bearer", bearer: a.loginBearer("alice", pw).AccessToken, revoked: true}
	if _, err := ds.Verify(context.Background(), liveB.bearer); err != nil {
		t.Fatalf("downstream refused a live token: %v", err)
	}
	deadSID := sessionIDOfCookie(t, a, deadC.cookie)
	a.want(204, "DELETE", "/api/v1/sessions/"+deadSID, nil, "", liveB.bearer)
	a.want(204, "POST", "/api/v1/logout", nil, "", deadB.bearer)
	for _, n := range c.nodes {
		n.eventually(200, liveC.cookie, "")
		n.eventually(200, "", liveB.bearer) // held in every node's view
		n.eventually(401, deadC.cookie, "")
		n.eventually(401, "", deadB.bearer)
	}
	refusedDownstream(t, ds, deadB.bearer, "the revoked token")

	r.kill()
	r.start()
	// From the moment Redis is back, no node may accept any of them.
	all := []credential{liveC, liveB, deadC, deadB}
	l := startLoad(c, all)
	waitHealthy(t, c.nodes)
	for _, n := range c.nodes {
		for _, cr := range all {
			n.eventually(401, cr.cookie, cr.bearer)
		}
	}
	late := c.start("nodeD") // started after Redis came back
	for _, cr := range all {
		late.want(401, "GET", "/api/v1/me", nil, cr.cookie, cr.bearer)
	}
	time.Sleep(500 * time.Millisecond)
	t.Logf("after the restart: %v", l.finish(t))
	refusedDownstream(t, ds, liveB.bearer, "a token of a session the store lost")
	refusedDownstream(t, ds, deadB.bearer, "the revoked token after the loss")

	// New logins work everywhere, downstream too.
	fresh := credential{name: "new bearer", bearer: b.loginBearer("alice", pw).AccessToken}
	freshC := credential{name: "new cookie", cookie: late.loginCookie("alice", pw)}
	for _, n := range append(c.nodes, late) {
		n.eventually(200, "", fresh.bearer)
		n.eventually(200, freshC.cookie, "")
	}
	waitDownstreamAccepts(t, ds, fresh.bearer)

	// FLUSHDB on a running deployment: the same.
	if got := r.cli("FLUSHDB"); got != "OK\n" {
		t.Fatalf("FLUSHDB: %q", got)
	}
	for _, n := range append(c.nodes, late) {
		n.eventually(401, "", fresh.bearer)
		n.eventually(401, freshC.cookie, "")
	}
	fresh.revoked, freshC.revoked = true, true
	l = startLoad(c, []credential{fresh, freshC})
	time.Sleep(500 * time.Millisecond)
	l.finish(t)
	refusedDownstream(t, ds, fresh.bearer, "a token of a session FLUSHDB erased")
	after := b.loginBearer("alice", pw).AccessToken
	for _, n := range c.nodes {
		n.eventually(200, "", after)
	}
}

func waitDownstreamAccepts(t *testing.T, v *verify.Verifier, tok string) {
	t.Helper()
	start := time.Now()
	for {
		_, err := v.Verify(context.Background(), tok)
		if err == nil {
			return
		}
		if time.Since(start) > deadline {
			t.Fatalf("downstream refuses a new token: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// probe is one request of the logout-then-kill load.
type probe struct {
	node   string
	cred   string
	start  time.Time
	status int
}

// propagationBound is how late after a revocation's acknowledgement
// another node may still answer from its view: the time for the
// notification to reach it (about a millisecond on loopback; generous here
// for a loaded CI machine running the race detector). Before SEC-65 was
// met, a node answered 200 up to 100 ms after the store died.
const propagationBound = 50 * time.Millisecond

// SEC-65 with real processes: a logout is acknowledged and Redis is killed
// within a millisecond. No node answers 200 for the revoked credentials in
// a request started later than the propagation bound after the
// acknowledgement (the latest is logged); during the outage every
// node answers 503 for a live credential once it has noticed (the window
// from the kill to the last answer served from a view is logged); when
// Redis returns, the nodes recover by themselves. Several trials.
func TestSEC65_StoreKilledRightAfterLogout(t *testing.T) {
	r := startPrivateRedis(t)
	c := newCluster(t, deployment{db: filepath.Join(t.TempDir(), "sesame.db"), sessions: r.url()}, 3)
	a := c.nodes[0]
	a.want(201, "POST", "/api/v1/signup", map[string]string{"username": "alice", "password": pw}, "", "")
	var windows, lates []time.Duration
	for trial := range 6 {
		keeper := a.loginBearer("alice", pw).AccessToken // the session that signs out the others
		cookie := a.loginCookie("alice", pw)
		bearer := c.nodes[trial%3].loginBearer("alice", pw).AccessToken
		for _, n := range c.nodes {
			n.eventually(200, cookie, "")
			n.eventually(200, "", bearer)
			n.eventually(200, "", keeper)
		}
		var mu sync.Mutex
		var probes []probe
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, n := range c.nodes {
			for name, cr := range map[string]credential{"cookie": {cookie: cookie}, "bearer": {bearer: bearer}, "live": {bearer: keeper}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						start := time.Now()
						status, _ := n.call("GET", "/api/v1/me", nil, cr.cookie, cr.bearer)
						mu.Lock()
						probes = append(probes, probe{n.name, name, start, status})
						mu.Unlock()
						time.Sleep(time.Millisecond)
					}
				}()
			}
		}
		time.Sleep(100 * time.Millisecond)
		b := a.want(200, "POST", "/api/v1/sessions/revoke-others", nil, "", keeper)
		acked := time.Now()
		r.kill()
		killed := time.Now()
		time.Sleep(2 * time.Second)
		close(stop)
		wg.Wait()
		if string(b) != `{"revoked":2}`+"\n" && string(b) != `{"revoked":2}` {
			t.Fatalf("revoke-others: %s", b)
		}
		var window, late time.Duration
		outage := map[string]bool{}
		for _, p := range probes {
			if p.cred != "live" && p.status == 200 && p.start.After(acked) {
				late = max(late, p.start.Sub(acked))
				if p.start.Sub(acked) > propagationBound {
					var logs string
					for _, n := range c.nodes {
						if n.name == p.node {
							logs = n.logText()
						}
					}
					t.Fatalf("trial %d: %s answered 200 for the revoked %s %v after the logout was acknowledged (killed at %s)\n%s", trial, p.node, p.cred, p.start.Sub(acked), killed.Format("15:04:05.000000"), logs)
				}
			}
			if p.status >= 500 && p.status != 503 {
				t.Fatalf("trial %d: %s answered %d", trial, p.node, p.status)
			}
			if p.cred == "live" && p.start.After(killed) {
				switch p.status {
				case 200:
					window = max(window, p.start.Sub(killed))
				case 503:
					outage[p.node] = true
				}
			}
		}
		for _, n := range c.nodes {
			if !outage[n.name] {
				counts := map[string]map[int]int{}
				for _, p := range probes {
					if p.start.After(killed) {
						if counts[p.node+" "+p.cred] == nil {
							counts[p.node+" "+p.cred] = map[int]int{}
						}
						counts[p.node+" "+p.cred][p.status]++
					}
				}
				t.Fatalf("trial %d: %s never answered 503 while Redis was down: %v\n%s", trial, n.name, counts, n.logText())
			}
		}
		windows = append(windows, window)
		lates = append(lates, late)
		r.start()
		waitHealthy(t, c.nodes)
		for _, n := range c.nodes {
			for _, cr := range []credential{{cookie: cookie}, {bearer: bearer}, {bearer: keeper}} {
				n.eventually(401, cr.cookie, cr.bearer) // Redis restarted empty
			}
		}
	}
	t.Logf("window from Redis's death to the last live answer served from a view, per trial: %v", windows)
	t.Logf("latest 200 for a revoked credential after the acknowledgement, per trial: %v", lates)
}
