package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sesame-auth/sesame/bench/cmd/internal/benchkit"
	"github.com/sesame-auth/sesame/proxytest"
)

// Config is one invocation.
type Config struct {
	SesameBin   string        // sesame executable; "": built from ../cmd/sesame
	NginxBin    string        // nginx executable; "": found as the proxy tests find it
	Workers     int           // nginx worker_processes
	Duration    time.Duration // of each measured phase
	Concurrency int           // closed-loop clients
	Users       int           // accounts, shared round-robin by the clients
	Rounds      int           // repetitions of the phase sequence
	Warmup      time.Duration // unrecorded load before the first phase
	Log         io.Writer     // progress lines; nil: none
}

func (c *Config) validate() error {
	switch {
	case c.Duration <= 0 || c.Duration > 5*time.Minute:
		return fmt.Errorf("--duration %v: want more than 0 and at most 5m", c.Duration)
	case c.Concurrency < 1 || c.Concurrency > 1024:
		return fmt.Errorf("--concurrency %d: want 1 to 1024", c.Concurrency)
	case c.Users < 1 || c.Users > 100:
		return fmt.Errorf("--users %d: want 1 to 100", c.Users)
	case c.Rounds < 1 || c.Rounds > 20:
		return fmt.Errorf("--rounds %d: want 1 to 20", c.Rounds)
	case c.Workers < 1 || c.Workers > 64:
		return fmt.Errorf("--nginx-workers %d: want 1 to 64", c.Workers)
	case c.Warmup < 0 || c.Warmup > time.Minute:
		return fmt.Errorf("--warmup %v: want 0 to 1m", c.Warmup)
	}
	return nil
}

func (c *Config) logf(format string, a ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", a...)
	}
}

// Phase is one measured load.
type Phase struct {
	Name     string            `json:"name"`
	Target   string            `json:"target"`
	Requests uint64            `json:"requests"`
	Errors   uint64            `json:"errors"`
	Statuses map[string]uint64 `json:"statuses,omitempty"` // non-200 answers and transport errors
	Seconds  float64           `json:"seconds"`
	RPS      float64           `json:"rps"`
	P50ms    float64           `json:"p50_ms"`
	P99ms    float64           `json:"p99_ms"`
	// CPU time per request (user + system, from /proc) of the Sesame
	// process and of nginx's processes during the phase.
	SesameCPUus float64 `json:"sesame_cpu_us_per_request"`
	NginxCPUus  float64 `json:"nginx_cpu_us_per_request"`
	// RPSRatio is req/s ÷ the reference phase's: (a) for the nginx phases,
	// /livez for the forward endpoint alone.
	RPSRatio float64 `json:"rps_ratio,omitempty"`

	hist                    benchkit.Histogram
	sesameTicks, nginxTicks uint64
}

// Report is one invocation's result.
type Report struct {
	Concurrency  int      `json:"concurrency"`
	Duration     string   `json:"duration_per_phase"`
	Rounds       int      `json:"rounds"`
	Users        int      `json:"users"`
	NginxWorkers int      `json:"nginx_workers"`
	Phases       []*Phase `json:"phases"`
	// AuthHopCPUus is the CPU time per request the auth hop adds, for (b)
	// and (c): Sesame's plus nginx's over (a).
	AuthHopCPUus map[string]float64 `json:"auth_hop_cpu_us_per_request"`
}

// rig is everything the phases drive.
type rig struct {
	sesame     string // http://127.0.0.1:PORT
	sesamePid  int
	nginx      *proxytest.Proxy
	authFront  string // http://127.0.0.1:PORT: docs/proxy/nginx.conf
	plainFront string // http://127.0.0.1:PORT: the same proxy without auth
	cookies    []benchkit.Credential
	bearers    []benchkit.Credential
}

