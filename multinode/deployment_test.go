package multinode

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// configured returns dep with a shared configuration file, which every
// node and every CLI command of the cluster reads through SESAME_CONFIG:
// one deployment, one configuration.
func configured(t *testing.T, dep deployment) (deployment, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "sesame.yaml")
	text := fmt.Sprintf("db: %q\nissuer: https://sesame.test\ntrusted_proxies: [127.0.0.1]\nlog_level: warn\n", dep.db)
	if dep.sessions != "" {
		text += fmt.Sprintf("sessions: %q\n", dep.sessions)
	}
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	dep.env = append(dep.env, "SESAME_CONFIG="+file)
	return dep, file
}

// refreshStatus is the status of a refresh with the token on n.
func (n *node) refreshStatus(refresh string) int {
	n.t.Helper()
	status, _ := n.call("POST", "/api/v1/token/refresh", map[string]string{"refresh_token": refresh}, "", "")
	return status
}

// The Redis scenario of an operator blocking a user from the command line,
// with three real nodes and session state in a real Redis: the block ends
// every session and refresh family on every node at once, the blocked
// user's refresh and access tokens fail, unblocking revives nothing, and a
// command that was not given the session store refuses (exit 2) and
// changes nothing (SEC-13).
func TestBlockFromCLIWithRedis(t *testing.T) {
	dep, _ := configured(t, redisDeployment(t))
	c := newCluster(t, dep, 3)
	a, b, cc := c.nodes[0], c.nodes[1], c.nodes[2]
	c.sesame(pw+"\n", "user", "add", "--password-stdin", "alice")

	cookie := a.loginCookie("alice", pw)
	pb, pc := b.loginBearer("alice", pw), cc.loginBearer("alice", pw)
	for _, n := range c.nodes { // one deployment: every node accepts every node's credentials
		n.want(200, "GET", "/api/v1/me", nil, cookie, "")
		n.want(200, "GET", "/api/v1/me", nil, "", pb.AccessToken)
		n.want(200, "GET", "/api/v1/me", nil, "", pc.AccessToken)
	}

	// Without the deployment's configuration the CLI does not know where
	// session state lives: it refuses, names the setting, and changes
	// nothing.
	bare := envWithout(c.env, "SESAME_CONFIG")
	for _, args := range [][]string{
		{"user", "block", "--db", dep.db, "alice"},
		{"user", "passwd", "--password-stdin", "--db", dep.db, "alice"},
		{"sessions", "revoke", "--db", dep.db, "--user", "alice"},
		{"sessions", "list", "--db", dep.db},
	} {
		code, out := c.run(bare, "another password 123\n", args...)
		if code != 2 || !strings.Contains(out, "sessions") || !strings.Contains(out, "redis") {
			t.Fatalf("sesame %s without the session store: got exit %d, output %q; want exit 2 naming sessions", strings.Join(args, " "), code, out)
		}
	}
	for _, n := range c.nodes {
		n.want(200, "GET", "/api/v1/me", nil, cookie, "")
		n.want(200, "GET", "/api/v1/me", nil, "", pb.AccessToken)
	}
	if out := c.sesame("", "user", "list"); !strings.Contains(out, "active") {
		t.Fatalf("a refused block changed the user: %s", out)
	}

	if out := c.sesame("", "user", "block", "alice"); !strings.Contains(out, "blocked alice") {
		t.Fatalf("user block: %s", out)
	}
	for _, n := range c.nodes {
		d1 := n.eventually(401, cookie, "")
		d2 := n.eventually(401, "", pb.AccessToken)
		d3 := n.eventually(401, "", pc.AccessToken)
		t.Logf("%s refused the blocked user's cookie after %v and access tokens after %v, %v", n.name, d1, d2, d3)
		for _, r := range []string{pb.RefreshToken, pc.RefreshToken} {
			if got := n.refreshStatus(r); got != 401 {
				t.Fatalf("%s: the blocked user's refresh token: got %d, want 401", n.name, got)
			}
		}
	}
	if code, _ := a.call("POST", "/api/v1/login", map[string]string{"username": "alice", "password": pw}, "", ""); code != 403 {
		t.Fatalf("login while blocked: got %d, want 403", code)
	}

	if out := c.sesame("", "user", "unblock", "alice"); !strings.Contains(out, "unblocked alice") {
		t.Fatalf("user unblock: %s", out)
	}
	for _, n := range c.nodes { // nothing revived
		n.want(401, "GET", "/api/v1/me", nil, cookie, "")
		n.want(401, "GET", "/api/v1/me", nil, "", pb.AccessToken)
		for _, r := range []string{pb.RefreshToken, pc.RefreshToken} {
			if got := n.refreshStatus(r); got != 401 {
				t.Fatalf("%s: a refresh token of before the block after unblock: got %d, want 401", n.name, got)
			}
		}
	}

	// "revoked N" counts what was revoked: two new sessions, on two nodes.
	fresh := a.loginCookie("alice", pw)
	other := b.loginBearer("alice", pw)
	out := c.sesame("", "sessions", "revoke", "--user", "alice")
	if !strings.Contains(out, "revoked 2 session(s) of alice") {
		t.Fatalf("sessions revoke --user: got %q, want 2 sessions", out)
	}
	for _, n := range c.nodes {
		n.eventually(401, fresh, "")
		n.eventually(401, "", other.AccessToken)
	}
	if out := c.sesame("", "sessions", "revoke", "--user", "alice"); !strings.Contains(out, "revoked 0 session(s)") {
		t.Fatalf("a second revoke: got %q, want 0", out)
	}
}

