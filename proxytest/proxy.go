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
	Sesame   string // {{SESAME}}: Sesame's base URL as the proxy reaches it, no path
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

// Proxy is a running nginx or Caddy, stopped when the test ends.
type Proxy struct {
	Name string // "nginx" or "caddy"
	Dir  string // its temporary prefix: configuration, pid file, logs
	Cmd  *exec.Cmd
	out  *syncBuffer
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

// NginxOptions tune the main configuration that [StartNginx] writes around
// the server blocks.
type NginxOptions struct {
	Workers int // worker_processes; 0: 1
}

// StartNginx runs nginx in the foreground under a temporary prefix with a
// main configuration that includes each of servers (server blocks for the
// http context, such as the rendered docs/proxy/nginx.conf) from its own
// file, and waits until it accepts connections on every port in wait
// ("127.0.0.1:PORT"). It runs as the current user: pid file, logs and
// temporary files live under the prefix (as root its workers stay root).
func StartNginx(t testing.TB, bin string, opts NginxOptions, wait []string, servers ...string) *Proxy {
	t.Helper()
	dir := t.TempDir()
	var includes strings.Builder
	for i, s := range servers {
		f := filepath.Join(dir, fmt.Sprintf("server%d.conf", i))
		writeFile(t, f, s)
		fmt.Fprintf(&includes, "    include %s;\n", f)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n"
	}
	workers := max(opts.Workers, 1)
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
`, user, workers, filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "error.log"),
		filepath.Join(dir, "body"), filepath.Join(dir, "proxy"), filepath.Join(dir, "fastcgi"),
		filepath.Join(dir, "uwsgi"), filepath.Join(dir, "scgi"), includes.String())
	conf := filepath.Join(dir, "nginx.conf")
	writeFile(t, conf, main)
	p := &Proxy{Name: "nginx", Dir: dir, out: &syncBuffer{}}
	test := exec.Command(bin, "-t", "-q", "-p", dir+"/", "-e", filepath.Join(dir, "error.log"), "-c", conf)
	if out, err := test.CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\nconfiguration:\n%s", err, out, strings.Join(append([]string{main}, servers...), "\n"))
	}
	p.Cmd = exec.Command(bin, "-p", dir+"/", "-e", filepath.Join(dir, "error.log"), "-c", conf, "-g", "daemon off; master_process on;")
	p.start(t, wait, func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return string(b)
	})
	return p
}

// StartCaddy runs `caddy run --adapter caddyfile` on a Caddyfile whose
// global options turn the admin endpoint and automatic HTTPS off and which
// imports site (such as the rendered docs/proxy/Caddyfile) from its own
// file; Caddy's storage lives in a temporary HOME. It waits until Caddy
// accepts connections on every port in wait.
func StartCaddy(t testing.TB, bin string, wait []string, site string) *Proxy {
	t.Helper()
	dir := t.TempDir()
	siteFile := filepath.Join(dir, "site.Caddyfile")
	writeFile(t, siteFile, site)
	conf := filepath.Join(dir, "Caddyfile")
	writeFile(t, conf, fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tskip_install_trust\n}\n\nimport %s\n", siteFile))
	p := &Proxy{Name: "caddy", Dir: dir, out: &syncBuffer{}}
	p.Cmd = exec.Command(bin, "run", "--config", conf, "--adapter", "caddyfile")
	p.Cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	p.start(t, wait, func() string { return "" })
	return p
}

// start runs p.Cmd, stops it at the test's end (SIGTERM, then SIGKILL),
// and waits for its ports.
func (p *Proxy) start(t testing.TB, wait []string, logs func() string) {
	t.Helper()
	p.Cmd.Stdout, p.Cmd.Stderr = p.out, p.out
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.Name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.Cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = p.Cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s%s", p.Name, p.out.String(), logs())
		}
	})
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
			case err := <-exited:
				exited <- err
				t.Fatalf("%s exited before listening on %s: %v\n%s%s", p.Name, addr, err, p.out.String(), logs())
			case <-ctx.Done():
				t.Fatalf("%s does not listen on %s after 20s\n%s%s", p.Name, addr, p.out.String(), logs())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

func writeFile(t testing.TB, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
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
