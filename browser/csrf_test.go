package browser

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/sesame-auth/sesame"
)

// crossSiteForm is one forged form on the attacker's page.
type crossSiteForm struct {
	name       string
	method     string // GET or POST
	path       string // on Sesame
	enctype    string // default application/x-www-form-urlencoded
	fields     map[string]string
	wantStatus int
}

var attackPage = template.Must(template.New("attack").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Win a prize</title></head>
<body><h1>Loading your prize…</h1>
<form id="f" method="{{.Method}}" action="{{.Action}}"{{if .Enctype}} enctype="{{.Enctype}}"{{end}}>
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}</form>
<script>document.getElementById("f").submit();</script>
</body></html>`))

// fetchPage sends unsafe cross-site requests as subresources with the
// user's cookies asked for, then says so in its title.
var fetchPage = template.Must(template.New("fetch").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Loading</title></head>
<body><script>
const targets = [{{range .}}{{.}}, {{end}}];
Promise.allSettled(targets.map(u => fetch(u, {method: "POST", mode: "no-cors", credentials: "include",
	headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "confirm=1"})))
	.then(() => { document.title = "done"; });
</script></body></html>`))

// TestCrossSiteFormsChangeNothing signs a user in, then has the browser
// visit pages on another site (http://127.0.0.1, while Sesame is
// http://localhost: different sites) that auto-submit forms to Sesame's
// logout and revoke endpoints, by POST with no token, with the attacker's
// own token, by GET and with a _method override, plus a login CSRF and
// no-cors fetches (attacks 13-17, 20, 21; SEC-35, SEC-36). Nothing may
// change: the user stays signed in as themselves, their other session
// lives, and every forged unsafe request is logged as csrf.rejected.
func TestCrossSiteFormsChangeNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, u := range []struct{ name, pw string }{{"alice", alicePW}, {"mallory", bobPW}} {
		if _, err := e.accounts.Signup(ctx, u.name, u.pw, false); err != nil {
			t.Fatal(err)
		}
	}
	victim := e.newTab("alice")
	victim.login("alice", alicePW)
	otherDevice := e.apiLogin("alice", alicePW)
	mallory := e.apiLogin("mallory", bobPW)
	malloryToken := e.csrfToken(mallory)
	victimCookie := victim.cookie(sessionCookie).Value

	forms := []crossSiteForm{
		// Attack 14: no token; attack 20: the Origin is another site's.
		{name: "post-logout-no-token", method: "POST", path: "/logout", wantStatus: 403},
		{name: "post-revoke-others-no-token", method: "POST", path: "/account/sessions/revoke-others", wantStatus: 403},
		// Attack 15: a valid token, but bound to the attacker's session.
		{name: "post-logout-attackers-token", method: "POST", path: "/logout",
			fields: map[string]string{"csrf_token": malloryToken}, wantStatus: 403},
		{name: "post-revoke-others-attackers-token", method: "POST", path: "/account/sessions/revoke-others",
			fields: map[string]string{"csrf_token": malloryToken}, wantStatus: 403},
		// Attack 13: the same action by GET, which SameSite=Lax lets the
		// cookie ride on; there is no such route.
		{name: "get-logout", method: "GET", path: "/logout", wantStatus: 405},
		{name: "get-revoke-others", method: "GET", path: "/account/sessions/revoke-others", wantStatus: 405},
		// Attack 17: a _method override on GET; there is none.
		{name: "get-logout-method-override", method: "GET", path: "/logout",
			fields: map[string]string{"_method": "POST"}, wantStatus: 405},
		{name: "get-revoke-others-method-override", method: "GET", path: "/account/sessions/revoke-others",
			fields: map[string]string{"_method": "POST"}, wantStatus: 405},
		// Attack 21: login CSRF, signing the victim in as the attacker.
		{name: "post-login-as-attacker", method: "POST", path: "/login",
			fields: map[string]string{"username": "mallory", "password": bobPW}, wantStatus: 403},
		// A JSON endpoint reached with a simple content type: 415 before
		// the CSRF check (SEC-40).
		{name: "post-api-logout-text-plain", method: "POST", path: "/api/v1/logout", enctype: "text/plain",
			fields: map[string]string{`{"a":"`: `"}`}, wantStatus: 415},
	}

	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/fetch" {
			fetchPage.Execute(w, []string{e.base + "/logout", e.base + "/account/sessions/revoke-others"})
			return
		}
		for _, f := range forms {
			if r.URL.Path == "/"+f.name {
				attackPage.Execute(w, map[string]any{"Method": f.method, "Action": template.URL(e.base + f.path),
					"Enctype": f.enctype, "Fields": f.fields})
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(attacker.Close)
	if !strings.HasPrefix(attacker.URL, "http://127.0.0.1:") {
		t.Fatalf("attacker server at %s, want http://127.0.0.1 (a different site from localhost)", attacker.URL)
	}

	posts := 0
	for _, f := range forms {
		resp := victim.landsOnSesame(attacker.URL + "/" + f.name)
		victim.screenshot("attack-" + f.name)
		if resp.Status != int64(f.wantStatus) {
			t.Errorf("%s %s from another site (%s): got %d, want %d", f.method, f.path, f.name, resp.Status, f.wantStatus)
		}
		if f.method == "POST" && f.wantStatus == 403 {
			posts++ // a 415 is refused before the CSRF check (SEC-40): no csrf.rejected event
		}
	}

	// Subresource requests: no navigation, the page reports when done.
	victim.navigate(attacker.URL + "/fetch")
	if _, err := chromedp.Run(victim.ctx, chromedp.Poll[bool](`document.title === "done"`)); err != nil {
		t.Fatalf("fetch attack page did not finish: %v", err)
	}
	posts += 2

	// Nothing changed.
	victim.page("account-after-attacks", victim.open("/account"), "Your account", "/account")
	if got := victim.text("#account-username"); got != "alice" {
		t.Errorf("after the attacks the browser is signed in as %q, want alice (login CSRF)", got)
	}
	if c := victim.cookie(sessionCookie); c == nil || c.Value != victimCookie {
		t.Errorf("the victim's session cookie changed during the attacks")
	}
	if n := eval[int](victim, `document.querySelectorAll("#sessions tbody tr").length`); n != 2 {
		t.Errorf("after the attacks the account page lists %d sessions, want 2", n)
	}
	if st := e.me(victimCookie); st != 200 {
		t.Errorf("victim's browser session after the attacks: GET /api/v1/me = %d, want 200", st)
	}
	if st := e.me(otherDevice); st != 200 {
		t.Errorf("victim's other session after the attacks: GET /api/v1/me = %d, want 200", st)
	}
	if got := len(e.events(sesame.EventLogout)); got != 0 {
		t.Errorf("%d logout events after the attacks, want 0", got)
	}

	rejected := e.events(sesame.EventCSRFRejected)
	if len(rejected) != posts {
		t.Errorf("%d csrf.rejected events, want %d (one per forged unsafe request refused by the CSRF check)", len(rejected), posts)
	}
	for _, ev := range rejected {
		if ev["ip"] == nil || ev["reason"] == nil {
			t.Errorf("csrf.rejected event without ip or reason: %v", ev)
		}
		t.Logf("csrf.rejected: reason=%v", ev["reason"])
	}
}

// landsOnSesame opens the attacker's page and waits until the form it
// submits has brought the tab to a fully loaded page from Sesame, whose
// main response it returns.
func (tb *tab) landsOnSesame(url string) *network.Response {
	tb.e.t.Helper()
	resp, err := chromedp.Run(tb.ctx, func(ctx context.Context, t *chromedp.Target) (*network.Response, error) {
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		responses := cdp.Events(lctx, t, network.ResponseReceived)
		lifecycle := cdp.Events(lctx, t, page.LifecycleEvent)
		if _, err := chromedp.Navigate(url)(ctx, t); err != nil {
			return nil, err
		}
		var resp *network.Response
		var loader cdp.LoaderID
		for ev, err := range responses {
			if err != nil {
				return nil, err
			}
			if ev.Type == network.ResourceTypeDocument && strings.HasPrefix(ev.Response.URL, tb.e.base+"/") {
				resp, loader = ev.Response, ev.LoaderID
				break
			}
		}
		for ev, err := range lifecycle {
			if err != nil {
				return nil, err
			}
			if ev.LoaderID == loader && ev.Name == "load" {
				return resp, nil
			}
		}
		return nil, fmt.Errorf("no load event")
	})
	if err != nil {
		tb.fatalf("%s: the forged form did not land on Sesame: %v", url, err)
	}
	return resp
}