// A node whose configuration contradicts the deployment's recorded
// identity (another issuer, no issuer, another master key, another session
// store) refuses to start and says what differs and how to fix it; a node
// with the deployment's configuration starts and accepts the others'
// tokens.
func TestContradictingNodeRefusesToStart(t *testing.T) {
	dep, file := configured(t, sqliteDeployment(t))
	c := newCluster(t, dep, 2)
	c.sesame(pw+"\n", "user", "add", "--password-stdin", "alice")
	p := c.nodes[0].loginBearer("alice", pw)
	c.nodes[1].want(200, "GET", "/api/v1/me", nil, "", p.AccessToken)

	otherKey := make([]byte, 32)
	rand.Read(otherKey)
	cases := []struct {
		name  string
		env   []string
		args  []string
		wants []string
	}{
		{"another issuer", c.env, []string{"--issuer", "https://other.test"},
			[]string{"issuer is https://other.test", "deployment's is https://sesame.test", "set-identity"}},
		{"no issuer", envWithout(c.env, "SESAME_CONFIG"), []string{"--db", dep.db},
			[]string{"no public_url", "https://sesame.test"}},
		{"another master key", append(envWithout(c.env, "SESAME_MASTER_KEY"), "SESAME_MASTER_KEY="+base64.StdEncoding.EncodeToString(otherKey)), nil,
			[]string{"master key", "fingerprint", "SESAME_MASTER_KEY"}},
		{"an unreachable session store", c.env, []string{"--sessions", "redis://:secret-pw-0x51@127.0.0.1:1/0"},
			[]string{"open sessions store redis://"}},
	}
	if url := os.Getenv("SESAME_TEST_REDIS_URL"); url != "" {
		cases = append(cases, struct {
			name  string
			env   []string
			args  []string
			wants []string
		}{"another session store", c.env, []string{"--sessions", url},
			[]string{"session state is configured in redis", "the deployment keeps it in the db database", "set-identity"}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...)
			code, out := c.run(tc.env, "", args...)
			if code != 1 || strings.Contains(out, "listening") {
				t.Fatalf("got exit %d, output %q; want exit 1 before listening", code, out)
			}
			if strings.Contains(out, "secret-pw-0x51") || strings.Count(strings.TrimSpace(out), "\n") > 0 {
				t.Errorf("want one line without the password, got %q", out)
			}
			for _, w := range tc.wants {
				if !strings.Contains(out, w) {
					t.Errorf("output %q does not say %q", out, w)
				}
			}
		})
	}
	// The record changes only deliberately: set-identity, then nodes with
	// the new issuer start.
	code, out := c.run(nil, "", "config", "set-identity", "--issuer", "https://new.test")
	if code != 2 || !strings.Contains(out, "--yes") {
		t.Fatalf("set-identity without --yes: got %d %q", code, out)
	}
	if out := c.sesame("", "config", "set-identity", "--issuer", "https://new.test", "--yes"); !regexp.MustCompile(`issuer\s+https://new.test`).MatchString(out) {
		t.Fatalf("set-identity: %s", out)
	}
	code, out = c.run(nil, "", "serve", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(out, "deployment's is https://new.test") {
		t.Fatalf("a node with the old issuer after set-identity: got %d %q", code, out)
	}
	_ = file
}

// A key rotation from the command line reaches every node's JWKS within
// seconds: the CLI notifies the nodes through the deployment's notifier.
func TestKeysRotateReachesEveryNode(t *testing.T) {
	dep, _ := configured(t, redisDeployment(t))
	c := newCluster(t, dep, 3)
	out := c.sesame("", "keys", "rotate")
	if strings.Contains(out, "within 5 seconds") {
		t.Fatalf("keys rotate sent no notification: %s", out)
	}
	kid := regexp.MustCompile(`new signing key (\S+)`).FindStringSubmatch(out)
	if kid == nil {
		t.Fatalf("keys rotate: %s", out)
	}
	for _, n := range c.nodes {
		start := time.Now()
		for {
			_, b := n.call("GET", "/.well-known/jwks.json", nil, "", "")
			if strings.Contains(string(b), kid[1]) {
				t.Logf("%s published the new key after %v", n.name, time.Since(start))
				break
			}
			if time.Since(start) > deadline {
				n.t.Fatalf("%s: the new key %s is not in the JWKS after %v", n.name, kid[1], deadline)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
