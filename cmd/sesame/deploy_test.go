package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFailedServeLeavesNothing: serve checks its configuration and TLS
// files and binds its address before it creates any file or prints
// "listening", so a failed start leaves no database and no key file.
func TestFailedServeLeavesNothing(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"port in use", []string{"--addr", busy.Addr().String()}, 1, "listen on " + busy.Addr().String()},
		{"missing TLS files", []string{"--tls-cert", "/missing/cert.pem", "--tls-key", "/missing/key.pem"}, 2, "--tls-cert: /missing/cert.pem does not exist"},
		{"unparsable TLS files", []string{"--tls-cert", "/dev/null", "--tls-key", "/dev/null"}, 1, "tls_cert, tls_key"},
		{"unreachable sessions store", []string{"--sessions", "redis://127.0.0.1:1/0"}, 1, "open sessions store redis://127.0.0.1:1/0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.db = filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".db")
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", w.db}, tc.args...)
			r := w.run("", args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stdout, "listening") {
				t.Fatalf("got exit %d, stdout %q, stderr %q; want exit %d saying %q and no listening line", r.code, r.stdout, r.stderr, tc.code, tc.want)
			}
			if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 0 && tc.code == 1 {
				t.Errorf("want one error line, got %q", r.stderr)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				t.Errorf("a failed start left %s behind", e.Name())
			}
		})
	}
}

// TestVersion: `sesame version` prints the module version, the VCS
// revision the binary was built from, and the Go version.
func TestVersion(t *testing.T) {
	t.Parallel()
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): the revision cannot be known", err)
	}
	bin := filepath.Join(t.TempDir(), "sesame")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("sesame version: %v", err)
	}
	want := regexp.MustCompile(`(?m)^sesame \S+\nrevision ` + strings.TrimSpace(string(head)) + `(\+dirty)? \(.+\)\ngo1\.\d+`)
	if !want.Match(out) {
		t.Fatalf("sesame version: got %q, want the module version, revision %s and the Go version", out, strings.TrimSpace(string(head)))
	}
}

// TestConfigCheck: config check prints every key's value and source, with
// secrets redacted, and lists every problem with exit 1.
func TestConfigCheck(t *testing.T) {
	const redisPW, masterKey = "canary-redis-pw-0c1a55", "Y2FuYXJ5LW1hc3Rlci1rZXktMzItYnl0ZXMtbG9uZyE="
	w := newWorld(t)
	w.secret(redisPW, masterKey)
	dir := t.TempDir()
	file := filepath.Join(dir, "sesame.yaml")
	os.WriteFile(file, []byte("preset: strict\nsessions: redis://:"+redisPW+"@cache.internal:6379/0\nidle_timeout: 5m\n"), 0o600)
	t.Setenv("SESAME_MASTER_KEY", masterKey)
	t.Setenv("SESAME_LIFETIME", "2h")
	r := w.run("", "config", "check", "--config", file, "--db", filepath.Join(dir, "x.db"), "--access-token-ttl", "2m")
	if r.code != 0 {
		t.Fatalf("config check: got exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`idle_timeout\s+5m\s+file ` + regexp.QuoteMeta(file) + `:3`),
		regexp.MustCompile(`lifetime\s+2h\s+env SESAME_LIFETIME`),
		regexp.MustCompile(`access_token_ttl\s+2m\s+flag --access-token-ttl`),
		regexp.MustCompile(`same_site\s+strict\s+preset strict`),
		regexp.MustCompile(`addr\s+127.0.0.1:8080\s+default`),
		regexp.MustCompile(`sessions\s+redis://:\[REDACTED\]@cache.internal:6379/0\s+file`),
		regexp.MustCompile(`master_key\s+\[REDACTED\]\s+env SESAME_MASTER_KEY`),
	} {
		if !want.MatchString(r.stdout) {
			t.Errorf("config check output does not match %s:\n%s", want, r.stdout)
		}
	}
	os.WriteFile(file, []byte("idle_timout: 5m\nlifetime: 10\nsessions: memcached://:"+redisPW+"@cache:1\n"), 0o600)
	r = w.run("", "config", "check", "--config", file)
	if r.code != 1 {
		t.Fatalf("config check of a bad file: got exit %d, want 1", r.code)
	}
	for _, want := range []string{file + ":1: idle_timout: unknown key", file + ":2: lifetime: 10 has no unit", file + `:3: sessions: unsupported scheme "memcached"`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("config check: stderr %q does not list %q", r.stderr, want)
		}
	}
}

