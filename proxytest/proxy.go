package proxytest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/docs/proxy"
)

// Vars are the values of the placeholders of the documented
// configurations (docs/proxy/README.md).
type Vars struct {
	Listen   string // {{LISTEN}}: where the proxy listens, in the file's own syntax
	Sesame   string // {{SESAME}}: Sesame's host:port as the proxy reaches it (plain HTTP)
	Upstream string // {{UPSTREAM}}: the protected app's base URL, no path
}

var placeholder = regexp.MustCompile(`\{\{[A-Z_]+\}\}`)

// Render returns the documented configuration file name (nginx.conf,
// Caddyfile or traefik.yml) with its placeholders replaced by v, and
// nothing else changed. An empty value, or a placeholder left unfilled, is
// an error.
func Render(name string, v Vars) (string, error) {
	if v.Listen == "" || v.Sesame == "" || v.Upstream == "" {
		return "", fmt.Errorf("%s: {{LISTEN}}, {{SESAME}} and {{UPSTREAM}} all need a value (got %+v)", name, v)
	}
	b, err := proxy.Files.ReadFile(name)
	if err != nil {
		return "", err
	}
	s := strings.NewReplacer("{{LISTEN}}", v.Listen, "{{SESAME}}", v.Sesame, "{{UPSTREAM}}", v.Upstream).Replace(string(b))
	if left := placeholder.FindString(s); left != "" {
		return "", fmt.Errorf("%s: placeholder %s not filled", name, left)
	}
	return s, nil
}

// FreePort returns a loopback TCP port that was free a moment ago, for a
// proxy that must be told its port before it starts.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Binary finds a proxy's executable: $env if set, then each of paths, then
// name in PATH. Without one the test skips with a message saying how to
// install it, except under CI=true, where a missing proxy is a failure
// (STYLE 15).
func Binary(t testing.TB, name, env string, paths ...string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		missing(t, fmt.Sprintf("%s=%s does not exist", env, p))
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	missing(t, fmt.Sprintf("no %s at %s or in PATH", name, strings.Join(paths, ", ")))
	return ""
}

func missing(t testing.TB, why string) {
	t.Helper()
	msg := why + ": apt-get install nginx-light caddy (Debian), or set SESAME_TEST_NGINX / SESAME_TEST_CADDY"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing proxy is a failure)")
	}
	t.Skip(msg)
}

// NginxPath is nginx's executable ($SESAME_TEST_NGINX, /usr/sbin/nginx,
// or PATH); see [Binary].
func NginxPath(t testing.TB) string {
	t.Helper()
	return Binary(t, "nginx", "SESAME_TEST_NGINX", "/usr/sbin/nginx")
}

// CaddyPath is Caddy's executable ($SESAME_TEST_CADDY, /usr/bin/caddy, or
// PATH); see [Binary].
func CaddyPath(t testing.TB) string {
	t.Helper()
	return Binary(t, "caddy", "SESAME_TEST_CADDY", "/usr/bin/caddy")
}

// Proxy is a running nginx or Caddy.
type Proxy struct {
	Name string // "nginx" or "caddy"
	Dir  string // its prefix: configuration, pid file, logs
	Cmd  *exec.Cmd

	out     *syncBuffer
	logs    func() string // the error log, where it is not the output
	exited  chan struct{}
	exitErr error
}

// Output is what the proxy wrote to stdout and stderr so far.
func (p *Proxy) Output() string { return p.out.String() }

// Pids returns the process IDs of the proxy: its main process and, for
// nginx, its workers (the main process's children), for CPU accounting.
func (p *Proxy) Pids() []int {
	pids := []int{p.Cmd.Process.Pid}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p.Cmd.Process.Pid, p.Cmd.Process.Pid))
	if err != nil {
		return pids
	}
	for f := range strings.FieldsSeq(string(b)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// NginxOptions tune the main configuration that [LaunchNginx] writes
// around the server blocks.
type NginxOptions struct {
	Workers int // worker_processes; 0: 1
}

// StartNginx is [LaunchNginx] in a temporary directory of the test, which
// fails on error; nginx stops when the test ends (its output is logged
// when the test failed).
func StartNginx(t testing.TB, bin string, opts NginxOptions, wait []string, servers ...string) *Proxy {
	t.Helper()
	p, err := LaunchNginx(t.TempDir(), bin, opts, wait, servers...)
	if err != nil {
		t.Fatal(err)
	}
	stopAtEnd(t, p)
	return p
}

// StartCaddy is [LaunchCaddy] in a temporary directory of the test, which
// fails on error; Caddy stops when the test ends.
func StartCaddy(t testing.TB, bin string, wait []string, site string) *Proxy {
	t.Helper()
	p, err := LaunchCaddy(t.TempDir(), bin, wait, site)
	if err != nil {
		t.Fatal(err)
	}
	stopAtEnd(t, p)
	return p
}

func stopAtEnd(t testing.TB, p *Proxy) {
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s output:\n%s%s", p.Name, p.Output(), p.logs())
		}
	})
}