// Run sets everything up, runs the phases and tears everything down.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	dir, err := os.MkdirTemp("", "forwardbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	r, err := setup(ctx, cfg, dir, &stops)
	if err != nil {
		return nil, err
	}
	client := benchkit.NewClient(cfg.Concurrency, false)
	defer client.CloseIdleConnections()
	original := []string{"X-Original-URL", r.authFront + "/bench/page", "X-Original-Method", "GET"}
	type spec struct {
		name, base, path string
		creds            []benchkit.Credential
		hdr              []string
	}
	specs := []spec{
		{"sesame /livez", r.sesame, "/livez", nil, nil},
		{"sesame forward, cookie", r.sesame, "/api/v1/authz/forward", r.cookies, original},
		{"sesame forward, bearer", r.sesame, "/api/v1/authz/forward", r.bearers, original},
		{"(a) nginx, no auth", r.plainFront, "/bench/page", nil, nil},
		{"(b) nginx + auth_request, cookie", r.authFront, "/bench/page", r.cookies, nil},
		{"(c) nginx + auth_request, bearer", r.authFront, "/bench/page", r.bearers, nil},
	}
	if cfg.Warmup > 0 {
		cfg.logf("warm-up: %v through nginx with auth", cfg.Warmup)
		drive(ctx, client, r.authFront, "/bench/page", r.cookies, nil, cfg.Concurrency, cfg.Warmup)
	}
	phases := make([]*Phase, len(specs))
	for round := range cfg.Rounds {
		for i, s := range specs {
			cfg.logf("round %d/%d: %s (GET %s%s) for %v, concurrency %d", round+1, cfg.Rounds, s.name, s.base, s.path, cfg.Duration, cfg.Concurrency)
			sBefore, nBefore := ticks(r.sesamePid), ticks(r.nginx.Pids()...)
			p := drive(ctx, client, s.base, s.path, s.creds, s.hdr, cfg.Concurrency, cfg.Duration)
			p.sesameTicks, p.nginxTicks = ticks(r.sesamePid)-sBefore, ticks(r.nginx.Pids()...)-nBefore
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			p.Name, p.Target = s.name, "GET "+s.base+s.path
			if phases[i] == nil {
				phases[i] = p
			} else {
				phases[i].merge(p)
			}
		}
	}
	rep := &Report{Concurrency: cfg.Concurrency, Duration: cfg.Duration.String(), Rounds: cfg.Rounds, Users: cfg.Users,
		NginxWorkers: cfg.Workers, Phases: phases, AuthHopCPUus: map[string]float64{}}
	for _, p := range phases {
		p.finish()
	}
	livez, plain := phases[0], phases[3]
	for i, p := range phases {
		ref := livez
		if i >= 3 {
			ref = plain
		}
		if p != ref && ref.RPS > 0 {
			p.RPSRatio = p.RPS / ref.RPS
		}
	}
	for _, p := range phases[4:] {
		rep.AuthHopCPUus[p.Name] = p.SesameCPUus + p.NginxCPUus - plain.NginxCPUus
	}
	return rep, nil
}

