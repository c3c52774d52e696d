package oidctest

import (
	"fmt"
	"html/template"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testlog"
	"github.com/sesame-auth/sesame/oauth"
)

// refreshWait is how long the test waits for oauth2-proxy's cookie to be
// older than --cookie-refresh (1s): twice that, because oauth2-proxy
// sometimes counted a session refreshed about 1.3 s before as not yet due
// (seen under load with 1.1 s), and then let the request through without
// asking Sesame at all.
const refreshWait = 2100 * time.Millisecond

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
		MissingProgram(t, fmt.Sprintf("SESAME_TEST_OAUTH2_PROXY=%s does not exist: %s", p, msg))
	}
	if p, err := exec.LookPath("oauth2-proxy"); err == nil {
		return p
	}
	MissingProgram(t, "no oauth2-proxy in PATH: "+msg)
	return ""
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
	o := startOAuth2ProxyEnv(t, oauth.Client{})
	b := o.b
	b.Navigate(o.front + "/")
	if p := b.Location(); p != o.s.URL+"/login" {
		t.Fatalf("visiting the app without a session: at %s, want Sesame's login page %s/login", p, o.s.URL)
	}
	b.Login("frank", pw, o.s.URL+oauth.PathAuthorize) // the client is not first-party: the consent page
	b.Consent(true, o.front+"/")
	sub := o.checkUpstream(t)

	// Past --cookie-refresh, oauth2-proxy refreshes with the refresh
	// token: Sesame's token endpoint rotates it and the app is reached.
	time.Sleep(refreshWait)
	before := o.up.count()
	if resp := b.Navigate(o.front + "/after-refresh"); resp.Status != 200 || o.up.count() != before+1 || b.Text("#user") != sub {
		t.Fatalf("after a refresh: %d, upstream reached %d times, user %q", resp.Status, o.up.count()-before, b.Text("#user"))
	}

	// Sign out at Sesame, with its own page.
	b.Navigate(o.s.URL + "/account")
	b.ClickTo("#logout", o.s.URL+"/login")
	got := o.recv.Wait(1, 30*time.Second)
	if len(got) != 1 {
		t.Fatalf("back-channel logout: %d logout tokens, want 1", len(got))
	}
	lt, _ := JWTPart(got[0], 1)
	if lt["aud"] != o.id && !containsAny(lt["aud"], o.id) || lt["sub"] != sub || lt["sid"] == nil {
		t.Errorf("logout token claims %v: want aud %s, sub %s, a sid", lt, o.id, sub)
	}

	// oauth2-proxy's next request, past --cookie-refresh: the refresh is
	// refused, the app is not reached, and the user is back at sign-in.
	time.Sleep(refreshWait)
	before = o.up.count()
	b.Navigate(o.front + "/after-logout")
	if o.up.count() != before {
		t.Errorf("the app was reached after the session ended at Sesame")
	}
	if p := b.Location(); p != o.s.URL+"/login" {
		t.Errorf("after logout: at %s, want Sesame's login page", p)
	}
}

// TestOAuth2ProxySignOutEverywhere: oauth2-proxy's sign-out link with rd
// set to Sesame's end_session_endpoint (and Sesame's host in
// --whitelist-domain) signs the user out of both: oauth2-proxy clears its
// cookie, Sesame asks for confirmation (the request has no id_token_hint:
// oauth2-proxy keeps the ID token in its own cookie and does not send it),
// ends the session, tells the back-channel URI, and sends the browser
// back to the app, which sends it to sign in again.
func TestOAuth2ProxySignOutEverywhere(t *testing.T) {
	t.Parallel()
	// The Sesame port is known only once it runs: whitelist every port of
	// localhost (the issuer's host here).
	o := startOAuth2ProxyEnv(t, oauth.Client{FirstParty: true, PostLogoutRedirectURIs: []string{"FRONT/"}}, "--whitelist-domain=localhost:*")
	b := o.b
	b.Navigate(o.front + "/")
	b.Login("frank", pw, o.front+"/")
	o.checkUpstream(t)

	q := url.Values{"client_id": {o.id}, "post_logout_redirect_uri": {o.front + "/"}}
	end := o.s.URL + oauth.PathEndSession + "?" + q.Encode()
	b.Navigate(o.front + "/oauth2/sign_out?rd=" + url.QueryEscape(end))
	if p := b.Location(); p != o.s.URL+oauth.PathEndSession {
		t.Fatalf("after oauth2-proxy's sign-out: at %s, want Sesame's logout confirmation; page: %.300s", p, b.Eval(`document.body.innerText`))
	}
	before := o.up.count()
	b.ClickTo("#logout-confirm", o.s.URL+"/login")
	if o.up.count() != before {
		t.Error("the app was reached after signing out everywhere")
	}
	if got := o.recv.Wait(1, 30*time.Second); len(got) != 1 {
		t.Errorf("back-channel logout: %d logout tokens, want 1", len(got))
	}
}

type oauth2ProxyEnv struct {
	s     *Sesame
	b     *Browser
	up    *headerUpstream
	recv  *LogoutReceiver
	id    string
	front string
}

// startOAuth2ProxyEnv starts Sesame (user frank), the upstream, a
// back-channel receiver, Chromium, and oauth2-proxy registered as c (its
// redirect and back-channel URIs filled in; post-logout URIs may say
// FRONT for the proxy's URL), with the documented flags and extra ones.
func startOAuth2ProxyEnv(t *testing.T, c oauth.Client, extra ...string) *oauth2ProxyEnv {
	t.Helper()
	bin := oauth2ProxyPath(t)
	b := StartBrowser(t)
	s := Start(t)
	s.User("frank", pw)
	o := &oauth2ProxyEnv{s: s, b: b, up: newHeaderUpstream(t), recv: NewLogoutReceiver(t)}
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	o.front = "http://" + listen
	c.Name = "Wiki behind oauth2-proxy"
	c.RedirectURIs = []string{o.front + "/oauth2/callback"}
	c.BackchannelLogoutURI = o.recv.URL
	for i, u := range c.PostLogoutRedirectURIs {
		c.PostLogoutRedirectURIs[i] = strings.ReplaceAll(u, "FRONT", o.front)
	}
	var secret string
	o.id, secret = s.AddClient(c)
	args := append(oauth2ProxyArgs(s.URL, o.id, secret, listen, o.up.URL, "0123456789abcdef0123456789abcdef"), extra...)
	startOAuth2Proxy(t, bin, listen, args)
	return o
}

// checkUpstream checks the app's page shows the user oauth2-proxy passed
// and returns the user (the sub claim).
func (o *oauth2ProxyEnv) checkUpstream(t *testing.T) string {
	t.Helper()
	sub := o.b.Text("#user")
	if sub == "" || o.b.Text("#hello") != "upstream app" {
		t.Fatalf("the app's page without a user: %.500s", o.b.Eval(`document.body.innerText`))
	}
	if got := o.b.Text("#preferred"); got != "frank" {
		t.Errorf("X-Forwarded-Preferred-Username %q, want frank", got)
	}
	return sub
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
