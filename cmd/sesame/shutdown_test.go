package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testlog"
)

// TestGracefulShutdown runs the real binary and stops it with signals
// (issue 14, item 5). The three cases share one build and run in parallel.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the sesame binary; skipped with -short")
	}
	t.Parallel()
	bin := buildBinary(t, t.TempDir())
	t.Run("under load", func(t *testing.T) { t.Parallel(); testShutdownUnderLoad(t, bin) })
	t.Run("cuts after shutdown_timeout", func(t *testing.T) { t.Parallel(); testShutdownCuts(t, bin) })
	t.Run("second signal", func(t *testing.T) { t.Parallel(); testShutdownSecondSignal(t, bin) })
}

// proc is `sesame serve` running as a separate process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	host   string // host:port of the listener
	stderr *testlog.Buffer
	exited chan struct{} // closed once the process is gone
	err    error         // Wait's error, once exited is closed
}

// startProc starts `sesame serve` on the world's database with extra flags
// and waits for its printed URL. It is killed at cleanup whatever happens.
func startProc(w *world, bin string, extra ...string) *proc {
	t := w.t
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", w.db, "--log-level", "debug"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = withoutSesameEnv(os.Environ())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: w.output("child serve (stderr)"), exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() // an error once it has exited
		<-p.exited
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
		p.err = cmd.Wait() // after the pipe is drained, as Wait requires
		close(p.exited)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("child serve exited before printing its URL; stderr:\n%s", p.stderr)
		}
		p.url = parseListening(t, line)
	case <-time.After(30 * time.Second):
		t.Fatalf("child serve printed no URL within 30s; stderr:\n%s", p.stderr)
	}
	u, err := url.Parse(p.url)
	if err != nil {
		t.Fatal(err)
	}
	p.host = "127.0.0.1:" + u.Port()
	return p
}

func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("send %v: %v", sig, err)
	}
}

// wait waits up to bound for the process to exit and returns its exit
// code.
func (p *proc) wait(t *testing.T, bound time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(bound):
		t.Fatalf("serve did not exit within %v; stderr:\n%s", bound, p.stderr)
		return -1
	}
}

// waitLog waits until the server's stderr contains s.
func (p *proc) waitLog(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.stderr.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not log %q within 30 s; stderr:\n%s", s, p.stderr)
		}
		select {
		case <-p.exited:
			if !strings.Contains(p.stderr.String(), s) {
				t.Fatalf("serve exited without logging %q; stderr:\n%s", s, p.stderr)
			}
		case <-time.After(5 * time.Millisecond): // polling, not a timing assertion
		}
	}
}

// slowUpload is a POST /api/v1/login whose body arrives in two parts, on
// a connection of its own: the server holds it as a request in flight
// (its handler reading the body) until the second part is sent.
type slowUpload struct {
	conn net.Conn
	br   *bufio.Reader
	rest string
}

// startSlowUpload sends the request's head with "Expect: 100-continue"
// and returns once the server has answered 100 Continue, which it does
// when the handler starts reading the body: from then on the request is
// in flight on the server. Then it sends half of the body.
func startSlowUpload(t *testing.T, base, user, pw string) *slowUpload {
	t.Helper()
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", "127.0.0.1:"+u.Port())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	head := "POST /api/v1/login HTTP/1.1\r\nHost: " + u.Host + "\r\nOrigin: " + base +
		"\r\nContent-Type: application/json\r\nUser-Agent: sesame-shutdown-test/1.0\r\nExpect: 100-continue\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("slow upload: got %q, %v, want 100 Continue", line, err)
	}
	for line != "\r\n" {
		if line, err = br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	conn.SetReadDeadline(time.Time{})
	half := len(body) / 2
	if _, err := conn.Write([]byte(body[:half])); err != nil {
		t.Fatal(err)
	}
	return &slowUpload{conn: conn, br: br, rest: body[half:]}
}

