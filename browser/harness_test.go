package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/sesame-auth/sesame/internal/testlog"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/password"
)

// testTimeout bounds one test: server, browser and every action in it.
const testTimeout = 30 * time.Second

// sessionCookie is the name of Sesame's session cookie.
const sessionCookie = "__Host-sesame"

// cheap keeps argon2 fast: these tests are about the browser, not hashing.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1}

// chromiumPath finds Chromium through $SESAME_TEST_CHROMIUM, then
// /usr/bin/chromium, then "chromium" in PATH. Without one the test skips,
// except under CI=true, where a missing browser is a failure (STYLE 15).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SESAME_TEST_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		missingChromium(t, fmt.Sprintf("SESAME_TEST_CHROMIUM=%s does not exist", p))
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	missingChromium(t, "no chromium at /usr/bin/chromium or in PATH")
	return ""
}

func missingChromium(t *testing.T, why string) {
	t.Helper()
	msg := why + ": install Debian's chromium (apt-get install chromium) or set SESAME_TEST_CHROMIUM"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing browser is a failure)")
	}
	t.Skip(msg)
}

// env is one Sesame server, in process over plain HTTP on 127.0.0.1, and one
// headless Chromium that reaches it as http://localhost:PORT (a secure
// context, so Secure and __Host- cookies work without TLS).
type env struct {
	t        *testing.T
	base     string // http://localhost:PORT, the origin the browser uses
	direct   string // http://127.0.0.1:PORT, for Go's own requests
	accounts *account.Service
	logs     *testlog.Buffer
	browser  context.Context // the chromedp context that owns the browser
	shots    string          // where screenshots go
	nshot    int
	mu       sync.Mutex
	// configure, when set, changes the configuration before the app is
	// built (newEnvWith); app is the built app.
	configure func(*config.Config)
	app       *app.App
	// clock, when set before startServer, is the app's clock (tests of
	// TOTP codes and step-up ages move it).
	clock *testclock.Clock
}

func newEnv(t *testing.T) *env { t.Helper(); return newEnvWith(t, nil) }

// newEnvWith is newEnv with a configuration change.
func newEnvWith(t *testing.T, configure func(*config.Config)) *env {
	t.Helper()
	return newEnvClock(t, configure, nil)
}

// newEnvClock is newEnvWith with a test clock for the app (nil: the
// system clock).
func newEnvClock(t *testing.T, configure func(*config.Config), clock *testclock.Clock) *env {
	t.Helper()
	chromium := chromiumPath(t)
	e := &env{t: t, logs: &testlog.Buffer{}, shots: screenshotDir(t), configure: configure, clock: clock}
	e.startServer()
	e.startBrowser(chromium)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", e.logs.String())
		}
	})
	return e
}

func (e *env) startServer() {
	t := e.t
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewUnstartedServer(nil)
	e.direct = "http://" + srv.Listener.Addr().String()
	e.base = "http://localhost:" + portOf(srv.Listener.Addr().String())
	// The one wiring, as `sesame serve` on a loopback address: the browser
	// uses localhost (public_url), Go's own requests 127.0.0.1.
	cfg := config.Default()
	cfg.DB = filepath.Join(t.TempDir(), "sesame.db")
	cfg.PublicURL = e.base
	cfg.AllowedHosts = []string{srv.Listener.Addr().String()}
	if e.configure != nil {
		e.configure(cfg)
	}
	opts := []app.Option{app.WithLogger(logger), app.WithPasswordParams(cheap)}
	if e.clock != nil {
		opts = append(opts, app.WithClock(e.clock))
	}
	a, err := app.New(ctx, cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	a.Start(ctx)
	e.accounts = a.Accounts()
	e.app = a
	srv.Config.Handler = a.Handler()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // connections the browser drops at exit are not failures
	srv.Start()
	t.Cleanup(srv.Close)
}

func portOf(hostport string) string { return hostport[strings.LastIndexByte(hostport, ':')+1:] }

// startBrowser starts one headless Chromium for this test with the flags
// this machine needs (no background networking on a closed network, no
// sandbox as root) and a fresh profile in the test's temp dir. The browser
// dies with the test's deadline, so a hang cannot outlive testTimeout.
func (e *env) startBrowser(chromium string) {
	t := e.t
	profile := filepath.Join(t.TempDir(), "profile")
	out := &testlog.Buffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1024, 768),
		chromedp.CombinedOutput(out),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	deadline, cancelDeadline := context.WithTimeout(context.Background(), testTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(deadline, opts...)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelDeadline()
		if t.Failed() {
			t.Logf("chromium output (last lines):\n%s", lastLines(out.String(), 30))
		}
	})
	start := time.Now()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium %s: %v\n%s", chromium, err, out.String())
	}
	t.Logf("chromium started in %v", time.Since(start).Round(time.Millisecond))
	e.browser = bctx
}

