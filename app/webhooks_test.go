package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/webhook"
)

// hookReceiver is a webhook endpoint that verifies each request with its
// secret (webhook.Verify, as a receiver would) and records the payloads.
type hookReceiver struct {
	srv    *httptest.Server
	secret string
	hold   func(r *http.Request) // called before answering; may block

	mu     sync.Mutex
	bodies []string
	ids    []string
	bad    []string // requests that did not verify
	got    chan string
}

func newHookReceiver(t testing.TB, hold func(*http.Request)) *hookReceiver {
	h := &hookReceiver{secret: webhook.NewSecret(), hold: hold, got: make(chan string, 100)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if h.hold != nil {
			h.hold(r)
		}
		h.mu.Lock()
		if err := webhook.Verify([]string{h.secret}, r.Header, body, time.Now()); err != nil {
			h.bad = append(h.bad, err.Error())
			h.mu.Unlock()
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		h.bodies = append(h.bodies, string(body))
		h.ids = append(h.ids, r.Header.Get("webhook-id"))
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		h.got <- string(body)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func webhookConfig(t testing.TB, h *hookReceiver, events ...string) *config.Config {
	cfg := testConfig(nil, filepath.Join(t.TempDir(), "sesame.db"))
	cfg.Webhooks = []config.Webhook{{URL: h.srv.URL + "/hook", Events: events, Secrets: []config.Secret{config.Secret(h.secret)}}}
	return cfg
}

var fastHooks = WithWebhookTuning(webhook.Tuning{Poll: 20 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})

// waitTypes waits until the receiver has accepted a webhook of each type.
func (h *hookReceiver) waitTypes(t *testing.T, types ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, ty := range types {
		want[ty] = true
	}
	check := func(body string) {
		var p webhook.Payload
		if json.Unmarshal([]byte(body), &p) == nil {
			delete(want, p.Type)
		}
	}
	h.mu.Lock()
	for _, b := range h.bodies {
		check(b)
	}
	h.mu.Unlock()
	deadline := time.After(20 * time.Second)
	for len(want) > 0 {
		select {
		case b := <-h.got:
			check(b)
		case <-deadline:
			t.Fatalf("no webhook of types %v within 20 s", want)
		}
	}
}

// TestWebhooksEndToEnd: a server with one endpoint for every event type
// delivers the lifecycle events of a sign-up, logins (good and bad), a
// token login, a refresh and a logout, each signed (the receiver verifies
// with webhook.Verify) and none holding a secret: no password (the right
// one or the wrong one), no token, no session cookie, no CSRF token, no
// IP, no user agent. SEC-53: the audit events' no-secret rule holds for
// what leaves the deployment.
func TestWebhooksEndToEnd(t *testing.T) {
	h := newHookReceiver(t, nil)
	a, err := newApp(t, webhookConfig(t, h, "*"), fastHooks)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Start(ctx)
	c := metricsClient{t, a.Handler()}
	const user, pw, wrong = "hook-user", "canary-hook-pass-4d1e-long enough", "canary-wrong-pass-77aa-long"
	if rec := c.do("POST", "/api/v1/signup", `{"username":"`+user+`","password":"`+pw+`"}`); rec.Code != 201 {
		t.Fatalf("signup: %d %s", rec.Code, rec.Body)
	}
	rec := c.do("POST", "/api/v1/login", `{"username":"`+user+`","password":"`+pw+`"}`)
	if rec.Code != 200 {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	var cookieValue, cookies string
	for _, ck := range rec.Result().Cookies() {
		if strings.HasSuffix(ck.Name, "sesame") {
			cookieValue, cookies = ck.Value, ck.Name+"="+ck.Value
		}
	}
	if rec := c.do("POST", "/api/v1/login", `{"username":"`+user+`","password":"`+wrong+`"}`); rec.Code != 401 {
		t.Fatalf("wrong password: %d", rec.Code)
	}
	if rec := c.do("POST", "/api/v1/login", `{"username":"`+wrong+`","password":"`+wrong+`"}`); rec.Code != 401 {
		t.Fatalf("password typed as the name: %d", rec.Code)
	}
	rec = c.do("POST", "/api/v1/login", `{"username":"`+user+`","password":"`+pw+`","transport":"header"}`)
	var pair struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &pair) != nil || pair.RefreshToken == "" {
		t.Fatalf("token login: %d %s", rec.Code, rec.Body)
	}
	rec = c.do("POST", "/api/v1/token/refresh", `{"refresh_token":"`+pair.RefreshToken+`"}`)
	var pair2 struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &pair2) != nil {
		t.Fatalf("refresh: %d %s", rec.Code, rec.Body)
	}
	rec = c.do("GET", "/api/v1/csrf", "", "Cookie", cookies)
	var csrf struct {
		Token string `json:"csrf_token"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &csrf) != nil {
		t.Fatalf("csrf: %d %s", rec.Code, rec.Body)
	}
	for _, ck := range rec.Result().Cookies() {
		cookies += "; " + ck.Name + "=" + ck.Value
	}
	if rec := c.do("POST", "/api/v1/logout", "", "Cookie", cookies, "X-CSRF-Token", csrf.Token); rec.Code >= 300 {
		t.Fatalf("logout: %d %s", rec.Code, rec.Body)
	}

	h.waitTypes(t, "user.signup", "login.success", "login.failure", "session.created", "refresh.rotated", "logout")
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.bad) > 0 {
		t.Fatalf("requests that did not verify: %v", h.bad)
	}
	all := strings.Join(h.bodies, "\n")
	for _, leak := range []string{pw, wrong, "canary-wrong", pair.AccessToken, pair.RefreshToken, pair2.AccessToken, pair2.RefreshToken,
		cookieValue, csrf.Token, "203.0.113.77", "canary-agent"} {
		if leak != "" && strings.Contains(all, leak) {
			t.Errorf("a webhook payload holds a secret or personal datum %q", leak)
		}
	}
	var sawUser bool
	for _, b := range h.bodies {
		var p webhook.Payload
		if err := json.Unmarshal([]byte(b), &p); err != nil || p.Type == "" || p.Timestamp.IsZero() {
			t.Errorf("payload not of the recommended shape: %s", b)
		}
		sawUser = sawUser || p.Data.Username == user
	}
	if !sawUser {
		t.Error("no payload names the user")
	}
}

// TestWebhooksHangingReceiverDoesNotSlowLogin: the receiver hangs in its
// first request; a login made meanwhile returns (200) while the receiver
// is still blocked: the login waits for one local insert, never for a
// receiver. No timing threshold: the order of events is the assertion.
func TestWebhooksHangingReceiverDoesNotSlowLogin(t *testing.T) {
	blocked := make(chan struct{}, 1)
	release := make(chan struct{})
	var released atomic.Bool
	var first atomic.Bool
	h := newHookReceiver(t, func(r *http.Request) {
		if first.CompareAndSwap(false, true) {
			blocked <- struct{}{}
			<-release
		}
	})
	a, err := newApp(t, webhookConfig(t, h, "*"), fastHooks)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Start(ctx)
	defer func() {
		if !released.Load() {
			close(release)
		}
	}()
	c := metricsClient{t, a.Handler()}
	const user, pw = "hang-user", "canary-hang-pass-4d1e-long enough"
	if rec := c.do("POST", "/api/v1/signup", `{"username":"`+user+`","password":"`+pw+`"}`); rec.Code != 201 {
		t.Fatalf("signup: %d %s", rec.Code, rec.Body)
	}
	<-blocked // the receiver hangs in the sign-up's webhook
	for range 3 {
		if rec := c.do("POST", "/api/v1/login", `{"username":"`+user+`","password":"`+pw+`"}`); rec.Code != 200 {
			t.Fatalf("login while the receiver hangs: %d %s", rec.Code, rec.Body)
		}
	}
	select {
	case <-h.got:
		// Other workers may deliver the logins' webhooks meanwhile: fine.
	default:
	}
	if released.Load() {
		t.Fatal("the receiver was released before the logins returned")
	}
	released.Store(true)
	close(release)
	h.waitTypes(t, "user.signup", "login.success")
}

// TestWebhooksCommandQueuesWithoutSecrets: a command (no server) builds
// the sink without reading secret files and queues webhooks; it runs no
// dispatcher.
func TestWebhooksCommandQueuesWithoutSecrets(t *testing.T) {
	h := newHookReceiver(t, nil)
	cfg := webhookConfig(t, h, "user.blocked")
	cfg.Webhooks[0].Secrets = nil
	cfg.Webhooks[0].SecretFiles = []string{filepath.Join(t.TempDir(), "only-on-the-nodes.secret")}
	srv, err := newApp(t, webhookConfig(t, h, "*")) // creates the database
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB = srv.Config().DB
	srv.Close()
	a, err := New(context.Background(), cfg, quiet(), WithPasswordParams(cheap), ForCommand())
	if err != nil {
		t.Fatalf("a command with a webhook whose secret file it cannot read: %v", err)
	}
	defer a.Close()
	if a.webhooks != nil {
		t.Fatal("a command runs a dispatcher")
	}
	a.opts.events.Emit(context.Background(), sesame.Event{Type: sesame.EventUserBlocked, UserID: "u1", Time: time.Now()})
	ws, _ := a.WebhookStore()
	ms, err := ws.ListWebhooks(context.Background(), false, "", 10)
	if err != nil || len(ms) != 1 || ms[0].Type != "user.blocked" {
		t.Fatalf("queued by the command: %d, %v", len(ms), err)
	}
}