// TestConfigInit: the starter file of every preset passes config check and
// is never written over an existing file.
func TestConfigInit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, preset := range []string{"", "web", "spa", "api", "strict"} {
		file := filepath.Join(t.TempDir(), "sesame.yaml")
		r := w.run("", "config", "init", "--preset", preset, "--output", file)
		if r.code != 0 {
			t.Fatalf("config init --preset %q: exit %d %s", preset, r.code, r.stderr)
		}
		c := w.run("", "config", "check", "--config", file)
		if c.code != 0 || (preset != "" && !regexp.MustCompile(`preset\s+`+preset).MatchString(c.stdout)) {
			t.Fatalf("config check of the starter file (preset %q): exit %d\n%s%s", preset, c.code, c.stdout, c.stderr)
		}
		if r := w.run("", "config", "init", "--output", file); r.code != 1 {
			t.Errorf("config init over an existing file: got exit %d, want 1", r.code)
		}
	}
	if r := w.run("", "config", "init", "--preset", "banking"); r.code != 2 {
		t.Errorf("config init --preset banking: got exit %d, want 2", r.code)
	}
}

// TestSEC63_HostCheckEndToEnd: a server answers only for its public URL's
// host (and allowed hosts); a DNS-rebinding page, whose requests carry its
// own host name, gets 421 and cannot sign up. The loopback development
// server is protected the same way, for localhost and its loopback
// addresses.
func TestSEC63_HostCheckEndToEnd(t *testing.T) {
	t.Parallel()
	hostStatus := func(base, host string) int {
		req, _ := http.NewRequest("POST", base+"/api/v1/signup", strings.NewReader(`{"username":"mallory","password":"rebinding attack 1"}`))
		req.Host = host
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "http://"+host)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	t.Run("public_url", func(t *testing.T) {
		w := newWorld(t)
		s := w.serve("--public-url", "https://auth.example.com", "--allowed-hosts", "internal.example:9000")
		direct := strings.Replace(s.url, "localhost", "127.0.0.1", 1)
		port := direct[strings.LastIndexByte(direct, ':')+1:]
		for host, want := range map[string]int{
			"rebind.attacker.example": http.StatusMisdirectedRequest,
			"127.0.0.1:" + port:       http.StatusMisdirectedRequest,
			"auth.example.com.evil":   http.StatusMisdirectedRequest,
		} {
			if got := hostStatus(direct, host); got != want {
				t.Errorf("Host %s: got %d, want %d", host, got, want)
			}
		}
		for _, host := range []string{"auth.example.com", "internal.example:9000"} {
			req, _ := http.NewRequest("GET", direct+"/livez", nil)
			req.Host = host
			resp, err := httpClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("GET /livez with Host %s: got %d, want 200", host, resp.StatusCode)
			}
		}
	})
	t.Run("loopback development server", func(t *testing.T) {
		w := newWorld(t)
		s := w.serve()
		port := s.url[strings.LastIndexByte(s.url, ':')+1:]
		direct := "http://127.0.0.1:" + port
		if got := hostStatus(direct, "rebind.attacker.example:"+port); got != http.StatusMisdirectedRequest {
			t.Errorf("a rebinding host on the dev server: got %d, want 421", got)
		}
		w.client(s.url).signup("alice", canaryPassword)               // localhost
		w.client(direct).signup("bob", canaryPassword)                // 127.0.0.1
		if got := hostStatus(direct, "127.0.0.1:"+port); got != 201 { // a same-origin sign-up
			t.Errorf("sign-up on 127.0.0.1: got %d, want 201", got)
		}
	})
}

// TestKeysRotateReachesRunningServer: a rotation from the command line is
// in a running server's JWKS within seconds, not the old 30 s.
func TestKeysRotateReachesRunningServer(t *testing.T) {
	keysEnv(t)
	w := newWorld(t)
	s := w.serve()
	kids := func() []string {
		resp, err := httpClient.Get(s.url + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
			} `json:"keys"`
		}
		json.NewDecoder(resp.Body).Decode(&set)
		var out []string
		for _, k := range set.Keys {
			out = append(out, k.Kid)
		}
		return out
	}
	if n := len(kids()); n != 2 {
		t.Fatalf("JWKS before rotation: %d keys, want 2 (ES256 and RS256, signing_algs)", n)
	}
	text, _ := os.ReadFile(filepath.Join(filepath.Dir(w.db), "sesame.key"))
	w.secret(strings.TrimSpace(string(text)))
	r := w.keys(0, "rotate")
	newKID := strings.Fields(r.stdout)[3]
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(strings.Join(kids(), " "), newKID) {
		if time.Now().After(deadline) {
			t.Fatalf("the rotated key %s is not in the running server's JWKS after 15 s (it reloads every 5 s)", newKID)
		}
		time.Sleep(100 * time.Millisecond) // polling interval, not a timing assertion
	}
}