// finish sends the rest of the body and returns the response's status.
func (u *slowUpload) finish() (int, error) {
	resp, err := u.finishResponse()
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// finishResponse sends the rest of the body and returns the response,
// its body read.
func (u *slowUpload) finishResponse() (*http.Response, error) {
	if _, err := u.conn.Write([]byte(u.rest)); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(u.br, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err != nil {
		return nil, err
	}
	return resp, nil
}

// isRefused reports whether err is a refused connection.
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// call is one request of the load, as the client saw it.
type call struct {
	what       string
	start, end time.Time
	status     int
	err        error
}

// testShutdownUnderLoad: 50 clients loop over logins (real argon2id work)
// and GET /api/v1/me while SIGTERM arrives. Every request sent before the
// signal gets a normal HTTP response, none a reset or an EOF; /healthz
// turns 503 during shutdown_delay while /livez stays 200; once the
// listener is closed a new connection is refused while a request still
// in flight (a slow upload) is waited for and answered; the exit status
// is 0, well before the 10 s bound.
func testShutdownUnderLoad(t *testing.T, bin string) {
	w := newWorld(t)
	p := startProc(w, bin, "--shutdown-delay", "2s", "--metrics-addr", "127.0.0.1:0")
	p.waitLog(t, "sesame metrics listening") // the child's stderr may trail its stdout
	metrics := metricsAddr(t, p.stderr.String())
	c := w.client(p.url)
	const users = 5
	cookies := make([]string, users)
	for i := range users {
		name := fmt.Sprintf("load%d", i)
		c.signup(name, canaryPassword)
		cookies[i] = c.login(name, canaryPassword)
	}
	// The slow upload is in flight from before the signal until after the
	// listener has closed.
	upload := startSlowUpload(t, p.url, "load0", canaryPassword)

	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var (
		mu    sync.Mutex
		calls []call
		stop  atomic.Bool
		done  atomic.Int64
		wg    sync.WaitGroup
	)
	const clients = 50
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user, cookie := i%users, cookies[i%users]
			for n := 0; !stop.Load(); n++ {
				var req *http.Request
				what := "GET /api/v1/me"
				if n%2 == 0 {
					what = "POST /api/v1/login"
					body := fmt.Sprintf(`{"username":"load%d","password":%q}`, user, canaryPassword)
					req, _ = http.NewRequest("POST", p.url+"/api/v1/login", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Origin", p.url)
				} else {
					req, _ = http.NewRequest("GET", p.url+"/api/v1/me", nil)
					req.Header.Set("Cookie", "__Host-sesame="+cookie)
				}
				cl := call{what: what, start: time.Now()}
				resp, err := hc.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					cl.status = resp.StatusCode
				}
				cl.end, cl.err = time.Now(), err
				mu.Lock()
				calls = append(calls, cl)
				mu.Unlock()
				done.Add(1)
				if err != nil && isRefused(err) {
					return // the listener is closed: this client is done
				}
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()
	for loadOn := time.Now().Add(30 * time.Second); done.Load() < 2*clients; { // the load is on
		if time.Now().After(loadOn) {
			t.Fatalf("the load got %d answers in 30 s; stderr:\n%s", done.Load(), p.stderr)
		}
		time.Sleep(5 * time.Millisecond) // polling, not a timing assertion
	}

	signalled := time.Now()
	p.signal(t, syscall.SIGTERM)

	// Readiness turns 503 at once; liveness stays 200; both on fresh
	// connections, as a load balancer's health checks.
	probe := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	got503 := false
	for !got503 {
		resp, err := probe.Get(p.url + "/healthz")
		if err != nil {
			t.Fatalf("GET /healthz during shutdown_delay: %v, want 503 before the listener closes; stderr:\n%s", err, p.stderr)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == 503 && strings.Contains(string(b), `"draining"`):
			got503 = true
		case resp.StatusCode == 200 && time.Since(signalled) < 5*time.Second:
			// the signal is on its way
		default:
			t.Fatalf("GET /healthz after SIGTERM: got %d %s, want 503 {\"status\":\"draining\"}", resp.StatusCode, b)
		}
	}
	if !strings.Contains(p.stderr.String(), "sesame stopping") {
		// Still within shutdown_delay: liveness is unaffected.
		resp, err := probe.Get(p.url + "/livez")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("GET /livez while draining: got %d, want 200", resp.StatusCode)
			}
		} else if !strings.Contains(p.stderr.String(), "sesame stopping") {
			t.Errorf("GET /livez while draining: %v", err)
		}
	}

	// The listener closes after shutdown_delay; the slow upload keeps the
	// process in its shutdown meanwhile, so a refusal is the closed
	// listener's, not a dead process's.
	p.waitLog(t, "sesame stopping")
	if conn, err := net.Dial("tcp", p.host); err == nil {
		conn.Close()
		t.Errorf("a new connection once the listener is closed: accepted, want refused")
	} else if !isRefused(err) {
		t.Errorf("a new connection once the listener is closed: %v, want connection refused", err)
	}
	select {
	case <-p.exited:
		t.Fatalf("serve exited while a request was in flight; stderr:\n%s", p.stderr)
	default:
	}
	// The metrics listener answers until the end (it closes last).
	if resp, err := probe.Get("http://" + metrics + "/metrics"); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET /metrics on metrics_addr while HTTP drains: got %v, %v, want 200", resp, err)
	} else {
		resp.Body.Close()
	}
	if status, err := upload.finish(); err != nil || status != http.StatusOK && status != http.StatusServiceUnavailable {
		t.Errorf("the slow upload in flight across the shutdown: got %d, %v, want a normal answer (200, or 503 from the busy hashing gate)", status, err)
	}

	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("serve after SIGTERM: got exit %d, want 0; stderr:\n%s", code, p.stderr)
	}
	if took := time.Since(signalled); took > 10*time.Second {
		t.Errorf("serve took %v to exit; want it to finish well within shutdown_delay + shutdown_timeout (12 s)", took)
	}
	stop.Store(true)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	inFlight, before, after, refused, broken := 0, 0, 0, 0, 0
	for _, cl := range calls {
		if cl.start.After(signalled) {
			// Sent during shutdown_delay (answered, with Connection:
			// close), or after the listener closed (refused); a few
			// racing the listener's close by a millisecond are reset by
			// the kernel: by then the load balancer sends none.
			after++
			switch {
			case cl.err != nil && isRefused(cl.err):
				refused++
			case cl.err != nil:
				broken++
			}
			continue
		}
		before++
		if cl.end.After(signalled) {
			inFlight++
		}
		if cl.err != nil {
			t.Errorf("%s sent %v before SIGTERM: %v, want a normal HTTP response", cl.what, signalled.Sub(cl.start), cl.err)
			continue
		}
		switch cl.status {
		case http.StatusOK, http.StatusServiceUnavailable: // 503: the hashing gate's "busy", an answer
		default:
			t.Errorf("%s sent before SIGTERM: got status %d, want 200 (or 503 busy)", cl.what, cl.status)
		}
	}
	t.Logf("%d requests sent before SIGTERM (%d in flight when it arrived); %d after: %d answered, %d refused, %d cut racing the listener's close",
		before, inFlight, after, after-refused-broken, refused, broken)
	if inFlight == 0 {
		t.Errorf("no request was in flight when SIGTERM arrived: the test proved nothing")
	}
	for _, s := range []string{"sesame draining", "sesame stopped"} {
		if !strings.Contains(p.stderr.String(), s) {
			t.Errorf("stderr lacks %q:\n%s", s, p.stderr)
		}
	}
	if strings.Contains(p.stderr.String(), "were cut") {
		t.Errorf("a connection was cut in a shutdown within its bound:\n%s", p.stderr)
	}
}

