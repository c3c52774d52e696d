package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"github.com/sesame-auth/sesame/internal/testlog"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/server"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/sqlite"
	"github.com/sesame-auth/sesame/token"
)

var t0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

// cheap keeps argon2 fast in tests that are not about hashing cost.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1}

// env is one running server over a fresh SQLite file, reached over TLS
// with a real HTTP client.
type env struct {
	t        *testing.T
	srv      *httptest.Server
	db       *sqlite.DB
	clock    *testclock.Clock
	accounts *account.Service
	sessions *session.Manager
	tokens   *token.Service
	keys     *jose.KeySet
	ring     *keyring.Ring
	server   *server.Server
	app      *app.App
	logs     *testlog.Buffer
	origin   string // the public URL's origin, which browsers send (srv.URL unless a test names the host)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, filepath.Join(t.TempDir(), "sesame.db"))
}

// newEnvOn starts a server over the SQLite file at path; two envs on one
// path are two nodes sharing a database. The server trusts 127.0.0.1 as a
// proxy, so tests choose the client IP with X-Forwarded-For.
func newEnvOn(t *testing.T, path string) *env { return newEnvWith(t, path, false) }

// testMasterKey is the master key of every test server: two envs on one
// path are two nodes of one deployment, which share it.
var testMasterKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32))

// newEnvWith is newEnvOn; withRing only names what every env has now: a
// persisted keyring (activation delay 1 h, on the env's clock), built by
// the one wiring (package app) like `sesame serve` builds it. e.keys holds
// the ring's signing key, for tests that sign their own tokens.
func newEnvWith(t *testing.T, path string, withRing bool) *env {
	t.Helper()
	_ = withRing
	cfg := config.Default()
	cfg.DB = path
	return newEnvConfig(t, cfg)
}

// newEnvConfig starts a server built from cfg (its DB set), as newEnvOn
// does: the harness sets the public URL, issuer, trusted proxy and master
// key.
func newEnvConfig(t *testing.T, cfg *config.Config) *env {
	t.Helper()
	return newEnvHost(t, cfg, "")
}

// newEnvHost is newEnvConfig with the public URL on host (with the
// listener's port) instead of the listener's address: "localhost" gives a
// domain name, which WebAuthn needs (passkeys are off on an IP address).
// Requests still go to the listener's address, an allowed host; browsers'
// Origin is the public one (e.origin).
func newEnvHost(t *testing.T, cfg *config.Config, host string) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &env{t: t, clock: testclock.New(t0), logs: &testlog.Buffer{}}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.srv = httptest.NewUnstartedServer(nil)
	cfg.PublicURL = "https://" + e.srv.Listener.Addr().String()
	if host != "" {
		addr := e.srv.Listener.Addr().String()
		cfg.PublicURL = "https://" + host + addr[strings.LastIndexByte(addr, ':'):]
		cfg.AllowedHosts = append(cfg.AllowedHosts, addr)
	}
	e.origin = cfg.PublicURL
	cfg.Issuer = "https://sesame.test"
	cfg.TrustedProxies = []string{"127.0.0.1/32"}
	cfg.MasterKey = config.Secret(testMasterKey)
	a, err := app.New(ctx, cfg, app.WithClock(e.clock), app.WithLogger(logger), app.WithPasswordParams(cheap))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	a.Start(ctx)
	e.app = a
	e.db = a.Durable().(*sqlite.DB)
	e.sessions, e.accounts, e.tokens, e.ring, e.server = a.Sessions(), a.Accounts(), a.Tokens(), a.Keyring(), a.Server()
	if e.keys, err = jose.NewKeySet(e.ring.SigningKey()); err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = a.Handler()
	e.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut short at Close are not failures
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	return e
}

// client is one browser: its own cookie jar, sending the Origin a browser
// would send for same-origin requests.
type client struct {
	e      *env
	c      *http.Client
	origin string
	ua     string
	noCSRF bool // do not fetch and send a CSRF token on unsafe requests
}