// screenshotDir is the test's temp dir, or $SESAME_SCREENSHOTS_DIR/<test>
// (or the older $SESAME_TEST_SCREENSHOTS/<test>) when set, for keeping the
// pictures after the run (.ci/run keeps them as an artifact).
func screenshotDir(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "screenshots")
	keep := os.Getenv("SESAME_SCREENSHOTS_DIR")
	if keep == "" {
		keep = os.Getenv("SESAME_TEST_SCREENSHOTS")
	}
	if keep != "" {
		dir = filepath.Join(keep, regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(t.Name(), "_"))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// tab is one user's browser: a page in its own browser context, which
// shares no cookies or storage with the other tabs (like an incognito
// window each).
type tab struct {
	e    *env
	name string
	ctx  context.Context
}

func (e *env) newTab(name string) *tab {
	e.t.Helper()
	ctx, cancel := chromedp.NewContext(e.browser, chromedp.WithNewBrowserContext())
	e.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		e.t.Fatalf("%s: open a browser context: %v", name, err)
	}
	return &tab{e: e, name: name, ctx: ctx}
}

func (tb *tab) fatalf(format string, args ...any) {
	tb.e.t.Helper()
	tb.e.t.Fatalf(tb.name+": "+format, args...)
}

func (tb *tab) errorf(format string, args ...any) {
	tb.e.t.Helper()
	tb.e.t.Errorf(tb.name+": "+format, args...)
}

// do runs actions in the tab, failing the test on error.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.e.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.fatalf("%s: %v", what, err)
	}
}

// open navigates to path on Sesame and returns the main response (after
// any redirects).
func (tb *tab) open(path string) *network.Response {
	tb.e.t.Helper()
	return tb.navigate(tb.e.base + path)
}

func (tb *tab) navigate(url string) *network.Response {
	tb.e.t.Helper()
	resp, err := chromedp.Run(tb.ctx, chromedp.NavigateResponse(url))
	if err != nil {
		tb.fatalf("open %s: %v", url, err)
	}
	if resp == nil {
		tb.fatalf("open %s: no response", url)
	}
	return resp
}

// click clicks the element and waits for the page it leads to.
func (tb *tab) click(sel string) *network.Response {
	tb.e.t.Helper()
	tb.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	resp, err := chromedp.RunResponse(tb.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		tb.fatalf("click %s: %v", sel, err)
	}
	if resp == nil {
		tb.fatalf("click %s: no response", sel)
	}
	return resp
}

// fill types v into the (empty) field with the given id.
func (tb *tab) fill(id, v string) {
	tb.e.t.Helper()
	tb.do("fill #"+id, chromedp.WaitVisible(chromedp.ID(id)), chromedp.SendKeys(chromedp.ID(id), v))
}

func eval[T any](tb *tab, expr string, opts ...chromedp.EvaluateOption) T {
	tb.e.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		tb.fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (tb *tab) text(sel string) string {
	tb.e.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// path is the page's current path and query.
func (tb *tab) path() string {
	tb.e.t.Helper()
	return eval[string](tb, `location.pathname + location.search`)
}

// screenshot writes the whole page as a PNG under the screenshot dir.
func (tb *tab) screenshot(name string) string {
	tb.e.t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.fatalf("screenshot %s: %v", name, err)
	}
	tb.e.mu.Lock()
	tb.e.nshot++
	n := tb.e.nshot
	tb.e.mu.Unlock()
	file := filepath.Join(tb.e.shots, fmt.Sprintf("%02d-%s-%s.png", n, tb.name, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		tb.fatalf("write screenshot: %v", err)
	}
	tb.e.t.Logf("screenshot %s", file)
	return file
}

// page screenshots the page that resp brought and fails the test if it is
// not the page wanted: a 4xx/5xx main response, another title (the error
// page's title is the error message), or an error message on the page.
func (tb *tab) page(name string, resp *network.Response, wantTitle, wantPath string) {
	tb.e.t.Helper()
	tb.screenshot(name)
	if resp.Status >= 400 {
		tb.errorf("%s page: main response %d %s for %s", name, resp.Status, resp.StatusText, resp.URL)
	}
	if title, want := eval[string](tb, `document.title`), wantTitle+" · Sesame"; title != want {
		tb.errorf("%s page: title %q, want %q", name, title, want)
	}
	if msg := eval[string](tb, `Array.from(document.querySelectorAll(".error")).map(e => e.textContent.trim()).join(" | ")`); msg != "" {
		tb.errorf("%s page shows an error: %q", name, msg)
	}
	if got := eval[string](tb, `location.pathname`); got != wantPath {
		tb.errorf("%s page: at %s, want %s", name, got, wantPath)
	}
	if tb.e.t.Failed() {
		tb.e.t.FailNow()
	}
}

// signup creates an account through the sign-up form, by clicking.
func (tb *tab) signup(username, pw string) {
	tb.e.t.Helper()
	tb.page("signup", tb.open("/signup"), "Create an account", "/signup")
	tb.fill("username", username)
	tb.fill("password", pw)
	tb.page("account-after-signup", tb.click("#signup-submit"), "Your account", "/account")
}

// login signs in through the login form, by clicking, and checks that the
// account page of username follows.
func (tb *tab) login(username, pw string) {
	tb.e.t.Helper()
	tb.page("login", tb.open("/login"), "Sign in", "/login")
	tb.fill("username", username)
	tb.fill("password", pw)
	tb.page("account", tb.click("#login-submit"), "Your account", "/account")
	if got := tb.text("#account-username"); got != username {
		tb.fatalf("account page signed in as %q, want %q", got, username)
	}
}

// cookies returns the cookies the browser holds for Sesame's origin,
// HttpOnly ones included.
func (tb *tab) cookies() []*network.Cookie {
	tb.e.t.Helper()
	res, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{tb.e.base + "/"}})
	if err != nil {
		tb.fatalf("get cookies: %v", err)
	}
	return res.Cookies
}

