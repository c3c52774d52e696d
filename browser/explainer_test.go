package browser

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
)

// The explainer in Chromium against two nodes of one deployment (one
// SQLite database): the page shows the visitor's real cookie (its name
// and attributes, never its value), session and a decoded access token;
// "sign this session out from another node" deletes the session in the
// store as a peer would, the page shows the measured time until this
// node's view saw it, and the browser's next request fails, on this node
// and on the other one.
func TestExplainerRevocationTwoNodes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shared.db")
	e := newEnvWith(t, func(c *config.Config) { c.DB = db })
	other := e.startPeer(db)

	tb := e.newTab("visitor")
	tb.page("explainer-anonymous", tb.open("/how-it-works"), "How your session works", "/how-it-works")
	if !eval[bool](tb, `!!document.querySelector("#no-session") && !document.querySelector("#revoke-demo")`) {
		t.Fatal("signed out: want the sign-in hint and no revoke button")
	}
	tb.signup("visitor", "visitor password 0123")
	cookie := tb.cookie(sessionCookie)
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	if st, _ := other.get("/api/v1/me", cookie.Value); st != 200 {
		t.Fatalf("the other node before: GET /api/v1/me = %d, want 200", st)
	}

	tb.page("explainer", tb.open("/how-it-works"), "How your session works", "/how-it-works")
	body := eval[string](tb, `document.body.innerText`)
	if strings.Contains(body, cookie.Value) || strings.Contains(eval[string](tb, `document.documentElement.outerHTML`), cookie.Value) {
		t.Fatal("the explainer shows the cookie's value")
	}
	if got := tb.text("#cookie-name"); got != sessionCookie {
		t.Errorf("cookie name %q, want %s", got, sessionCookie)
	}
	for _, attr := range []string{"HttpOnly", "Secure", "SameSite", "Path", "Domain"} {
		if !strings.Contains(tb.text("#cookie-attributes"), attr) {
			t.Errorf("cookie attributes lack %s", attr)
		}
	}
	sid := tb.text("#session-id")
	if sid == "" || !strings.Contains(tb.text("#idle-deadline"), "UTC") || !strings.Contains(tb.text("#absolute-deadline"), "UTC") {
		t.Fatalf("session facts missing: id %q", sid)
	}

	tb.page("explainer-token", tb.click("#issue-token"), "How your session works", "/how-it-works/token")
	claims := tb.text("#token-claims")
	if !strings.Contains(claims, `"sid": "`+sid+`"`) || !strings.Contains(claims, `"exp"`) || !strings.Contains(tb.text("#token-header"), `"alg"`) {
		t.Errorf("decoded token: header %q claims %q, want alg, exp and sid %s", tb.text("#token-header"), claims, sid)
	}
	if !strings.Contains(tb.text("#token-exp"), "Expires at") {
		t.Errorf("token expiry %q", tb.text("#token-exp"))
	}

	tb.page("explainer-revoked", tb.click("#revoke-demo"), "How your session works", "/how-it-works/revoke")
	took := tb.text("#revoke-took")
	if took == "" {
		t.Fatalf("no measured time: %s", eval[string](tb, `document.querySelector("main").innerText`))
	}
	t.Logf("this node's view saw the revocation after %s", took)
	if st := tb.apiStatus("/api/v1/me"); st != 401 {
		t.Errorf("the browser's next request: GET /api/v1/me = %d, want 401", st)
	}
	tb.page("explainer-next-request", tb.click("#next-request"), "Sign in", "/login")
	if st, _ := other.get("/api/v1/me", cookie.Value); st != 401 {
		t.Errorf("the other node after: GET /api/v1/me = %d, want 401", st)
	}
}

// peer is a second node of the deployment, for Go-side requests.
type peer struct {
	t      *testing.T
	direct string
}

// startPeer starts a second node on the same database, reached from Go at
// its own address (the public URL stays the first node's).
func (e *env) startPeer(db string) *peer {
	t := e.t
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.DB = db
	cfg.PublicURL = e.base
	cfg.AllowedHosts = []string{srv.Listener.Addr().String()}
	a, err := app.New(ctx, cfg, app.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), app.WithPasswordParams(cheap))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	a.Start(ctx)
	srv.Config.Handler = a.Handler()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return &peer{t: t, direct: "http://" + srv.Listener.Addr().String()}
}

func (p *peer) get(path, cookie string) (int, []byte) {
	p.t.Helper()
	req, _ := http.NewRequest("GET", p.direct+path, nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}