// setup starts Sesame, the upstream and nginx, and makes the credentials;
// what it starts is stopped by the functions it appends to stops.
func setup(ctx context.Context, cfg Config, dir string, stops *[]func()) (*rig, error) {
	r := &rig{}
	nginxBin, err := findNginx(cfg.NginxBin)
	if err != nil {
		return nil, err
	}
	bin := cfg.SesameBin
	if bin == "" {
		bin = filepath.Join(dir, "sesame")
		// The checkout bench/go.mod replaces the module with (its own
		// go.mod and go.sum, so that cmd/sesame's dependencies need not
		// be the bench module's).
		root, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/sesame-auth/sesame").Output()
		if err != nil {
			return nil, fmt.Errorf("go list -m github.com/sesame-auth/sesame: %v", err)
		}
		src := strings.TrimSpace(string(root))
		cfg.logf("building sesame (go build -C %s -o %s ./cmd/sesame)", src, bin)
		if out, err := exec.CommandContext(ctx, "go", "build", "-C", src, "-o", bin, "./cmd/sesame").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build sesame: %v\n%s", err, out)
		}
	}
	if err := r.startSesame(ctx, cfg, bin, dir, stops); err != nil {
		return nil, err
	}
	upstream, err := startUpstream(stops)
	if err != nil {
		return nil, err
	}
	authAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	plainAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	documented, err := proxytest.Render("nginx.conf", proxytest.Vars{Listen: authAddr, Sesame: strings.TrimPrefix(r.sesame, "http://"), Upstream: upstream})
	if err != nil {
		return nil, err
	}
	plain := fmt.Sprintf(`server {
    listen %s;
    location / {
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_pass %s;
    }
}
`, plainAddr, upstream)
	nginxDir := filepath.Join(dir, "nginx")
	if err := os.Mkdir(nginxDir, 0o755); err != nil {
		return nil, err
	}
	cfg.logf("starting nginx (%s, %d workers): docs/proxy/nginx.conf on %s, no auth on %s", nginxBin, cfg.Workers, authAddr, plainAddr)
	r.nginx, err = proxytest.LaunchNginx(nginxDir, nginxBin, proxytest.NginxOptions{Workers: cfg.Workers}, []string{authAddr, plainAddr}, documented, plain)
	if err != nil {
		return nil, err
	}
	*stops = append(*stops, r.nginx.Stop)
	r.authFront, r.plainFront = "http://"+authAddr, "http://"+plainAddr

	api := &benchkit.API{Base: r.sesame, Client: benchkit.NewClient(4, false)}
	prefix := "fwd-" + benchkit.RandomSuffix(8) + "-"
	cfg.logf("signing up and logging in %d users (%s*)", cfg.Users, prefix)
	for i := range cfg.Users {
		name, pw := fmt.Sprintf("%s%d", prefix, i), benchkit.NewPassword()
		if err := api.Signup(ctx, name, pw); err != nil {
			return nil, err
		}
		c, _, err := api.LoginCookie(ctx, name, pw)
		if err != nil {
			return nil, err
		}
		b, err := api.LoginBearer(ctx, name, pw)
		if err != nil {
			return nil, err
		}
		r.cookies, r.bearers = append(r.cookies, c), append(r.bearers, b)
	}
	// Every credential passes through the documented proxy, and nothing
	// passes without one, before anything is measured.
	check := &benchkit.API{Base: r.authFront, Client: api.Client}
	for _, c := range append(append([]benchkit.Credential{}, r.cookies...), r.bearers...) {
		res, err := check.Do(ctx, "GET", "/bench/page", nil, c)
		if err != nil {
			return nil, err
		}
		if res.Status != http.StatusOK {
			return nil, fmt.Errorf("a credential through nginx: got %d, want 200: %s\n%s", res.Status, res.Body, r.nginx.Output())
		}
	}
	if res, err := check.Do(ctx, "GET", "/bench/page", nil, benchkit.Credential{}, "Accept", "application/json"); err != nil {
		return nil, err
	} else if res.Status != http.StatusUnauthorized {
		return nil, fmt.Errorf("no credential through nginx: got %d, want 401", res.Status)
	}
	return r, nil
}

// startSesame runs `sesame serve` with a configuration file in dir.
func (r *rig) startSesame(ctx context.Context, cfg Config, bin, dir string, stops *[]func()) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	conf := filepath.Join(dir, "sesame.yaml")
	yaml := fmt.Sprintf(`addr: %s
db: %s
trusted_proxies: [127.0.0.1]
log_level: warn
access_rules:
  - domain: "*"
    policy: authenticated
`, addr, filepath.Join(dir, "sesame.db"))
	if err := os.WriteFile(conf, []byte(yaml), 0o644); err != nil {
		return err
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "serve", "--config", conf)
	cmd.Stdout, cmd.Stderr = &lockedWriter{w: &out}, &lockedWriter{w: &out}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cfg.logf("starting %s serve on %s", bin, addr)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	*stops = append(*stops, func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	r.sesame, r.sesamePid = "http://"+addr, cmd.Process.Pid
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(r.sesame + "/livez")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("sesame serve exited: %s", out.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sesame serve does not answer /livez after 60s: %s", out.String())
		}
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// startUpstream serves the protected app: 200 and a short body.
func startUpstream(stops *[]func()) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "hello "+r.Header.Get("Remote-User")+"\n")
		}),
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { _ = srv.Serve(l) }()
	*stops = append(*stops, func() { _ = srv.Close() })
	return "http://" + l.Addr().String(), nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// findNginx is the flag's value, $SESAME_TEST_NGINX, /usr/sbin/nginx, or
