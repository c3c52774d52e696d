package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/sesame-auth/sesame/internal/testlog"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Passwords used by the tests. Each is planted as a canary: it must never
// appear in any output a command or server writes (SEC-54).
const (
	canaryPassword  = "canary-pw-7f3a9c1e-lantern"
	canaryPassword2 = "canary-pw-2b8d4e6f-harbour"
)

// world is one test's database file plus every output written into it by
// the commands and servers the test ran. At cleanup it checks that no
// recorded secret (password or session token) appears in any output.
type world struct {
	t  *testing.T
	db string

	mu      sync.Mutex
	secrets []string
	outputs map[string]*testlog.Buffer
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, db: filepath.Join(t.TempDir(), "sesame.db"), outputs: map[string]*testlog.Buffer{}}
	w.secret(canaryPassword, canaryPassword2)
	// Registered first, so it runs last: after every server has stopped and
	// flushed its logs.
	t.Cleanup(w.checkNoSecrets)
	return w
}

// secret records values that must never be printed.
func (w *world) secret(s ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.secrets = append(w.secrets, s...)
}

// output returns a new buffer recorded under name for the secrets check.
func (w *world) output(name string) *testlog.Buffer {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := &testlog.Buffer{}
	w.outputs[fmt.Sprintf("%s #%d", name, len(w.outputs))] = b
	return b
}

func (w *world) checkNoSecrets() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, out := range w.outputs {
		text := out.String()
		for _, s := range w.secrets {
			if s != "" && strings.Contains(text, s) {
				w.t.Errorf("%s printed the secret %q:\n%s", name, s, text)
			}
		}
	}
}

// result is what one command run produced.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the sesame command line in process with the given stdin and
// returns its exit code and output; the output is recorded for the
// secrets check.
func (w *world) run(stdin string, args ...string) result {
	w.t.Helper()
	return w.runIn(strings.NewReader(stdin), args...)
}

