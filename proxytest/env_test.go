package proxytest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/authz"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/internal/testlog"
	"github.com/sesame-auth/sesame/password"
)

// cheap keeps argon2 fast: these tests are about the proxies.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1}

const sessionCookie = "__Host-sesame"

// The protected app's rules. The browser reaches the proxy as
// localhost:PORT; Go's requests set that Host too. Cookies ignore the
// port, so Sesame's host-only session cookie (set by localhost:SESAME)
// also goes to localhost:PROXY, as a cookie_domain cookie would go to a
// sibling subdomain.
var rules = []authz.Rule{
	{Domain: "localhost", Path: "/public", Policy: "bypass"},
	{Domain: "localhost", Path: "/admin", Policy: "group:wiki-admins"},
	{Domain: "localhost", Policy: "authenticated"},
}

// env is one Sesame (in process, the one wiring `sesame serve` uses), the
// upstream app, and nginx or Caddy in front of the app with the
// documented configuration, pointed at Sesame's forward-auth endpoint.
type env struct {
	t       *testing.T
	kind    string // "nginx" or "caddy"
	sesame  string // http://localhost:PORT: Sesame's public URL, for the browser
	direct  string // http://127.0.0.1:PORT: Sesame for Go's requests
	front   string // http://localhost:PORT: the proxy, for the browser
	frontIP string // 127.0.0.1:PORT: where Go's requests to the proxy go
	app     *app.App
	up      *Upstream
	proxy   *Proxy
	logs    *testlog.Buffer
}

func newEnv(t *testing.T, kind string, opts ...func(*config.Config)) *env {
	t.Helper()
	var bin string
	if kind == "nginx" {
		bin = NginxPath(t)
	} else {
		bin = CaddyPath(t)
	}
	e := &env{t: t, kind: kind, logs: &testlog.Buffer{}}
	e.startSesame(opts)
	e.up = NewUpstream(t)
	port := FreePort(t)
	e.frontIP = fmt.Sprintf("127.0.0.1:%d", port)
	e.front = fmt.Sprintf("http://localhost:%d", port)
	v := Vars{Sesame: strings.TrimPrefix(e.direct, "http://"), Upstream: e.up.URL}
	if kind == "nginx" {
		v.Listen = e.frontIP
		e.proxy = StartNginx(t, bin, NginxOptions{}, []string{e.frontIP}, mustRender(t, "nginx.conf", v))
	} else {
		v.Listen = "http://:" + e.frontIP[strings.LastIndexByte(e.frontIP, ':')+1:] // every host on the port, as nginx's only server block
		e.proxy = StartCaddy(t, bin, []string{e.frontIP}, mustRender(t, "Caddyfile", v))
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sesame log:\n%s", e.logs.String())
		}
	})
	return e
}

func mustRender(t *testing.T, name string, v Vars) string {
	t.Helper()
	s, err := Render(name, v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) startSesame(opts []func(*config.Config)) {
	t := e.t
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewUnstartedServer(nil)
	addr := srv.Listener.Addr().String()
	e.direct = "http://" + addr
	e.sesame = "http://localhost:" + addr[strings.LastIndexByte(addr, ':')+1:]
	cfg := config.Default()
	cfg.DB = filepath.Join(t.TempDir(), "sesame.db")
	cfg.PublicURL = e.sesame
	cfg.AllowedHosts = []string{addr}
	cfg.TrustedProxies = []string{"127.0.0.1/32"} // nginx and Caddy, on this machine
	cfg.MasterKey = config.Secret(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)))
	cfg.AccessRules = rules
	configureForward(cfg)
	for _, o := range opts {
		o(cfg)
	}
	a, err := app.New(ctx, cfg, app.WithLogger(logger), app.WithPasswordParams(cheap))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	a.Start(ctx)
	e.app = a
	srv.Config.Handler = a.Handler()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
}