// nginx in PATH.
func findNginx(flagValue string) (string, error) {
	for _, p := range []string{flagValue, os.Getenv("SESAME_TEST_NGINX"), "/usr/sbin/nginx"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	return "", errors.New("no nginx (--nginx, $SESAME_TEST_NGINX, /usr/sbin/nginx or PATH): apt-get install nginx-light")
}

// clockTick is the unit of /proc/PID/stat's CPU times (USER_HZ, 100 on
// every Linux this runs on).
const clockTick = 10 * time.Millisecond

// ticks sums user and system CPU time of the processes, in clock ticks;
// a process that cannot be read counts 0.
func ticks(pids ...int) uint64 {
	var n uint64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The command name (field 2) is in parentheses and may hold
		// spaces: count fields after the last ')'.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		var utime, stime uint64
		_, _ = fmt.Sscan(f[11], &utime)
		_, _ = fmt.Sscan(f[12], &stime)
		n += utime + stime
	}
	return n
}

// drive runs concurrency closed-loop clients sending GET base+path with
// creds[client % len(creds)] and the headers hdr (name, value pairs) until
// d has passed ([benchkit.Drive]).
func drive(ctx context.Context, client *http.Client, base, path string, creds []benchkit.Credential, hdr []string, concurrency int, d time.Duration) *Phase {
	r := benchkit.Drive(ctx, client, benchkit.Loop{URL: base + path, UserAgent: "sesame-forwardbench/1", Header: hdr,
		Creds: creds, Concurrency: concurrency, Duration: d})
	return &Phase{Seconds: r.Seconds, Statuses: r.Statuses, Errors: r.Errors, hist: r.Hist}
}

func (p *Phase) merge(o *Phase) {
	p.hist.Merge(&o.hist)
	p.Errors += o.Errors
	p.Seconds += o.Seconds
	p.sesameTicks += o.sesameTicks
	p.nginxTicks += o.nginxTicks
	for k, v := range o.Statuses {
		p.Statuses[k] += v
	}
}

func (p *Phase) finish() {
	p.Requests = p.hist.Count()
	if p.Seconds > 0 {
		p.RPS = float64(p.Requests) / p.Seconds
	}
	p.P50ms = ms(p.hist.Quantile(0.5))
	p.P99ms = ms(p.hist.Quantile(0.99))
	if p.Requests > 0 {
		us := float64(clockTick) / float64(time.Microsecond)
		p.SesameCPUus = float64(p.sesameTicks) * us / float64(p.Requests)
		p.NginxCPUus = float64(p.nginxTicks) * us / float64(p.Requests)
	}
	if len(p.Statuses) == 0 {
		p.Statuses = nil
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// print writes Markdown tables, ready for bench/README.md.
func (r *Report) print(w io.Writer) {
	fmt.Fprintf(w, "concurrency %d, %s per phase, %d round(s), %d users, nginx %d worker(s)\n\n", r.Concurrency, r.Duration, r.Rounds, r.Users, r.NginxWorkers)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| phase\t| requests\t| errors\t| req/s\t| p50\t| p99\t| Sesame CPU/req\t| nginx CPU/req\t| req/s ÷ reference\t|")
	fmt.Fprintln(tw, "|---\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|")
	for i, p := range r.Phases {
		ratio := "-"
		if p.RPSRatio > 0 {
			ref := "/livez"
			if i >= 3 {
				ref = "(a)"
			}
			ratio = fmt.Sprintf("%.2f× %s", p.RPSRatio, ref)
		}
		errs := fmt.Sprint(p.Errors)
		if p.Errors > 0 {
			errs += fmt.Sprintf(" %v", p.Statuses)
		}
		fmt.Fprintf(tw, "| %s\t| %d\t| %s\t| %.0f\t| %.3f ms\t| %.3f ms\t| %.1f µs\t| %.1f µs\t| %s\t|\n",
			p.Name, p.Requests, errs, p.RPS, p.P50ms, p.P99ms, p.SesameCPUus, p.NginxCPUus, ratio)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, p := range r.Phases[4:] {
		fmt.Fprintf(w, "auth hop CPU per request, %s: %.1f µs (Sesame %.1f µs + nginx %.1f µs over (a))\n",
			p.Name, r.AuthHopCPUus[p.Name], p.SesameCPUus, p.NginxCPUus-r.Phases[3].NginxCPUus)
	}
}
