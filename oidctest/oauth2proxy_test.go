package oidctest

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sesame-auth/sesame/internal/testlog"
	"github.com/sesame-auth/sesame/oauth"
)

// oauth2ProxyVersion is the release .ci/run builds.
const oauth2ProxyVersion = "v7.15.6"

// oauth2ProxyPath finds oauth2-proxy: $SESAME_TEST_OAUTH2_PROXY, then PATH.
// Without it the test skips, except under CI=true (STYLE 15).
func oauth2ProxyPath(t *testing.T) string {
	t.Helper()
	msg := "install it with `GOBIN=/some/dir go install github.com/oauth2-proxy/oauth2-proxy/v7@" + oauth2ProxyVersion +
		"` and set SESAME_TEST_OAUTH2_PROXY=/some/dir/oauth2-proxy (.ci/run does)"
	if p := os.Getenv("SESAME_TEST_OAUTH2_PROXY"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		missingProgram(t, fmt.Sprintf("SESAME_TEST_OAUTH2_PROXY=%s does not exist: %s", p, msg))
	}
	if p, err := exec.LookPath("oauth2-proxy"); err == nil {
		return p
	}
	missingProgram(t, "no oauth2-proxy in PATH: "+msg)
	return ""
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SESAME_TEST_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		missingProgram(t, fmt.Sprintf("SESAME_TEST_CHROMIUM=%s does not exist", p))
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	missingProgram(t, "no chromium at /usr/bin/chromium or in PATH: apt-get install chromium, or set SESAME_TEST_CHROMIUM")
	return ""
}

func missingProgram(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing program is a failure)")
	}
	t.Skip(msg)
}

// headerUpstream is the app behind oauth2-proxy: a page showing the
// identity headers oauth2-proxy passes (X-Forwarded-User, ...), counting
// requests.
type headerUpstream struct {
	URL string
	mu  sync.Mutex
	n   int
}

var upstreamPage = template.Must(template.New("p").Parse(`<!doctype html><title>upstream</title>
<h1 id="hello">upstream app</h1>
<p>user <span id="user">{{.User}}</span></p>
<p>preferred username <span id="preferred">{{.Preferred}}</span></p>`))