// user creates an account (not an administrator) in the groups.
func (e *env) user(name, pw string, groups ...string) {
	e.t.Helper()
	if _, err := e.app.Accounts().Signup(context.Background(), name, pw, false); err != nil {
		e.t.Fatalf("sign up %s: %v", name, err)
	}
	if len(groups) > 0 {
		if _, err := e.app.Accounts().AddGroups(context.Background(), name, groups...); err != nil {
			e.t.Fatalf("groups of %s: %v", name, err)
		}
	}
}

// login signs in over Sesame's JSON API, directly (not through the proxy),
// and returns the session cookie, or the access token with transport
// "header".
func (e *env) login(name, pw, transport string) string {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"username": name, "password": pw, "transport": transport})
	req, _ := http.NewRequest("POST", e.direct+"/api/v1/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		e.t.Fatalf("login %s (%s): got %d %s, want 200", name, transport, res.StatusCode, b)
	}
	if transport == "header" {
		var v struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(b, &v); err != nil || v.AccessToken == "" {
			e.t.Fatalf("login %s: no access token in %s", name, b)
		}
		return v.AccessToken
	}
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	e.t.Fatalf("login %s: no %s cookie", name, sessionCookie)
	return ""
}

// logout signs the cookie's session out with POST /api/v1/logout, as
// Sesame's own pages would (same origin, CSRF token).
func (e *env) logout(cookie string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.direct+"/api/v1/csrf", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	var v struct {
		Token string `json:"csrf_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&v)
	res.Body.Close()
	if err != nil || v.Token == "" {
		e.t.Fatalf("GET /api/v1/csrf: %d, %v", res.StatusCode, err)
	}
	req, _ = http.NewRequest("POST", e.direct+"/api/v1/logout", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	req.Header.Set("Origin", e.sesame)
	req.Header.Set("X-CSRF-Token", v.Token)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		e.t.Fatalf("POST /api/v1/logout: got %d %s, want 204", res.StatusCode, b)
	}
}

// answer is a response from the proxy.
type answer struct {
	status int
	header http.Header
	body   string
	// reached is what the upstream received for this request, or nil
	// when the request never reached it.
	reached *Seen
}

// do sends method path to the proxy as the browser would address it
// (Host localhost:PORT) with the given headers (name, value pairs; a
// name may repeat), and reports what came back and what reached the app.
func (e *env) do(method, path string, hdr ...string) answer {
	e.t.Helper()
	return e.doHost("localhost", method, path, hdr...)
}

// doHost is do with another host name in the Host header (same port).
func (e *env) doHost(host, method, path string, hdr ...string) answer {
	e.t.Helper()
	before := len(e.up.Requests())
	req, err := http.NewRequest(method, "http://"+e.frontIP+"/", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.URL.Opaque = path // sent as written: no cleaning of "..", "%2e" or "//"
	req.Host = host + e.frontIP[strings.LastIndexByte(e.frontIP, ':'):]
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header[hdr[i]] = append(req.Header[hdr[i]], hdr[i+1]) // as written: Remote_User stays Remote_User
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s via %s: %v", method, path, e.kind, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header, body: string(b)}
	if seen := e.up.Requests(); len(seen) > before {
		if len(seen) > before+1 {
			e.t.Fatalf("%s %s: the upstream got %d requests, want at most 1", method, path, len(seen)-before)
		}
		a.reached = &seen[before]
	}
	return a
}

func cookieHeader(v string) []string   { return []string{"Cookie", sessionCookie + "=" + v} }
func bearerHeader(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// api is what an API client sends besides its credential: no navigation.
var api = []string{"Accept", "application/json"}

// navigation is what a browser's top-level navigation sends.
var navigation = []string{"Accept", "text/html,application/xhtml+xml", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}

func hdrs(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// configureForward sets what the forward-auth endpoint needs beyond the
// rules: the login page may send users back to the proxied host.
func configureForward(cfg *config.Config) { cfg.ReturnDomains = []string{"localhost"} }
