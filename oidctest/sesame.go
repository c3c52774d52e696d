package oidctest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/internal/testlog"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/password"
)

// SessionCookie is the name of Sesame's session cookie.
const SessionCookie = "__Host-sesame"

// cheap keeps argon2 fast: these tests are about the protocol.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1}

// Sesame is one running Sesame: the wiring `sesame serve` uses, with a
// temporary SQLite database, on a loopback server.
type Sesame struct {
	// URL is the issuer and public URL, http://localhost:PORT: what
	// relying parties discover and browsers open.
	URL string
	// Direct is the same server as http://127.0.0.1:PORT.
	Direct string
	App    *app.App
	Logs   *testlog.Buffer

	t testing.TB
}

// Option changes the configuration before Sesame is built.
type Option func(*config.Config)

// Start builds and starts Sesame; it stops when the test ends, and its log
// is printed when the test failed.
func Start(t testing.TB, opts ...Option) *Sesame {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &Sesame{t: t, Logs: &testlog.Buffer{}}
	logger := slog.New(slog.NewJSONHandler(s.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewUnstartedServer(nil)
	addr := srv.Listener.Addr().String()
	s.Direct = "http://" + addr
	s.URL = "http://localhost:" + addr[strings.LastIndexByte(addr, ':')+1:]
	cfg := config.Default()
	cfg.DB = filepath.Join(t.TempDir(), "sesame.db")
	cfg.PublicURL = s.URL
	cfg.AllowedHosts = []string{addr}
	cfg.MasterKey = config.Secret(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	for _, o := range opts {
		o(cfg)
	}
	a, err := app.New(ctx, cfg, app.WithLogger(logger), app.WithPasswordParams(cheap))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	a.Start(ctx)
	s.App = a
	srv.Config.Handler = a.Handler()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // connections a browser or proxy drops at exit are not failures
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sesame log:\n%s", s.Logs.String())
		}
	})
	return s
}

// Store is the provider's store: the deployment's durable store.
func (s *Sesame) Store() oauth.Store {
	s.t.Helper()
	st, ok := s.App.Durable().(oauth.Store)
	if !ok {
		s.t.Fatalf("the durable store %T is not an oauth.Store", s.App.Durable())
	}
	return st
}

// AddClient registers c (its ID made up when empty) in Sesame's store and
// returns its ID and, for a confidential client without a SecretHash, the
// secret made for it.
func (s *Sesame) AddClient(c oauth.Client) (id, secret string) {
	s.t.Helper()
	if c.ID == "" {
		c.ID = oauth.NewClientID()
	}
	if c.Name == "" {
		c.Name = "Test app " + c.ID[:6]
	}
	if !c.Public && c.SecretHash == nil && c.AuthMethod != oauth.AuthPrivateKeyJWT {
		secret, c.SecretHash = oauth.NewSecret()
	}
	c.CreatedAt = time.Now()
	if err := s.Store().CreateClient(context.Background(), &c); err != nil {
		s.t.Fatalf("register client %s: %v", c.Name, err)
	}
	return c.ID, secret
}

// User creates an account (not an administrator) in the groups.
func (s *Sesame) User(name, pw string, groups ...string) {
	s.t.Helper()
	ctx := context.Background()
	if _, err := s.App.Accounts().Signup(ctx, name, pw, false); err != nil {
		s.t.Fatalf("sign up %s: %v", name, err)
	}
	if len(groups) > 0 {
		if _, err := s.App.Accounts().AddGroups(ctx, name, groups...); err != nil {
			s.t.Fatalf("groups of %s: %v", name, err)
		}
	}
}

// Agent is a user's browser as far as redirects and cookies go: an HTTP
// client whose cookie jar keeps Sesame's Secure, __Host- session cookie
// (Go's jar sends Secure cookies only over https; Sesame's host counts as
// one here, as http://localhost does in browsers) and the relying
// parties' cookies (those are reached as 127.0.0.1, a host of their own).
type Agent struct {
	t      testing.TB
	s      *Sesame
	jar    *secureJar
	client *http.Client
}

