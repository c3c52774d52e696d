package multinode

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// deadline bounds how long a revocation may take to reach another node in
// these tests; the measured latency belongs to bench/cmd/propagation.
const deadline = 5 * time.Second

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/sesame once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sesame-multinode")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "sesame")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/sesame").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// need returns the environment variable name's value, skipping the test
// when it is unset (failing under CI=true).
func need(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		msg := name + " is not set: start the servers with `eval \"$(bash .ci/services start)\"` (see .ci/services)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return v
}

// deployment is where the nodes keep their data.
type deployment struct {
	db       string // --db
	sessions string // --sessions, or ""
	env      []string
}

// node is one running `sesame serve` process.
type node struct {
	t    *testing.T
	name string
	url  string
	cmd  *exec.Cmd
	logs *bytes.Buffer
	mu   sync.Mutex
}

// cluster is n nodes over one deployment.
type cluster struct {
	t     *testing.T
	dep   deployment
	nodes []*node
	env   []string
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newCluster(t *testing.T, dep deployment, n int) *cluster {
	t.Helper()
	master := make([]byte, 32)
	rand.Read(master)
	c := &cluster{t: t, dep: dep, env: append(os.Environ(),
		"SESAME_MASTER_KEY="+base64.StdEncoding.EncodeToString(master))}
	c.env = append(c.env, dep.env...)
	for i := range n {
		c.nodes = append(c.nodes, c.start(fmt.Sprintf("node%c", 'A'+i)))
	}
	return c
}

func (c *cluster) args(extra ...string) []string {
	a := []string{"--db", c.dep.db}
	if c.dep.sessions != "" {
		a = append(a, "--sessions", c.dep.sessions)
	}
	return append(a, extra...)
}

// sesame runs a CLI command against the deployment.
func (c *cluster) sesame(stdin string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(binary(c.t), args...)
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("sesame %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (c *cluster) start(name string) *node {
	c.t.Helper()
	n := &node{t: c.t, name: name, logs: &bytes.Buffer{}}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "warn", "--trusted-proxies", "127.0.0.1",
		"--issuer", "https://sesame.test"}, c.args()...)
	n.cmd = exec.Command(binary(c.t), args...)
	n.cmd.Env = c.env
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	n.cmd.Stderr = &lockedWriter{n: n}
	if err := n.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { n.stop() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case line := <-lines:
		u := strings.TrimPrefix(line, "sesame listening on ")
		n.url = strings.Replace(u, "localhost", "127.0.0.1", 1)
	case <-time.After(30 * time.Second):
		c.t.Fatalf("%s did not start:\n%s", name, n.logText())
	}
	return n
}

type lockedWriter struct{ n *node }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.n.mu.Lock()
	defer w.n.mu.Unlock()
	return w.n.logs.Write(p)
}

func (n *node) logText() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.logs.String()
}

func (n *node) stop() {
	if n.cmd.Process == nil || n.cmd.ProcessState != nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		n.cmd.Process.Kill()
		<-done
	}
}

var client = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// call sends a request as a non-browser client: no Origin; a session
// cookie or a Bearer token as given.
func (n *node) call(method, path string, body any, cookie, bearer string) (int, []byte) {
	n.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, n.url+path, rd)
	if err != nil {
		n.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != "" {
		req.Header.Set("Cookie", "__Host-sesame="+cookie)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (n *node) want(status int, method, path string, body any, cookie, bearer string) []byte {
	n.t.Helper()
	got, b := n.call(method, path, body, cookie, bearer)
	if got != status {
		n.t.Fatalf("%s %s %s: got %d %s, want %d", n.name, method, path, got, b, status)
	}
	return b
}

// loginCookie logs in with a session cookie and returns its value.
func (n *node) loginCookie(user, pw string) string {
	n.t.Helper()
	req, _ := http.NewRequest("POST", n.url+"/api/v1/login", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw)))
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		n.t.Fatalf("%s cookie login: got %d %s", n.name, res.StatusCode, b)
	}
	for _, ck := range res.Cookies() {
		if ck.Name == "__Host-sesame" {
			return ck.Value
		}
	}
	n.t.Fatal("cookie login set no session cookie")
	return ""
}

type pair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// loginBearer logs in with the header transport.
func (n *node) loginBearer(user, pw string) pair {
	n.t.Helper()
	var p pair
	json.Unmarshal(n.want(200, "POST", "/api/v1/login", map[string]string{"username": user, "password": pw, "transport": "header"}, "", ""), &p)
	return p
}

// sessionID returns the session ID behind a bearer token.
func (n *node) sessionID(bearer string) string {
	n.t.Helper()
	var me struct {
		Session struct{ ID string } `json:"session"`
	}
	json.Unmarshal(n.want(200, "GET", "/api/v1/me", nil, "", bearer), &me)
	return me.Session.ID
}

// eventually polls until GET /api/v1/me with the credential answers want.
func (n *node) eventually(want int, cookie, bearer string) time.Duration {
	n.t.Helper()
	start := time.Now()
	for {
		got, b := n.call("GET", "/api/v1/me", nil, cookie, bearer)
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > deadline {
			n.t.Fatalf("%s: /me got %d %s after %v, want %d", n.name, got, b, deadline, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// freePort returns a free loopback TCP port.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var bg = context.Background()

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// run runs a CLI command with exactly the environment env (nil: the
// cluster's) and returns its exit code and combined output, without
// failing the test.
func (c *cluster) run(env []string, stdin string, args ...string) (int, string) {
	c.t.Helper()
	if env == nil {
		env = c.env
	}
	ctx, cancel := context.WithTimeout(bg, time.Minute) // a serve that should have refused to start
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(c.t), args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		c.t.Fatalf("sesame %s: still running after a minute:\n%s", strings.Join(args, " "), out)
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		c.t.Fatalf("sesame %s: %v", strings.Join(args, " "), err)
	}
	return 0, string(out)
}

// envWithout returns env without the variables named.
func envWithout(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		keep := true
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}