// runIn is run with any reader as standard input.
func (w *world) runIn(stdin io.Reader, args ...string) result {
	w.t.Helper()
	name := strings.Join(args, " ")
	stdout, stderr := w.output(name+" (stdout)"), w.output(name+" (stderr)")
	// A bound against a hung command, not a timing check: a resumed
	// migrate of 5000 sessions under -race on a loaded machine took over 30 s.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := Run(ctx, args, stdin, stdout, stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// runDB is run with --db pointing at the world's database, inserted after
// the command words (Go's flag package stops at the first argument).
func (w *world) runDB(stdin string, args ...string) result {
	w.t.Helper()
	n := 1
	if len(args) > 1 && (args[0] == "user" || args[0] == "sessions") {
		n = 2
	}
	n = min(n, len(args))
	withDB := append(append(append([]string{}, args[:n]...), "--db", w.db), args[n:]...)
	return w.run(stdin, withDB...)
}

// mustRun fails the test unless the command exits with want.
func (w *world) mustRun(want int, stdin string, args ...string) result {
	w.t.Helper()
	r := w.runDB(stdin, args...)
	if r.code != want {
		w.t.Fatalf("sesame %s: got exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// addUser creates a user through `sesame user add --password-stdin
// --create` (the database may not exist yet).
func (w *world) addUser(name, pw string, admin bool) {
	w.t.Helper()
	args := []string{"user", "add", "--password-stdin", "--create"}
	if admin {
		args = append(args, "--admin")
	}
	w.mustRun(0, pw+"\n", append(args, name)...)
}

// liveServer is `sesame serve` running in process through Run.
type liveServer struct {
	url    string // as printed: http://localhost:PORT
	stderr *testlog.Buffer
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
	code   int           // Run's exit code, once done is closed
}

// serve starts `sesame serve --addr 127.0.0.1:0 --db <world db>` plus
// extra flags and waits for the printed URL. The server is stopped at
// cleanup.
func (w *world) serve(extra ...string) *liveServer {
	w.t.Helper()
	return w.serveArgs(append([]string{"serve", "--addr", "127.0.0.1:0", "--db", w.db, "--log-level", "debug"}, extra...)...)
}

// serveArgs starts Run with exactly args and waits for the printed URL.
func (w *world) serveArgs(args ...string) *liveServer {
	w.t.Helper()
	t := w.t
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &liveServer{stderr: w.output("serve (stderr)"), cancel: cancel, done: make(chan struct{})}
	stdout := w.output("serve (stdout)")
	go func() {
		s.code = Run(ctx, args, strings.NewReader(""), pw, s.stderr)
		pw.Close()
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
			if s.code != 0 {
				t.Errorf("serve: got exit %d at shutdown, want 0; stderr:\n%s", s.code, s.stderr)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("serve did not return within 15s of cancellation")
		}
	})

	lines := make(chan string, 1)
	go func() {
		br := bufio.NewReader(pr)
		line, err := br.ReadString('\n')
		stdout.Write([]byte(line))
		if err == nil {
			lines <- line
		}
		close(lines)
		io.Copy(stdout, br) // keep draining so later writes never block
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			<-s.done
			t.Fatalf("serve exited with %d before printing its URL; stderr:\n%s", s.code, s.stderr)
		}
		s.url = parseListening(t, line)
	case <-s.done:
		t.Fatalf("serve exited with %d before printing its URL; stderr:\n%s", s.code, s.stderr)
	case <-time.After(15 * time.Second):
		t.Fatalf("serve printed no URL within 15s; stderr:\n%s", s.stderr)
	}
	return s
}

// stop cancels the server's context and returns Run's exit code.
func (s *liveServer) stop(t *testing.T) int {
	t.Helper()
	s.cancel()
	select {
	case <-s.done:
		return s.code
	case <-time.After(15 * time.Second):
		t.Fatalf("serve did not return within 15s of cancellation")
		return -1
	}
}

// parseListening extracts the URL from "sesame listening on URL\n".
func parseListening(t *testing.T, line string) string {
	t.Helper()
	const prefix = "sesame listening on "
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("got first stdout line %q, want %q", line, prefix+"URL")
	}
	return strings.TrimSpace(strings.TrimPrefix(line, prefix))
}

// client talks to one server like a same-origin browser would, carrying
// the session cookie by hand (the cookie is Secure, which net/http's
// cookiejar would not send over plain http).
type client struct {
	t          *testing.T
	base       string // URL requests go to
	origin     string // Origin header sent on unsafe requests
	cookieName string
	w          *world // receives every token seen, as a secret; may be nil
}

func (w *world) client(base string) *client {
	return &client{t: w.t, base: base, origin: base, cookieName: "__Host-sesame", w: w}
}

var httpClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// do sends one request with the given cookie value ("" for none) and a
// JSON body (nil for none) and returns the response with its body read.
func (c *client) do(method, path, cookie string, body any) (*http.Response, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet && method != http.MethodHead {
		req.Header.Set("Origin", c.origin)
		if cookie != "" {
			// A signed-in browser's unsafe request carries its CSRF token,
			// as Sesame's pages and SPAs send it.
			req.Header.Set("X-CSRF-Token", c.csrfToken(cookie))
		}
	}
	if cookie != "" {
		req.Header.Set("Cookie", c.cookieName+"="+cookie)
	}
	req.Header.Set("User-Agent", "sesame-cli-test/1.0")
	resp, err := httpClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, b
}

// csrfToken fetches the CSRF token of the session whose cookie is given.
func (c *client) csrfToken(cookie string) string {
	c.t.Helper()
	resp, body := c.do(http.MethodGet, "/api/v1/csrf", cookie, nil)
	c.expect(resp, body, http.StatusOK)
	var v struct {
		Token string `json:"csrf_token"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Token == "" {
		c.t.Fatalf("GET /api/v1/csrf: %s", body)
	}
	return v.Token
}

// expect fails the test unless resp has the wanted status.
func (c *client) expect(resp *http.Response, body []byte, want int) {
	c.t.Helper()
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: got status %d, want %d; body: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, body)
	}
}

func (c *client) signup(user, pw string) {
	c.t.Helper()
	resp, body := c.do(http.MethodPost, "/api/v1/signup", "", map[string]any{"username": user, "password": pw})
	c.expect(resp, body, http.StatusCreated)
}

// loginStatus tries to log in and returns the status and, on success, the
// session cookie (which is recorded as a secret).
func (c *client) loginStatus(user, pw string) (int, *http.Cookie) {
	c.t.Helper()
	resp, body := c.do(http.MethodPost, "/api/v1/login", "", map[string]any{"username": user, "password": pw})
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == c.cookieName && ck.Value != "" {
			if c.w != nil {
				c.w.secret(ck.Value)
			}
			return resp.StatusCode, ck
		}
	}
	c.t.Fatalf("login %s: got Set-Cookie %q, want a %s cookie; body: %s", user, resp.Header.Values("Set-Cookie"), c.cookieName, body)
	return 0, nil
}

// login logs in and returns the session token; it fails the test unless
// the login succeeds.
func (c *client) login(user, pw string) string {
	c.t.Helper()
	status, ck := c.loginStatus(user, pw)
	if status != http.StatusOK {
		c.t.Fatalf("login %s: got status %d, want 200", user, status)
	}
	return ck.Value
}

// meStatus is the status of GET /api/v1/me with the token.
func (c *client) meStatus(token string) int {
	c.t.Helper()
	resp, _ := c.do(http.MethodGet, "/api/v1/me", token, nil)
	return resp.StatusCode
}

// sessionIDs returns the IDs from GET /api/v1/sessions.
func (c *client) sessionIDs(token string) []string {
	c.t.Helper()
	resp, body := c.do(http.MethodGet, "/api/v1/sessions", token, nil)
	c.expect(resp, body, http.StatusOK)
	var out struct {
		Sessions []struct {
			ID string `json:"id"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		c.t.Fatalf("decode sessions %s: %v", body, err)
	}
	ids := make([]string, 0, len(out.Sessions))
	for _, s := range out.Sessions {
		ids = append(ids, s.ID)
	}
	return ids
}

// syncDeadline bounds how long a running server may take to notice a
// change made by another process (it polls the change feed every 200 ms).
const syncDeadline = 5 * time.Second

// eventuallyMe polls GET /api/v1/me with token until it answers want, and
// fails the test if it has not by syncDeadline.
func (c *client) eventuallyMe(token string, want int) {
	c.t.Helper()
	deadline := time.Now().Add(syncDeadline)
	got := c.meStatus(token)
	for got != want && time.Now().Before(deadline) {
		time.Sleep(25 * time.Millisecond) // polling interval, not a timing assertion
		got = c.meStatus(token)
	}
	if got != want {
		c.t.Fatalf("GET /api/v1/me: got status %d after %v, want %d", got, syncDeadline, want)
	}
}