// NewAgent returns a user agent with an empty cookie jar.
func (s *Sesame) NewAgent() *Agent {
	inner, _ := cookiejar.New(nil)
	j := &secureJar{inner: inner, host: "localhost"}
	return &Agent{t: s.t, s: s, jar: j, client: &http.Client{
		Jar:           j,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Client is the agent's HTTP client: its cookie jar, no redirects followed.
func (a *Agent) Client() *http.Client { return a.client }

type secureJar struct {
	inner *cookiejar.Jar
	host  string
}

func (j *secureJar) fix(u *url.URL) *url.URL {
	if u.Scheme == "http" && u.Hostname() == j.host {
		c := *u
		c.Scheme = "https"
		return &c
	}
	return u
}

func (j *secureJar) SetCookies(u *url.URL, cs []*http.Cookie) { j.inner.SetCookies(j.fix(u), cs) }
func (j *secureJar) Cookies(u *url.URL) []*http.Cookie        { return j.inner.Cookies(j.fix(u)) }

// SessionCookie is the value of the agent's Sesame session cookie, or "".
func (a *Agent) SessionCookie() string {
	u, _ := url.Parse(a.s.URL + "/")
	for _, c := range a.jar.Cookies(u) {
		if c.Name == SessionCookie {
			return c.Value
		}
	}
	return ""
}

// Login signs in over Sesame's JSON API; the session cookie lands in the
// jar.
func (a *Agent) Login(name, pw string) {
	a.t.Helper()
	body, _ := json.Marshal(map[string]string{"username": name, "password": pw})
	req, _ := http.NewRequest("POST", a.s.URL+"/api/v1/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := a.client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		a.t.Fatalf("login %s: got %d %s, want 200", name, res.StatusCode, b)
	}
	if a.SessionCookie() == "" {
		a.t.Fatalf("login %s: no %s cookie kept", name, SessionCookie)
	}
}

// Logout ends the agent's Sesame session with POST /api/v1/logout, as
// Sesame's own pages would (same origin, CSRF token).
func (a *Agent) Logout() {
	a.t.Helper()
	res, err := a.client.Get(a.s.URL + "/api/v1/csrf")
	if err != nil {
		a.t.Fatal(err)
	}
	var v struct {
		Token string `json:"csrf_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&v)
	res.Body.Close()
	if err != nil || v.Token == "" {
		a.t.Fatalf("GET /api/v1/csrf: %d, %v", res.StatusCode, err)
	}
	req, _ := http.NewRequest("POST", a.s.URL+"/api/v1/logout", nil)
	req.Header.Set("Origin", a.s.URL)
	req.Header.Set("X-CSRF-Token", v.Token)
	res, err = a.client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		a.t.Fatalf("POST /api/v1/logout: got %d %s, want 204", res.StatusCode, b)
	}
}

// Page is where a chain of redirects ended.
type Page struct {
	Status int
	URL    *url.URL
	Header http.Header
	Body   string
	// Visited lists every URL requested on the way, the first included.
	Visited []string
}

func (p *Page) String() string {
	return fmt.Sprintf("%d at %s (via %s): %.600s", p.Status, p.URL, strings.Join(p.Visited, " -> "), p.Body)
}

// VisitedPath reports whether a URL with the path was requested on the
// way.
func (p *Page) VisitedPath(path string) bool {
	for _, v := range p.Visited {
		if u, err := url.Parse(v); err == nil && u.Path == path {
			return true
		}
	}
	return false
}

// Get opens u and follows redirects to the end.
func (a *Agent) Get(u string) *Page {
	a.t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	_, p := a.follow(req, "")
	return p
}

// Authorize opens authURL and follows redirects until one goes to
// redirectURI (the relying party's callback, not requested), whose query
// it returns with the page that redirected. When the chain ends elsewhere
// (a login page, a consent page, an error) the query is nil.
func (a *Agent) Authorize(authURL, redirectURI string) (url.Values, *Page) {
	a.t.Helper()
	req, err := http.NewRequest("GET", authURL, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	return a.follow(req, redirectURI)
}

// follow sends req and follows redirects, stopping before a URL that
// starts with stop (when stop is not empty).
func (a *Agent) follow(req *http.Request, stop string) (url.Values, *Page) {
	a.t.Helper()
	p := &Page{}
	for range 20 {
		p.Visited = append(p.Visited, req.URL.String())
		res, err := a.client.Do(req)
		if err != nil {
			a.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		p.Status, p.URL, p.Header, p.Body = res.StatusCode, req.URL, res.Header, string(b)
		loc := res.Header.Get("Location")
		if res.StatusCode < 300 || res.StatusCode > 399 || loc == "" {
			return nil, p
		}
		next, err := req.URL.Parse(loc)
		if err != nil {
			a.t.Fatalf("%s: bad Location %q: %v", req.URL, loc, err)
		}
		if stop != "" && strings.HasPrefix(next.String(), stop) {
			p.Visited = append(p.Visited, next.String())
			return next.Query(), p
		}
		req, _ = http.NewRequest("GET", next.String(), nil)
	}
	a.t.Fatalf("more than 20 redirects: %s", strings.Join(p.Visited, " -> "))
	return nil, nil
}

var (
	formRE   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRE  = regexp.MustCompile(`(?is)<(input|button)\b([^>]*)>`)
	attrRE   = regexp.MustCompile(`(?is)([a-z-]+)\s*=\s*("([^"]*)"|'([^']*)')`)
	allowRE  = regexp.MustCompile(`(?i)^(allow|approve|accept|yes|grant|consent|continue)$`)
	denyRE   = regexp.MustCompile(`(?i)^(deny|reject|cancel|no|refuse|decline)$`)
	errNoBtn = errors.New("no such button")
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		v := a[3]
		if strings.HasPrefix(a[2], "'") {
			v = a[4]
		}
		m[strings.ToLower(a[1])] = html.UnescapeString(v)
	}
	return m
}

// SubmitForm submits the form of p whose action contains action, as a
// browser would on a click of its button whose value matches button (a
// regular expression; nil: the first submit button), with Origin set to
// the form's origin, and follows redirects as Authorize does.
func (a *Agent) SubmitForm(p *Page, action string, button *regexp.Regexp, stop string) (url.Values, *Page, error) {
	a.t.Helper()
	for _, f := range formRE.FindAllStringSubmatch(p.Body, -1) {
		fa := attrs(f[1])
		if !strings.Contains(fa["action"], action) {
			continue
		}
		form := url.Values{}
		clicked := false
		for _, in := range inputRE.FindAllStringSubmatch(f[2], -1) {
			at := attrs(in[2])
			name := at["name"]
			isButton := strings.EqualFold(in[1], "button") || strings.EqualFold(at["type"], "submit")
			if isButton {
				if clicked || name == "" && button != nil {
					continue
				}
				if button == nil || button.MatchString(at["value"]) {
					clicked = true
					if name != "" {
						form.Set(name, at["value"])
					}
				}
				continue
			}
			if name == "" {
				continue
			}
			if t := strings.ToLower(at["type"]); (t == "checkbox" || t == "radio") && !hasAttr(in[2], "checked") {
				continue
			}
			form.Add(name, at["value"])
		}
		if !clicked {
			return nil, p, errNoBtn
		}
		target, err := p.URL.Parse(fa["action"])
		if err != nil {
			return nil, p, err
		}
		req, _ := http.NewRequest("POST", target.String(), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", p.URL.Scheme+"://"+p.URL.Host)
		q, np := a.follow(req, stop)
		return q, np, nil
	}
	return nil, p, fmt.Errorf("no form with action %q on %s", action, p.URL)
}

func hasAttr(tag, name string) bool {
	return regexp.MustCompile(`(?i)\s` + name + `(\s|=|/|$)`).MatchString(tag)
}

// Consent answers Sesame's consent page p (allow or deny) and follows the
// redirects to redirectURI as Authorize does.
func (a *Agent) Consent(p *Page, allow bool, redirectURI string) (url.Values, *Page) {
	a.t.Helper()
	btn := allowRE
	if !allow {
		btn = denyRE
	}
	q, np, err := a.SubmitForm(p, oauth.PathConsent, btn, redirectURI)
	if err != nil {
		a.t.Fatalf("consent page: %v\n%s", err, p)
	}
	return q, np
}

// LogoutReceiver is a relying party's back-channel logout endpoint
// (OpenID Connect Back-Channel Logout 1.0): it records every logout token
// POSTed to it and answers 200.
type LogoutReceiver struct {
	URL string // the endpoint, http://127.0.0.1:PORT/backchannel
	mu  sync.Mutex
	got []string
	ch  chan struct{}
}

// NewLogoutReceiver starts one on loopback; it stops when the test ends.
func NewLogoutReceiver(t testing.TB) *LogoutReceiver {
	r := &LogoutReceiver{ch: make(chan struct{}, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != "POST" || req.URL.Path != "/backchannel" {
			http.Error(w, "POST /backchannel only", http.StatusMethodNotAllowed)
			return
		}
		if err := req.ParseForm(); err != nil || req.PostForm.Get("logout_token") == "" {
			http.Error(w, "no logout_token", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, req.PostForm.Get("logout_token"))
		r.mu.Unlock()
		w.Header().Set("Cache-Control", "no-store")
		select {
		case r.ch <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/backchannel"
	return r
}

// Tokens returns the logout tokens received so far.
func (r *LogoutReceiver) Tokens() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// Wait waits until n logout tokens have arrived, at most d, and returns
// those received.
func (r *LogoutReceiver) Wait(n int, d time.Duration) []string {
	deadline := time.After(d)
	for {
		if got := r.Tokens(); len(got) >= n {
			return got
		}
		select {
		case <-r.ch:
		case <-deadline:
			return r.Tokens()
		}
	}
}

// JWTPart decodes the header (0) or claims (1) of a compact JWS.
func JWTPart(tok string, i int) (map[string]any, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a compact JWS: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	return m, json.Unmarshal(b, &m)
}