// csrfToken fetches a CSRF token for this client's current session (or
// pre-session), as Sesame's pages and SPAs do.
func (c *client) csrfToken() string {
	c.e.t.Helper()
	var b struct {
		Token string `json:"csrf_token"`
	}
	c.want(c.do("GET", "/api/v1/csrf", nil), 200).json(c.e.t, &b)
	return b.Token
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	c := *e.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{e: e, c: &c, origin: e.origin, ua: "test-browser/1.0"}
}

type resp struct {
	*http.Response
	body []byte
}

func (r *resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r *resp) errCode(t *testing.T) string {
	t.Helper()
	var b struct {
		Error struct{ Code, Message string }
	}
	r.json(t, &b)
	return b.Error.Code
}

// do sends a request; body is JSON-encoded unless it is a string or
// url.Values.
func (c *client) do(method, path string, body any, hdr ...string) *resp {
	c.e.t.Helper()
	unsafe := method != "GET" && method != "HEAD" && method != "OPTIONS"
	csrfTok := ""
	if unsafe && !c.noCSRF && c.origin != "" && !hasHeader(hdr, "X-CSRF-Token") {
		csrfTok = c.csrfToken()
	}
	var rd io.Reader
	ct := ""
	if v, ok := body.(url.Values); ok && csrfTok != "" && !v.Has("csrf_token") {
		v = cloneValues(v)
		v.Set("csrf_token", csrfTok)
		body = v
	}
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		buf, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(buf), "application/json"
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("User-Agent", c.ua)
	if csrfTok != "" {
		req.Header.Set("X-CSRF-Token", csrfTok)
	}
	if method != "GET" && method != "HEAD" && c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{Response: res, body: b}
}

func (c *client) want(r *resp, status int) *resp {
	c.e.t.Helper()
	if r.StatusCode != status {
		c.e.t.Fatalf("%s %s: got %d %s, want %d", r.Request.Method, r.Request.URL.Path, r.StatusCode, r.body, status)
	}
	return r
}

func (c *client) signup(name, pw string) {
	c.e.t.Helper()
	c.want(c.do("POST", "/api/v1/signup", map[string]string{"username": name, "password": pw}), 201)
}

func (c *client) login(name, pw string, remember bool) *resp {
	c.e.t.Helper()
	return c.want(c.do("POST", "/api/v1/login", map[string]any{"username": name, "password": pw, "remember": remember}), 200)
}

// me returns the status of GET /api/v1/me.
func (c *client) me() int {
	c.e.t.Helper()
	return c.do("GET", "/api/v1/me", nil).StatusCode
}

// sessionCookie returns the session token this client holds.
func (c *client) sessionCookie() string {
	u, _ := url.Parse(c.e.srv.URL)
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == "__Host-sesame" {
			return ck.Value
		}
	}
	return ""
}

// setSessionCookie plants a session cookie value, as an attacker or a
// stolen-cookie replay would.
func (c *client) setSessionCookie(v string) {
	u, _ := url.Parse(c.e.srv.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-sesame", Value: v, Path: "/", Secure: true}})
}

// admin creates an admin account directly and returns a logged-in client.
func (e *env) admin() *client {
	e.t.Helper()
	if _, err := e.accounts.Signup(context.Background(), "root", "correct horse battery", true); err != nil {
		e.t.Fatal(err)
	}
	c := e.client()
	c.login("root", "correct horse battery", false)
	return c
}

func (e *env) events(t sesame.EventType) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "audit" && m["event"] == string(t) {
			out = append(out, m)
		}
	}
	return out
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func mustSign(t *testing.T, e *env, claims any, typ string) string {
	t.Helper()
	tok, err := jose.SignJWT(e.keys.SigningKey(), claims, jose.SignOptions{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }

func hasHeader(hdr []string, name string) bool {
	for i := 0; i+1 < len(hdr); i += 2 {
		if http.CanonicalHeaderKey(hdr[i]) == http.CanonicalHeaderKey(name) {
			return true
		}
	}
	return false
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