// cookie returns the named cookie the browser holds for Sesame, or nil.
func (tb *tab) cookie(name string) *network.Cookie {
	tb.e.t.Helper()
	for _, c := range tb.cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// plantSessionCookie sets a session cookie in the browser as an attacker
// who can write cookies for the site would (a sibling page, a script, a
// shared computer).
func (tb *tab) plantSessionCookie(value string) {
	tb.e.t.Helper()
	_, err := chromedp.Call(tb.ctx, network.SetCookie, network.SetCookieParams{
		Name: sessionCookie, Value: value, URL: tb.e.base + "/", Path: "/",
		Secure: new(true), HTTPOnly: new(true), SameSite: network.CookieSameSiteLax,
	})
	if err != nil {
		tb.fatalf("plant %s: %v", sessionCookie, err)
	}
	if c := tb.cookie(sessionCookie); c == nil || c.Value != value {
		tb.fatalf("planted %s did not stick: got %+v", sessionCookie, c)
	}
}

// apiStatus is the status of a GET of path sent by the page itself, with
// its cookies: what the session's next request gets.
func (tb *tab) apiStatus(path string) int {
	tb.e.t.Helper()
	return eval[int](tb, fmt.Sprintf(`fetch(%q, {credentials: "same-origin"}).then(r => r.status)`, path), chromedp.EvalAwaitPromise)
}

// Go-side HTTP, for sessions outside the browser (an attacker's own, or the
// user's second device). It talks to 127.0.0.1 directly and carries the
// session cookie by hand: Go's cookie jar never sends Secure cookies over
// plain HTTP.

// apiLogin signs in over the JSON API and returns the session cookie.
func (e *env) apiLogin(username, pw string) string {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"username": username, "password": pw})
	req, _ := http.NewRequest("POST", e.direct+"/api/v1/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sesame-browser-test/"+username)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		e.t.Fatalf("api login %s: got %d %s, want 200", username, res.StatusCode, b)
	}
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	e.t.Fatalf("api login %s: no %s cookie", username, sessionCookie)
	return ""
}

// get sends a GET with the session cookie and returns status and body.
func (e *env) get(path, cookie string) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.direct+path, nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// me is the status of GET /api/v1/me with the session cookie.
func (e *env) me(cookie string) int {
	e.t.Helper()
	status, _ := e.get("/api/v1/me", cookie)
	return status
}

// csrfToken returns a CSRF token bound to the cookie's session.
func (e *env) csrfToken(cookie string) string {
	e.t.Helper()
	status, b := e.get("/api/v1/csrf", cookie)
	var v struct {
		Token string `json:"csrf_token"`
	}
	if err := json.Unmarshal(b, &v); status != 200 || err != nil || v.Token == "" {
		e.t.Fatalf("GET /api/v1/csrf: got %d %s, want 200 with a token", status, b)
	}
	return v.Token
}

// events returns the audit events of type typ the server has logged.
func (e *env) events(typ sesame.EventType) []map[string]any {
	var out []map[string]any
	for line := range strings.Lines(e.logs.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "audit" && m["event"] == string(typ) {
			out = append(out, m)
		}
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
