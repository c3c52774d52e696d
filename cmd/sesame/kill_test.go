package main

import (
	"bufio"
	"fmt"
	"github.com/sesame-auth/sesame/internal/testlog"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildBinary builds the sesame command into dir and returns its path.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build the binary: %v", err)
	}
	bin := filepath.Join(dir, "sesame")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// childServer is `sesame serve` running as a separate process.
type childServer struct {
	cmd    *exec.Cmd
	url    string
	stderr *testlog.Buffer
	waited chan error
}

// startChild starts the binary as `serve` on the world's database and
// waits for its printed URL. The process is killed at cleanup whatever
// happens to the test.
func (w *world) startChild(bin string) *childServer {
	t := w.t
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", w.db, "--log-level", "debug")
	cmd.Env = withoutSesameEnv(os.Environ())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &childServer{cmd: cmd, stderr: w.output("child serve (stderr)"), waited: make(chan error, 1)}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() // no-op error when it has already exited
		<-c.waited
	})

	out := w.output("child serve (stdout)")
	lines := make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		line, err := br.ReadString('\n')
		out.Write([]byte(line))
		if err == nil {
			lines <- line
		}
		close(lines)
		io.Copy(out, br)
		c.waited <- cmd.Wait() // after the pipe is drained, as Wait requires
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("child serve exited before printing its URL; stderr:\n%s", c.stderr)
		}
		c.url = parseListening(t, line)
	case <-time.After(30 * time.Second):
		t.Fatalf("child serve printed no URL within 30s; stderr:\n%s", c.stderr)
	}
	return c
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *childServer) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill child serve: %v", err)
	}
	err := <-c.waited
	c.waited <- err // for the cleanup
	if c.cmd.ProcessState == nil || c.cmd.ProcessState.Success() {
		t.Fatalf("child serve after SIGKILL: got wait error %v, want a killed process", err)
	}
}

func withoutSesameEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "SESAME_") {
			out = append(out, kv)
		}
	}
	return out
}

// TestKillNineKeepsAcknowledgedState: after SIGKILL of the server, a restart
// on the same database keeps every user whose sign-up was acknowledged and
// every session whose login was acknowledged, and a logout that was
// acknowledged stays done (issue 2, "Bad input").
func TestKillNineKeepsAcknowledgedState(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the sesame binary; skipped with -short")
	}
	t.Parallel()
	w := newWorld(t)
	bin := buildBinary(t, t.TempDir())

	first := w.startChild(bin)
	c := w.client(first.url)
	const users = 20
	type account struct{ name, token string }
	accounts := make([]account, users)
	for i := range accounts {
		name := fmt.Sprintf("user%02d", i)
		c.signup(name, canaryPassword)
		accounts[i] = account{name: name, token: c.login(name, canaryPassword)}
	}
	// One more session, logged out before the crash: its deletion was
	// acknowledged too.
	loggedOut := c.login(accounts[0].name, canaryPassword)
	resp, body := c.do(http.MethodPost, "/api/v1/logout", loggedOut, nil)
	c.expect(resp, body, http.StatusNoContent)

	first.kill(t)

	second := w.startChild(bin)
	c = w.client(second.url)
	for _, a := range accounts {
		resp, body := c.do(http.MethodGet, "/api/v1/me", a.token, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /api/v1/me with %s's pre-crash cookie: got status %d, want 200; body: %s", a.name, resp.StatusCode, body)
			continue
		}
		if !strings.Contains(string(body), `"`+a.name+`"`) {
			t.Errorf("GET /api/v1/me with %s's pre-crash cookie: got body %s, want it to name %s", a.name, body, a.name)
		}
	}
	if got := c.meStatus(loggedOut); got != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/me with the cookie logged out before the crash: got status %d, want 401", got)
	}
	for _, a := range accounts {
		if status, _ := c.loginStatus(a.name, canaryPassword); status != http.StatusOK {
			t.Errorf("login %s after the crash: got status %d, want 200", a.name, status)
		}
	}
}
