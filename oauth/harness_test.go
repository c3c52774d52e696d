package oauth_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// The browser-side harness, for any test of package oauth_test: a
// Provider over memstore (sessions, users, refresh tokens and the OAuth
// store), an ES256 + RS256 key set, a settable clock, served over TLS by
// an httptest server whose URL is the issuer. The handler is the
// provider's routes behind the session middleware and, except on the
// NoCSRF routes, token.Middleware: what package server does, without its
// pages and CSRF check (server tests cover those). The pages are recorded:
// each answers with X-Test-Page (consent, error, logout) and a JSON body.
//
// A harness browser (h.browser()) has its own cookie jar, follows no
// redirect, and signs in through POST /test/login (session.Manager.Login).

var hT0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

const hPassword = "correct horse battery staple"

type harness struct {
	t        *testing.T
	ctx      context.Context
	clock    *testclock.Clock
	store    *memstore.Store
	sessions *session.Manager
	tokens   *token.Service
	accounts *account.Service
	keys     *hKeys
	registry *oauth.Registry
	provider *oauth.Provider
	srv      *httptest.Server
	issuer   string

	mu     sync.Mutex
	events []sesame.Event
}

// hKeys is an oauth.Keys (and token.Keys) over one ES256 and one RS256
// key, ES256 the default.
type hKeys struct {
	es, rs *jose.Key
	set    *jose.KeySet
}

func (k *hKeys) SigningKey() *jose.Key { return k.es }
func (k *hKeys) SigningKeyFor(alg jose.Algorithm) *jose.Key {
	switch alg {
	case jose.ES256:
		return k.es
	case jose.RS256:
		return k.rs
	}
	return nil
}
func (k *hKeys) Algorithms() []jose.Algorithm             { return []jose.Algorithm{jose.ES256, jose.RS256} }
func (k *hKeys) ResolveKey(kid string) (*jose.Key, error) { return k.set.ResolveKey(kid) }
func (k *hKeys) JWKS() []byte                             { b, _ := k.set.MarshalJSON(); return b }

var (
	hKeysOnce sync.Once
	hKeysVal  *hKeys
)

// newHKeys returns the package's test keys (an RSA key is slow to make:
// one per test binary).
func newHKeys(t testing.TB) *hKeys {
	hKeysOnce.Do(func() {
		es, err := jose.GenerateKey(jose.ES256, "h-es")
		if err != nil {
			panic(err)
		}
		rs, err := jose.GenerateKey(jose.RS256, "h-rs")
		if err != nil {
			panic(err)
		}
		set, err := jose.NewKeySet(es, rs)
		if err != nil {
			panic(err)
		}
		hKeysVal = &hKeys{es: es, rs: rs, set: set}
	})
	return hKeysVal
}

// newHarness starts a provider; mod may change its Config before New
// (Registry is built from the clients given to it, after mod).
func newHarness(t *testing.T, mod func(*oauth.Config), clients ...*oauth.Client) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := &harness{t: t, ctx: ctx, clock: testclock.New(hT0), store: memstore.New(), keys: newHKeys(t)}
	sink := sesame.EventFunc(func(_ context.Context, e sesame.Event) {
		h.mu.Lock()
		h.events = append(h.events, e)
		h.mu.Unlock()
	})
	var err error
	h.sessions, err = session.New(h.store, session.Config{Clock: h.clock, Events: sink})
	if err != nil {
		t.Fatal(err)
	}
	h.sessions.Start(ctx)
	h.accounts = &account.Service{Users: h.store, Sessions: h.sessions, Clock: h.clock,
		Hasher: &password.Hasher{Params: password.Params{Memory: 64, Time: 1, Threads: 1}, AllowWeakParams: true}}

	h.srv = httptest.NewUnstartedServer(nil)
	h.issuer = "https://" + h.srv.Listener.Addr().String()
	h.tokens, err = token.New(token.Config{Issuer: h.issuer, Keys: h.keys, SuccessorKey: []byte(strings.Repeat("s", 32)),
		Store: h.store, Sessions: h.sessions, Clock: h.clock, Events: sink, CheckUser: h.accounts.CheckUser})
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth.Config{
		Issuer: h.issuer, Store: h.store, Sessions: h.sessions, Tokens: h.tokens, Accounts: h.accounts, Keys: h.keys,
		Resources:     []string{"https://api.example.test", "https://billing.example.test"},
		RequestKey:    []byte(strings.Repeat("r", 32)),
		RenderConsent: hRenderConsent, RenderError: hRenderError, RenderLogout: hRenderLogout,
		Clock: h.clock, Events: sink, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mod != nil {
		mod(&cfg)
	}
	if cfg.Registry == nil {
		if cfg.Registry, err = oauth.NewRegistry(clients, h.store); err != nil {
			t.Fatal(err)
		}
	}
	h.registry = cfg.Registry
	if h.provider, err = oauth.New(cfg); err != nil {
		t.Fatal(err)
	}
	h.srv.Config.Handler = h.handler()
	h.srv.StartTLS()
	t.Cleanup(h.srv.Close)
	return h
}