// LaunchNginx runs nginx in the foreground with dir as its prefix and a
// main configuration that includes each of servers (server blocks for the
// http context, such as the rendered docs/proxy/nginx.conf) from its own
// file, and waits until it accepts connections on every address in wait
// ("127.0.0.1:PORT"). It runs as the current user: pid file, logs and
// temporary files live in dir (as root its workers stay root). The
// configuration is checked first with nginx -t. Stop it with [Proxy.Stop].
func LaunchNginx(dir, bin string, opts NginxOptions, wait []string, servers ...string) (*Proxy, error) {
	var includes strings.Builder
	for i, s := range servers {
		f := filepath.Join(dir, fmt.Sprintf("server%d.conf", i))
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			return nil, err
		}
		fmt.Fprintf(&includes, "    include %s;\n", f)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n"
	}
	errorLog := filepath.Join(dir, "error.log")
	main := fmt.Sprintf(`%sworker_processes %d;
pid %s;
error_log %s warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %s;
    proxy_temp_path %s;
    fastcgi_temp_path %s;
    uwsgi_temp_path %s;
    scgi_temp_path %s;
%s}
`, user, max(opts.Workers, 1), filepath.Join(dir, "nginx.pid"), errorLog,
		filepath.Join(dir, "body"), filepath.Join(dir, "proxy"), filepath.Join(dir, "fastcgi"),
		filepath.Join(dir, "uwsgi"), filepath.Join(dir, "scgi"), includes.String())
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(main), 0o644); err != nil {
		return nil, err
	}
	test := exec.Command(bin, "-t", "-q", "-p", dir+"/", "-e", errorLog, "-c", conf)
	if out, err := test.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("nginx -t: %v\n%s\nconfiguration:\n%s", err, out, strings.Join(append([]string{main}, servers...), "\n"))
	}
	p := &Proxy{Name: "nginx", Dir: dir, out: &syncBuffer{}, logs: func() string {
		b, _ := os.ReadFile(errorLog)
		return string(b)
	}}
	p.Cmd = exec.Command(bin, "-p", dir+"/", "-e", errorLog, "-c", conf, "-g", "daemon off; master_process on;")
	return p, p.launch(wait)
}

// LaunchCaddy runs `caddy run --adapter caddyfile` on a Caddyfile in dir
// whose global options turn the admin endpoint and automatic HTTPS off and
// which imports site (such as the rendered docs/proxy/Caddyfile) from its
// own file; Caddy's storage lives in dir (HOME, XDG_*). It waits until
// Caddy accepts connections on every address in wait. Stop it with
// [Proxy.Stop].
func LaunchCaddy(dir, bin string, wait []string, site string) (*Proxy, error) {
	siteFile := filepath.Join(dir, "site.Caddyfile")
	if err := os.WriteFile(siteFile, []byte(site), 0o644); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "Caddyfile")
	global := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tskip_install_trust\n}\n\nimport %s\n", siteFile)
	if err := os.WriteFile(conf, []byte(global), 0o644); err != nil {
		return nil, err
	}
	p := &Proxy{Name: "caddy", Dir: dir, out: &syncBuffer{}, logs: func() string { return "" }}
	p.Cmd = exec.Command(bin, "run", "--config", conf, "--adapter", "caddyfile")
	p.Cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	return p, p.launch(wait)
}

// launch starts p.Cmd (killed if this process dies) and waits for its
// addresses; on failure the process is stopped.
func (p *Proxy) launch(wait []string) error {
	p.Cmd.Stdout, p.Cmd.Stderr = p.out, p.out
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.Cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.exited = make(chan struct{})
	go func() {
		p.exitErr = p.Cmd.Wait()
		close(p.exited)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, addr := range wait {
		for {
			c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-p.exited:
				return fmt.Errorf("%s exited before listening on %s: %v\n%s%s", p.Name, addr, p.exitErr, p.Output(), p.logs())
			case <-ctx.Done():
				p.Stop()
				return fmt.Errorf("%s does not listen on %s after 20s\n%s%s", p.Name, addr, p.Output(), p.logs())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// Stop ends the proxy (SIGTERM, then SIGKILL after 5 s) and waits for it.
// It may be called more than once.
func (p *Proxy) Stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.Cmd.Process.Kill()
		<-p.exited
	}
}

// syncBuffer is a bytes.Buffer safe for a process's two output streams.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