// testShutdownCuts: with shutdown_timeout=1s, a request that never
// finishes (its body never arrives) is cut once the bound passes, the log
// says how many connections were cut, and the exit status is 1; an open
// revocation stream does not count: it ends at once when the listener
// closes.
func testShutdownCuts(t *testing.T, bin string) {
	w := newWorld(t)
	p := startProc(w, bin, "--shutdown-timeout", "1s")
	c := w.client(p.url)
	c.signup("alice", canaryPassword)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", p.url+"/api/v1/revocations/stream", nil)
	req.Header.Set("Accept", "text/event-stream")
	stream, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("open a revocation stream: %v %v", stream, err)
	}
	defer stream.Body.Close()
	br := bufio.NewReader(stream.Body)
	if _, err := br.ReadString('\n'); err != nil { // the stream is open on the server
		t.Fatal(err)
	}
	upload := startSlowUpload(t, p.url, "alice", canaryPassword) // never finished

	signalled := time.Now()
	p.signal(t, syscall.SIGTERM)
	streamEnded := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, br); streamEnded <- err }()

	code := p.wait(t, 20*time.Second)
	took := time.Since(signalled)
	if code != 1 {
		t.Fatalf("serve with a request still in flight after shutdown_timeout: got exit %d, want 1; stderr:\n%s", code, p.stderr)
	}
	if took > 8*time.Second {
		t.Errorf("serve took %v to exit with shutdown_timeout=1s; the 10 s default would have been about as slow", took)
	}
	logs := p.stderr.String()
	if !strings.Contains(logs, "connections still open after shutdown_timeout were cut") || !strings.Contains(logs, "cut=1") {
		t.Errorf("stderr does not say that one connection was cut:\n%s", logs)
	}
	if !strings.Contains(logs, "1 connection(s) still open after shutdown_timeout (1s) were cut") {
		t.Errorf("stderr lacks the exit message:\n%s", logs)
	}
	select {
	case err := <-streamEnded:
		if err != nil {
			t.Errorf("the revocation stream: %v, want a clean end when the listener closed", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("the revocation stream did not end")
	}
	upload.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := upload.br.ReadByte(); err == nil {
		t.Error("the cut upload's connection: got data, want it closed")
	}
}

// testShutdownSecondSignal: a second signal during the shutdown exits at
// once (status 1, logged), without waiting for the request in flight or
// the 30 s shutdown_timeout.
func testShutdownSecondSignal(t *testing.T, bin string) {
	w := newWorld(t)
	p := startProc(w, bin, "--shutdown-timeout", "30s")
	c := w.client(p.url)
	c.signup("alice", canaryPassword)
	startSlowUpload(t, p.url, "alice", canaryPassword) // never finished: holds the shutdown

	p.signal(t, os.Interrupt)
	p.waitLog(t, "sesame stopping") // the listener is closed; the shutdown waits
	select {
	case <-p.exited:
		t.Fatalf("serve exited before the second signal; stderr:\n%s", p.stderr)
	default:
	}
	second := time.Now()
	p.signal(t, syscall.SIGTERM)
	code := p.wait(t, 20*time.Second)
	if code != 1 {
		t.Fatalf("serve after a second signal: got exit %d, want 1; stderr:\n%s", code, p.stderr)
	}
	if took := time.Since(second); took > 10*time.Second {
		t.Errorf("serve took %v to exit after the second signal; want at once (the shutdown_timeout was 30 s)", took)
	}
	logs := p.stderr.String()
	if !strings.Contains(logs, "second signal: exiting at once") || !strings.Contains(logs, "signal=terminated") {
		t.Errorf("stderr does not log the second signal:\n%s", logs)
	}
	if strings.Contains(logs, "sesame stopped") {
		t.Errorf("stderr says stopped after an immediate exit:\n%s", logs)
	}
}

// metricsAddr is the metrics listener's address, from serve's log.
func metricsAddr(t *testing.T, stderr string) string {
	t.Helper()
	m := regexp.MustCompile(`msg="sesame metrics listening" addr=(127\.0\.0\.1:\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no \"sesame metrics listening\" log line with its address; stderr:\n%s", stderr)
	}
	return m[1]
}

// TestServeMetricsListener: with --metrics-addr, serve answers GET
// /metrics on that listener only (the public one does not serve it) and
// closes it on shutdown (testShutdownUnderLoad checks that it answers
// until HTTP has drained). A metrics address that cannot be bound fails
// the start before anything is created.
func TestServeMetricsListener(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := w.serve("--metrics-addr", "127.0.0.1:0")
	addr := metricsAddr(t, s.stderr.String())
	resp, err := httpClient.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || len(body) == 0 {
		t.Errorf("GET /metrics on metrics_addr: got %d %q (%d bytes), want 200 text/plain", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	if resp, err := httpClient.Get(s.url + "/metrics"); err != nil || resp.StatusCode != 404 {
		t.Errorf("GET /metrics on the public listener: got %v %v, want 404", resp, err)
	} else {
		resp.Body.Close()
	}
	if code := s.stop(t); code != 0 {
		t.Fatalf("serve after cancellation: got exit %d, want 0; stderr:\n%s", code, s.stderr)
	}
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Error("the metrics listener accepts connections after serve returned")
	}

	// A busy metrics address: exit 1, nothing created.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	w2 := newWorld(t)
	r := w2.run("", "serve", "--addr", "127.0.0.1:0", "--db", w2.db, "--metrics-addr", busy.Addr().String())
	if r.code != 1 || !strings.Contains(r.stderr, "metrics_addr") || strings.Contains(r.stdout, "listening") {
		t.Errorf("serve with a busy metrics_addr: got exit %d, stdout %q, stderr %q; want 1 naming metrics_addr, before listening", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(w2.db); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("database file after a refused start: got stat error %v, want it not to exist", err)
	}
}

// TestServeDrainClosesConnections: while serve drains (during
// shutdown_delay), every response closes its connection, also that of a
// request which began before the drain, so that keep-alive clients come
// back through the load balancer and no idle keep-alive connection is
// left for the listener's close to cut under a client's next request.
// Before the drain, connections are kept alive.
func TestServeDrainClosesConnections(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := w.serve("--shutdown-delay", "3s")
	c := w.client(s.url)
	c.signup("alice", canaryPassword)
	resp, err := httpClient.Get(s.url + "/livez")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Close {
		t.Fatal("GET /livez before the drain: got Connection: close, want keep-alive")
	}
	upload := startSlowUpload(t, s.url, "alice", canaryPassword) // begun before the drain

	s.cancel() // as the first signal does
	for {
		resp, err := httpClient.Get(s.url + "/healthz")
		if err != nil {
			t.Fatalf("GET /healthz during shutdown_delay: %v; stderr:\n%s", err, s.stderr)
		}
		resp.Body.Close()
		if resp.StatusCode == 503 {
			if !resp.Close {
				t.Error("GET /healthz while draining: want Connection: close")
			}
			break
		}
		time.Sleep(5 * time.Millisecond) // polling, not a timing assertion
	}
	if strings.Contains(s.stderr.String(), "sesame stopping") {
		t.Fatalf("shutdown_delay (3s) passed before the checks ran; stderr:\n%s", s.stderr)
	}
	resp, err = httpClient.Get(s.url + "/livez")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !resp.Close {
		t.Errorf("GET /livez while draining: got %d, Close %v, want 200 with Connection: close", resp.StatusCode, resp.Close)
	}
	r, err := upload.finishResponse()
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("the login begun before the drain: got %v, %v, want 200", r, err)
	}
	if !r.Close {
		t.Error("the login begun before the drain and answered during it: want Connection: close")
	}
	if code := s.stop(t); code != 0 {
		t.Fatalf("serve: got exit %d, want 0; stderr:\n%s", code, s.stderr)
	}
}