// handler mounts the provider like package server does (without CSRF and
// pages), plus POST /test/login?user=ID.
func (h *harness) handler() http.Handler {
	mux := http.NewServeMux()
	own := map[string]bool{}
	for _, rt := range h.provider.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, rt.Handler)
		if rt.NoCSRF {
			own[rt.Pattern] = true
		}
	}
	mux.HandleFunc("POST /test/login", func(w http.ResponseWriter, r *http.Request) {
		if _, err := h.sessions.Login(w, r, r.URL.Query().Get("user"), session.LoginOptions{}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	tm := token.NewMiddleware(h.tokens)
	tm.AcceptCookie(token.AccessCookie) // as package server does (the cookie transport)
	withTokens := tm.Handler(mux)
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if own[r.URL.Path] {
			mux.ServeHTTP(w, r)
			return
		}
		withTokens.ServeHTTP(w, r)
	})
	return h.sessions.Middleware(inner)
}

func hRenderConsent(w http.ResponseWriter, r *http.Request, v oauth.ConsentView) {
	w.Header().Set("X-Test-Page", "consent")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func hRenderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Set("X-Test-Page", "error")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func hRenderLogout(w http.ResponseWriter, r *http.Request, v oauth.LogoutView) {
	w.Header().Set("X-Test-Page", "logout")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// user creates a user (password hPassword).
func (h *harness) user(name string) *sesame.User {
	h.t.Helper()
	u, err := h.accounts.Signup(h.ctx, name, hPassword, false)
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

// client registers c in the store (defaults: a confidential client with
// a secret, redirect https://rp.example.test/cb) and returns its secret.
func (h *harness) client(c *oauth.Client) string {
	h.t.Helper()
	secret := ""
	if !c.Public && c.SecretHash == nil {
		secret, c.SecretHash = oauth.NewSecret()
	}
	if c.RedirectURIs == nil {
		c.RedirectURIs = []string{"https://rp.example.test/cb"}
	}
	c.CreatedAt = h.clock.Now()
	if err := h.store.CreateClient(h.ctx, c); err != nil {
		h.t.Fatal(err)
	}
	return secret
}

// hEvents returns the events of type typ seen so far.
func (h *harness) hEvents(typ sesame.EventType) []sesame.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []sesame.Event
	for _, e := range h.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// hBrowser is one user agent.
type hBrowser struct {
	h  *harness
	c  *http.Client
	ua string
}

func (h *harness) browser() *hBrowser {
	jar, _ := cookiejar.New(nil)
	c := *h.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hBrowser{h: h, c: &c, ua: "harness-browser/1.0"}
}

// hResp is an answer with its body read.
type hResp struct {
	*http.Response
	body []byte
}

// page is the X-Test-Page of the answer ("" for none).
func (r *hResp) page() string { return r.Header.Get("X-Test-Page") }

// location parses the Location header.
func (r *hResp) location(t testing.TB) *url.URL {
	t.Helper()
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil || r.Header.Get("Location") == "" {
		t.Fatalf("no usable Location (%d %s): %v", r.StatusCode, r.body, err)
	}
	return u
}

// consent decodes a consent page.
func (r *hResp) consent(t testing.TB) oauth.ConsentView {
	t.Helper()
	var v oauth.ConsentView
	if r.page() != "consent" || json.Unmarshal(r.body, &v) != nil {
		t.Fatalf("want the consent page, got %d %q %s", r.StatusCode, r.page(), r.body)
	}
	return v
}

// do sends a request; a url.Values body is a form. hdr are name, value
// pairs.
func (b *hBrowser) do(method, path string, body url.Values, hdr ...string) *hResp {
	b.h.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(body.Encode())
	}
	target := path
	if strings.HasPrefix(path, "/") {
		target = b.h.issuer + path
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		b.h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", b.ua)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return &hResp{Response: res, body: data}
}

// login signs the browser in as u (a new cookie session).
func (b *hBrowser) login(u *sesame.User) {
	b.h.t.Helper()
	if r := b.do("POST", "/test/login?user="+url.QueryEscape(u.ID), nil); r.StatusCode != http.StatusOK {
		b.h.t.Fatalf("test login: %d %s", r.StatusCode, r.body)
	}
}

// lastSession returns the ID of u's newest live session.
func (h *harness) lastSession(u *sesame.User) string {
	h.t.Helper()
	list, err := h.sessions.List(h.ctx, u.ID)
	if err != nil || len(list) == 0 {
		h.t.Fatalf("no session of %s: %v", u.Username, err)
	}
	return list[len(list)-1].ID
}

// authorize sends GET /oauth2/authorize with q.
func (b *hBrowser) authorize(q url.Values) *hResp {
	b.h.t.Helper()
	return b.do("GET", oauth.PathAuthorize+"?"+q.Encode(), nil)
}

// codeFrom checks that r redirects to redirectURI with a code, the state
// and iss, and returns the code.
func (h *harness) codeFrom(r *hResp, redirectURI, state string) string {
	h.t.Helper()
	if r.StatusCode != http.StatusFound && r.StatusCode != http.StatusSeeOther {
		h.t.Fatalf("want a redirect with a code, got %d %q %s", r.StatusCode, r.page(), r.body)
	}
	loc := r.location(h.t)
	q := loc.Query()
	base := *loc
	base.RawQuery = ""
	if base.String() != redirectURI {
		h.t.Fatalf("redirected to %s, want %s", base.String(), redirectURI)
	}
	if q.Get("error") != "" {
		h.t.Fatalf("authorization error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != state || q.Get("iss") != h.issuer || len(q.Get("code")) != 43 {
		h.t.Fatalf("bad authorization response %s (state %q, want %q; iss %q, want %q)", loc, q.Get("state"), state, q.Get("iss"), h.issuer)
	}
	return q.Get("code")
}

// errorFrom checks that r redirects to redirectURI with an error (and
// iss) and returns the error code.
func (h *harness) errorFrom(r *hResp, redirectURI string) string {
	h.t.Helper()
	if r.StatusCode != http.StatusFound && r.StatusCode != http.StatusSeeOther {
		h.t.Fatalf("want a redirect with an error, got %d %q %s", r.StatusCode, r.page(), r.body)
	}
	loc := r.location(h.t)
	if !strings.HasPrefix(loc.String(), redirectURI+"?") {
		h.t.Fatalf("redirected to %s, want %s", loc, redirectURI)
	}
	q := loc.Query()
	if q.Get("iss") != h.issuer {
		h.t.Fatalf("error response without iss (RFC 9207): %s", loc)
	}
	if q.Get("code") != "" {
		h.t.Fatalf("an error response carries a code: %s", loc)
	}
	return q.Get("error")
}

// hPKCE returns a new verifier and its S256 challenge.
func hPKCE() (verifier, challenge string) {
	var b [32]byte
	rand.Read(b[:])
	verifier = base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authQuery is a valid authorization request for the client, with PKCE.
func hAuthQuery(clientID, redirectURI string) (url.Values, string) {
	v, c := hPKCE()
	return url.Values{
		"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {"openid profile"}, "state": {"st-123"}, "nonce": {"n-456"},
		"code_challenge": {c}, "code_challenge_method": {"S256"},
	}, v
}

// redeem exchanges a code at the token endpoint (client_secret_basic when
// secret is set).
func (b *hBrowser) redeem(clientID, secret, code, redirectURI, verifier string) *hResp {
	b.h.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	hdr := []string{}
	if secret != "" {
		hdr = append(hdr, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID)+":"+url.QueryEscape(secret))))
	} else {
		form.Set("client_id", clientID)
	}
	return b.do("POST", oauth.PathToken, form, hdr...)
}