func newHeaderUpstream(t *testing.T) *headerUpstream {
	u := &headerUpstream{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.n++
		u.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = upstreamPage.Execute(w, map[string]string{"User": r.Header.Get("X-Forwarded-User"),
			"Preferred": r.Header.Get("X-Forwarded-Preferred-Username")})
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(srv.Close)
	u.URL = srv.URL
	return u
}

func (u *headerUpstream) count() int { u.mu.Lock(); defer u.mu.Unlock(); return u.n }

// OAuth2ProxyArgs are oauth2-proxy's flags against Sesame, as docs/oidc.md
// gives them (the test adds only addresses and secrets).
func oauth2ProxyArgs(issuer, clientID, secret, listen, upstream, cookieSecret string) []string {
	return []string{
		"--provider=oidc",
		"--oidc-issuer-url=" + issuer,
		"--client-id=" + clientID,
		"--client-secret=" + secret,
		"--redirect-url=http://" + listen + "/oauth2/callback",
		"--http-address=" + listen,
		"--upstream=" + upstream + "/",
		"--cookie-secret=" + cookieSecret,
		"--cookie-secure=false", // plain http on loopback here; drop it behind TLS
		"--email-domain=*",
		"--scope=openid profile",
		"--oidc-email-claim=sub", // Sesame's users have no e-mail address
		"--code-challenge-method=S256",
		"--skip-provider-button=true",
		"--cookie-refresh=1s", // refresh (and so notice an ended session) after 1 s; 1m or so in production
	}
}

// TestOAuth2Proxy puts oauth2-proxy (the real binary) in front of an app,
// with Sesame as its OIDC provider, and signs in with real Chromium: visit
// → Sesame's login page → consent → the app's page with the user's
// identity. After a refresh through oauth2-proxy, the user signs out at
// Sesame: the back-channel notice for the session reaches the client's
// back-channel URI, and oauth2-proxy's next request, whose refresh Sesame
// refuses (invalid_grant), does not reach the app but goes to sign-in.
// oauth2-proxy itself has no back-channel logout endpoint: until its
// cookie is older than --cookie-refresh it lets requests through.
func TestOAuth2Proxy(t *testing.T) {
	t.Parallel()
	bin := oauth2ProxyPath(t)
	chromium := chromiumPath(t)
	s := Start(t)
	s.User("frank", pw)
	up := newHeaderUpstream(t)
	recv := NewLogoutReceiver(t)
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	front := "http://" + listen
	id, secret := s.AddClient(oauth.Client{Name: "Wiki behind oauth2-proxy", RedirectURIs: []string{front + "/oauth2/callback"},
		BackchannelLogoutURI: recv.URL})
	startOAuth2Proxy(t, bin, listen, oauth2ProxyArgs(s.URL, id, secret, listen, up.URL, "0123456789abcdef0123456789abcdef"))

	b := startBrowser(t, chromium)
	b.navigate(front + "/")
	if p := b.eval(`location.origin + location.pathname`); p != s.URL+"/login" {
		t.Fatalf("visiting the app without a session: at %s, want Sesame's login page %s/login", p, s.URL)
	}
	b.fill("username", "frank")
	b.fill("password", pw)
	b.click("#login-submit")
	// The client is not first-party: the consent page.
	if p := b.eval(`location.origin + location.pathname`); p != s.URL+oauth.PathAuthorize && p != s.URL+oauth.PathConsent {
		t.Fatalf("after login: at %s, want the consent page; page text: %.500s", p, b.eval(`document.body.innerText`))
	}
	if !b.markConsent(true) {
		t.Fatalf("no allow button on the consent page: %.1000s", b.eval(`document.body.innerHTML`))
	}
	b.click("#oidctest-consent")
	if p := b.eval(`location.origin + location.pathname`); p != front+"/" {
		t.Fatalf("after consent: at %s, want the app at %s/; page: %.500s", p, front, b.eval(`document.body.innerText`))
	}
	sub := b.text("#user")
	if sub == "" || b.text("#hello") != "upstream app" {
		t.Fatalf("the app's page without a user: %.500s", b.eval(`document.body.innerText`))
	}
	if got := b.text("#preferred"); got != "frank" {
		t.Errorf("X-Forwarded-Preferred-Username %q, want frank", got)
	}

	// Past --cookie-refresh, oauth2-proxy refreshes with the refresh
	// token: Sesame's token endpoint rotates it and the app is reached.
	time.Sleep(1100 * time.Millisecond)
	before := up.count()
	if resp := b.navigate(front + "/after-refresh"); resp.Status != 200 || up.count() != before+1 || b.text("#user") != sub {
		t.Fatalf("after a refresh: %d, upstream reached %d times, user %q", resp.Status, up.count()-before, b.text("#user"))
	}

	// Sign out at Sesame, with its own page.
	b.navigate(s.URL + "/account")
	b.click("#logout")
	got := recv.Wait(1, 15*time.Second)
	if len(got) != 1 {
		t.Fatalf("back-channel logout: %d logout tokens, want 1", len(got))
	}
	lt, _ := JWTPart(got[0], 1)
	if lt["aud"] != id && !containsAny(lt["aud"], id) || lt["sub"] != sub || lt["sid"] == nil {
		t.Errorf("logout token claims %v: want aud %s, sub %s, a sid", lt, id, sub)
	}

	// oauth2-proxy's next request, past --cookie-refresh: the refresh is
	// refused, the app is not reached, and the user is back at sign-in.
	time.Sleep(1100 * time.Millisecond)
	before = up.count()
	b.navigate(front + "/after-logout")
	if up.count() != before {
		t.Errorf("the app was reached after the session ended at Sesame")
	}
	if p := b.eval(`location.origin + location.pathname`); p != s.URL+"/login" {
		t.Errorf("after logout: at %s, want Sesame's login page", p)
	}
}

func containsAny(v any, s string) bool {
	l, _ := v.([]any)
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// startOAuth2Proxy runs oauth2-proxy until the test ends and waits for it
// to listen; its output is logged when the test failed.
func startOAuth2Proxy(t *testing.T, bin, listen string, args []string) {
	t.Helper()
	out := &testlog.Buffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = t.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start oauth2-proxy: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("oauth2-proxy output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", listen, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("oauth2-proxy exited before listening on %s:\n%s", listen, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("oauth2-proxy does not listen on %s after 20 s:\n%s", listen, out.String())
		}
	}
}

// browserTimeout bounds one test's browser.
const browserTimeout = 60 * time.Second

type browser struct {
	t   *testing.T
	ctx context.Context
}

func startBrowser(t *testing.T, chromium string) *browser {
	t.Helper()
	out := &testlog.Buffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.CombinedOutput(out),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	deadline, cancelDeadline := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(deadline, opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelDeadline()
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v\n%s", chromium, err, out.String())
	}
	return &browser{t: t, ctx: ctx}
}

func (b *browser) navigate(url string) *network.Response {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(url))
	if err != nil || resp == nil {
		b.t.Fatalf("open %s: %v (response %v)", url, err, resp)
	}
	return resp
}

func (b *browser) fill(id, v string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.WaitVisible(chromedp.ID(id)), chromedp.SendKeys(chromedp.ID(id), v)); err != nil {
		b.t.Fatalf("fill #%s: %v", id, err)
	}
}

func (b *browser) click(sel string) *network.Response {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("wait for %s: %v", sel, err)
	}
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil || resp == nil {
		b.t.Fatalf("click %s: %v (response %v)", sel, err, resp)
	}
	return resp
}

func (b *browser) eval(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(b.eval(fmt.Sprintf(`(document.querySelector(%q) || {textContent: ""}).textContent`, sel)))
}

// markConsent gives the consent form's allow (or deny) button the id
// oidctest-consent, for a click; false when there is none.
func (b *browser) markConsent(allow bool) bool {
	b.t.Helper()
	re := allowRE.String()
	if !allow {
		re = denyRE.String()
	}
	re = strings.TrimPrefix(re, "(?i)")
	js := fmt.Sprintf(`(() => {
		const f = Array.from(document.forms).find(f => f.getAttribute("action") && f.getAttribute("action").includes(%q));
		if (!f) return "no";
		const b = Array.from(f.querySelectorAll("button, input[type=submit]")).find(b => new RegExp(%q, "i").test(b.value));
		if (!b) return "no";
		b.id = "oidctest-consent";
		return "yes";
	})()`, oauth.PathConsent, re)
	return b.eval(js) == "yes"
}

// freePort returns a loopback port that was free a moment ago, for a
// program that must be told its port before it starts.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
