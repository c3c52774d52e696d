package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/session"
)

const hRedirect = "https://rp.example.test/cb"

// The whole browser side: sign in, consent once, a code the token
// endpoint redeems; the second authorization skips the consent (SSO).
func TestAuthorizeCodeFlowWithConsent(t *testing.T) {
	h := newHarness(t, nil)
	secret := h.client(&oauth.Client{ID: "rp", Name: "The RP"})
	alice := h.user("alice")
	b := h.browser()

	q, verifier := hAuthQuery("rp", hRedirect)
	// Not signed in: the login page, to come back here.
	r := b.authorize(q)
	if r.StatusCode != http.StatusFound {
		t.Fatalf("anonymous authorize: %d %s", r.StatusCode, r.body)
	}
	loc := r.location(t)
	if loc.Path != "/login" || loc.Query().Has("prompt") {
		t.Fatalf("anonymous authorize went to %s", loc)
	}
	next := loc.Query().Get("next")
	if !strings.HasPrefix(next, oauth.PathAuthorize+"?") {
		t.Fatalf("next = %q, want the authorization request", next)
	}

	b.login(alice)
	r = b.do("GET", next, nil)
	v := r.consent(t)
	if v.ClientName != "The RP" || v.Username != "alice" || strings.Join(v.Scopes, " ") != "openid profile" || v.Request == "" {
		t.Fatalf("consent view %+v", v)
	}
	r = b.do("POST", oauth.PathConsent, url.Values{"request": {v.Request}, "decision": {"allow"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent POST: %d, want 303", r.StatusCode)
	}
	code := h.codeFrom(r, hRedirect, "st-123")
	if n := len(h.hEvents(sesame.EventOAuthConsent)); n != 1 {
		t.Errorf("%d consent events, want 1", n)
	}

	tr := b.redeem("rp", secret, code, hRedirect, verifier)
	if tr.StatusCode != http.StatusOK {
		t.Fatalf("token endpoint: %d %s", tr.StatusCode, tr.body)
	}
	var tok struct {
		IDToken string `json:"id_token"`
	}
	json.Unmarshal(tr.body, &tok)
	if tok.IDToken == "" {
		t.Fatalf("no id_token: %s", tr.body)
	}

	// Single sign-on: the next request of the same client gets a code at
	// once (302 to a GET), consent remembered.
	q2, _ := hAuthQuery("rp", hRedirect)
	r = b.authorize(q2)
	if r.StatusCode != http.StatusFound {
		t.Fatalf("second authorize: %d, want 302", r.StatusCode)
	}
	h.codeFrom(r, hRedirect, "st-123")

	// A scope not yet granted asks again.
	q2.Set("scope", "openid groups")
	if r = b.authorize(q2); r.page() != "consent" {
		t.Fatalf("new scope: got %d %q, want the consent page", r.StatusCode, r.page())
	}
}

// A first-party client is never shown the consent page.
func TestAuthorizeFirstPartySkipsConsent(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "fp", FirstParty: true})
	b := h.browser()
	b.login(h.user("alice"))
	q, _ := hAuthQuery("fp", hRedirect)
	h.codeFrom(b.authorize(q), hRedirect, "st-123")
	// prompt=consent forces it, even for a first-party client.
	q.Set("prompt", "consent")
	if r := b.authorize(q); r.page() != "consent" {
		t.Fatalf("prompt=consent: got %d %q", r.StatusCode, r.page())
	}
}

// The code record carries what the token endpoint needs.
func TestAuthorizeCodeRecord(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "fp", FirstParty: true})
	alice := h.user("alice")
	b := h.browser()
	b.login(alice)
	q, verifier := hAuthQuery("fp", hRedirect)
	q.Add("resource", "https://api.example.test")
	code := h.codeFrom(b.authorize(q), hRedirect, "st-123")
	rec, err := h.store.RedeemCode(context.Background(), oauth.CodeHash(code), h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	_ = verifier
	switch {
	case rec.ClientID != "fp", rec.UserID != alice.ID, rec.SessionID != h.lastSession(alice),
		rec.RedirectURI != hRedirect, rec.Scope != "openid profile", rec.Nonce != "n-456",
		rec.CodeChallenge != q.Get("code_challenge"), len(rec.Resources) != 1 || rec.Resources[0] != "https://api.example.test",
		rec.ACR != "1", len(rec.AMR) != 1 || rec.AMR[0] != "pwd",
		!rec.AuthTime.Equal(hT0), !rec.ExpiresAt.Equal(hT0.Add(time.Minute)):
		t.Fatalf("code record %+v", rec)
	}
}

// SEC-58: a redirect_uri that is not exactly a registered one is an error
// page, never a redirect: prefix, suffix, another port, case, a fragment,
// an extra query, another scheme, userinfo, a path trick, encodings.
func TestSEC58_RedirectURIManipulationIsErrorPage(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "rp", RedirectURIs: []string{"https://rp.example.test/cb", "https://rp.example.test:8443/app/cb?x=1"}})
	b := h.browser()
	b.login(h.user("alice"))
	bad := []string{
		"https://rp.example.test/cb/evil",
		"https://rp.example.test/c",
		"https://rp.example.test/cbx",
		"https://rp.example.test/cb/",
		"https://rp.example.test.evil.test/cb",
		"https://evil.test/https://rp.example.test/cb",
		"https://rp.example.test:443/cb",
		"https://rp.example.test:8443/cb",
		"https://RP.example.test/cb",
		"https://rp.example.test/CB",
		"HTTPS://rp.example.test/cb",
		"http://rp.example.test/cb",
		"https://rp.example.test/cb#frag",
		"https://rp.example.test/cb?",
		"https://rp.example.test/cb?next=https://evil.test",
		"https://rp.example.test:8443/app/cb",
		"https://rp.example.test:8443/app/cb?x=1&y=2",
		"https://rp.example.test:8443/app/cb?x=2",
		"https://evil@rp.example.test/cb",
		"https://rp.example.test@evil.test/cb",
		"https://rp.example.test/%63b",
		"https://rp.example.test/./cb",
		"https://rp.example.test/x/../cb",
		" https://rp.example.test/cb",
		"https://rp.example.test/cb ",
		"//rp.example.test/cb",
		"",
	}
	for _, uri := range bad {
		q, _ := hAuthQuery("rp", uri)
		for _, method := range []string{"GET", "POST"} {
			var r *hResp
			if method == "GET" {
				r = b.authorize(q)
			} else {
				r = b.do("POST", oauth.PathAuthorize, q)
			}
			if r.StatusCode != http.StatusBadRequest || r.page() != "error" || r.Header.Get("Location") != "" {
				t.Errorf("%s redirect_uri %q: got %d %q Location %q, want the 400 error page", method, uri, r.StatusCode, r.page(), r.Header.Get("Location"))
			}
		}
	}
	// Repeated: which one would be used? Neither.
	q, _ := hAuthQuery("rp", hRedirect)
	q.Add("redirect_uri", "https://evil.test/cb")
	if r := b.authorize(q); r.StatusCode != http.StatusBadRequest || r.page() != "error" {
		t.Errorf("two redirect_uri: got %d %q", r.StatusCode, r.page())
	}
	// The registered one with its query works, and keeps its query.
	q, _ = hAuthQuery("rp", "https://rp.example.test:8443/app/cb?x=1")
	q.Set("prompt", "none")
	r := b.authorize(q)
	loc := r.location(t)
	if loc.Query().Get("x") != "1" || loc.Query().Get("error") != "consent_required" {
		t.Fatalf("registered redirect with a query: %s", loc)
	}
}

// SEC-58: an unknown or missing client is an error page, never a redirect
// to the redirect_uri given.
func TestSEC58_UnknownClientIsErrorPage(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "rp"})
	b := h.browser()
	for _, q := range []url.Values{
		{"client_id": {"nobody"}, "redirect_uri": {hRedirect}, "response_type": {"code"}},
		{"redirect_uri": {hRedirect}, "response_type": {"code"}},
		{"client_id": {"rp", "rp"}, "redirect_uri": {hRedirect}, "response_type": {"code"}},
		{"client_id": {""}, "redirect_uri": {"https://evil.test/"}},
	} {
		r := b.authorize(q)
		if r.StatusCode != http.StatusBadRequest || r.page() != "error" || r.Header.Get("Location") != "" {
			t.Errorf("%v: got %d %q %q", q, r.StatusCode, r.page(), r.Header.Get("Location"))
		}
	}
}

// Errors after the client and redirect URI are checked go back to the
// client with state and iss; nothing is a 500.
func TestAuthorizeRequestErrorsGoToClient(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "rp", Resources: []string{"https://api.example.test"}})
	h.client(&oauth.Client{ID: "spa", Public: true})
	h.client(&oauth.Client{ID: "svc", GrantTypes: []string{oauth.GrantClientCredentials}})
	b := h.browser()
	b.login(h.user("alice"))
	cases := []struct {
		name   string
		client string
		mod    func(url.Values)
		want   string
	}{
		{"no response_type", "rp", func(q url.Values) { q.Del("response_type") }, "invalid_request"},
		{"token response_type", "rp", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"hybrid response_type", "rp", func(q url.Values) { q.Set("response_type", "code id_token") }, "unsupported_response_type"},
		{"fragment response_mode", "rp", func(q url.Values) { q.Set("response_mode", "fragment") }, "invalid_request"},
		{"form_post response_mode", "rp", func(q url.Values) { q.Set("response_mode", "form_post") }, "invalid_request"},
		{"unknown scope", "rp", func(q url.Values) { q.Set("scope", "openid admin") }, "invalid_scope"},
		{"bad scope character", "rp", func(q url.Values) { q.Set("scope", "openid \"x\"") }, "invalid_scope"},
		{"plain PKCE (SEC-58)", "rp", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"PKCE without method (plain by default, SEC-58)", "rp", func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request"},
		{"method without challenge", "rp", func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},
		{"short challenge", "rp", func(q url.Values) { q.Set("code_challenge", "abc") }, "invalid_request"},
		{"public client without PKCE (SEC-58)", "spa", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, "invalid_request"},
		{"public client with plain PKCE (SEC-58)", "spa", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"unregistered resource", "rp", func(q url.Values) { q.Set("resource", "https://evil.test") }, "invalid_target"},
		{"resource of the deployment, not the client", "rp", func(q url.Values) { q.Set("resource", "https://billing.example.test") }, "invalid_target"},
		{"resource with a fragment", "rp", func(q url.Values) { q.Set("resource", "https://api.example.test#x") }, "invalid_target"},
		{"repeated state", "rp", func(q url.Values) { q.Add("state", "again") }, "invalid_request"},
		{"repeated scope", "rp", func(q url.Values) { q.Add("scope", "openid") }, "invalid_request"},
		{"request object", "rp", func(q url.Values) { q.Set("request", "eyJ") }, "request_not_supported"},
		{"request_uri", "rp", func(q url.Values) { q.Set("request_uri", "https://evil.test/r") }, "request_uri_not_supported"},
		{"unknown prompt", "rp", func(q url.Values) { q.Set("prompt", "sudo") }, "invalid_request"},
		{"prompt none with login", "rp", func(q url.Values) { q.Set("prompt", "none login") }, "invalid_request"},
		{"bad max_age", "rp", func(q url.Values) { q.Set("max_age", "-1") }, "invalid_request"},
		{"max_age not a number", "rp", func(q url.Values) { q.Set("max_age", "1e3") }, "invalid_request"},
		{"state too long", "rp", func(q url.Values) { q.Set("state", strings.Repeat("s", 5000)) }, "invalid_request"},
		{"client without the code grant", "svc", func(q url.Values) {}, "unauthorized_client"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			q, _ := hAuthQuery(c.client, hRedirect)
			c.mod(q)
			r := b.authorize(q)
			if got := h.errorFrom(r, hRedirect); got != c.want {
				t.Fatalf("error %q, want %q", got, c.want)
			}
			if st := r.location(t).Query().Get("state"); st != q.Get("state") && len(q["state"]) == 1 {
				t.Errorf("state %q not echoed", st)
			}
		})
	}
}

// Malformed requests are a 400 page, never a 500.
func TestAuthorizeMalformedIs400(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "rp"})
	b := h.browser()
	b.login(h.user("alice"))
	for _, raw := range []string{"client_id=%zz&redirect_uri=x", "client_id=rp;redirect_uri=x", "%", "client_id=" + strings.Repeat("a", 3000) + "&redirect_uri=x"} {
		r := b.do("GET", oauth.PathAuthorize+"?"+raw, nil)
		if r.StatusCode != http.StatusBadRequest || r.page() != "error" {
			t.Errorf("%.40q: got %d %q", raw, r.StatusCode, r.page())
		}
	}
	r := b.do("POST", oauth.PathAuthorize, nil, "Content-Type", "application/x-www-form-urlencoded")
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("empty POST: got %d", r.StatusCode)
	}
	// A broken form body.
	req, _ := http.NewRequest("POST", h.issuer+oauth.PathAuthorize, strings.NewReader("client_id=%zz"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed form: got %d", res.StatusCode)
	}
}

// prompt=none never shows UI: no session is login_required, consent not
// yet given is consent_required, a forced re-login is login_required.
func TestPromptNoneNeverShowsUI(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "rp"})
	b := h.browser()
	q, _ := hAuthQuery("rp", hRedirect)
	q.Set("prompt", "none")
	if got := h.errorFrom(b.authorize(q), hRedirect); got != "login_required" {
		t.Fatalf("anonymous prompt=none: %q", got)
	}
	b.login(h.user("alice"))
	if got := h.errorFrom(b.authorize(q), hRedirect); got != "consent_required" {
		t.Fatalf("no consent, prompt=none: %q", got)
	}
	if err := h.store.SaveConsent(h.ctx, &oauth.Consent{UserID: mustUser(t, h, "alice").ID, ClientID: "rp", Scopes: []string{"openid", "profile"}}); err != nil {
		t.Fatal(err)
	}
	h.codeFrom(b.authorize(q), hRedirect, "st-123")
	h.clock.Add(10 * time.Minute)
	q.Set("max_age", "60")
	if got := h.errorFrom(b.authorize(q), hRedirect); got != "login_required" {
		t.Fatalf("stale login, prompt=none: %q", got)
	}
}

func mustUser(t *testing.T, h *harness, name string) *sesame.User {
	u, err := h.accounts.Lookup(h.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// A caller authenticated by a Bearer token is no browser session: it gets
// no code, only the login page (and login_required with prompt=none).
func TestAuthorizeBearerCallerGetsNoCode(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "fp", FirstParty: true})
	alice := h.user("alice")
	sess, err := h.sessions.StartTokenSession(h.ctx, alice.ID, session.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := h.tokens.Issue(h.ctx, sess, "", "")
	if err != nil {
		t.Fatal(err)
	}
	b := h.browser()
	q, _ := hAuthQuery("fp", hRedirect)
	r := b.do("GET", oauth.PathAuthorize+"?"+q.Encode(), nil, "Authorization", "Bearer "+pair.AccessToken)
	if r.StatusCode != http.StatusFound || r.location(t).Path != "/login" {
		t.Fatalf("Bearer caller: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	q.Set("prompt", "none")
	r = b.do("GET", oauth.PathAuthorize+"?"+q.Encode(), nil, "Authorization", "Bearer "+pair.AccessToken)
	if got := h.errorFrom(r, hRedirect); got != "login_required" {
		t.Fatalf("Bearer caller, prompt=none: %q", got)
	}
}

// prompt=login sends a signed-in user to the login page, and once the user
// has signed in again the request goes on instead of looping; the marker
// cannot be forged or moved back.
func TestPromptLoginForcesOneFreshLogin(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "fp", FirstParty: true})
	alice := h.user("alice")
	b := h.browser()
	b.login(alice)
	h.clock.Add(20 * time.Minute) // within the idle timeout: still signed in
	q, _ := hAuthQuery("fp", hRedirect)
	q.Set("prompt", "login consent")
	q.Set("login_hint", "alice")
	r := b.authorize(q)
	loc := r.location(t)
	if loc.Path != "/login" || loc.Query().Get("prompt") != "login" || loc.Query().Get("login_hint") != "alice" {
		t.Fatalf("prompt=login went to %s", loc)
	}
	next, _ := url.Parse(loc.Query().Get("next"))
	nq := next.Query()
	if nq.Get("prompt") != "consent" || nq.Get("login_after") == "" {
		t.Fatalf("next %s: want prompt=consent and a login_after marker", next)
	}
	// Coming back without signing in again: the login page again.
	if r = b.do("GET", next.String(), nil); r.location(t).Path != "/login" {
		t.Fatalf("not signed in again: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	// A marker moved back in time (or forged) counts for nothing.
	forged := url.Values{}
	for k, v := range nq {
		forged[k] = v
	}
	ts, mac, _ := strings.Cut(nq.Get("login_after"), ".")
	forged.Set("login_after", "1."+mac)
	if r = b.do("GET", oauth.PathAuthorize+"?"+forged.Encode(), nil); r.location(t).Path != "/login" {
		t.Fatalf("forged marker skipped the login: %s", r.Header.Get("Location"))
	}
	_ = ts
	// Another client's marker does not count either.
	h.client(&oauth.Client{ID: "other", FirstParty: true})
	other := url.Values{}
	for k, v := range nq {
		other[k] = v
	}
	other.Set("client_id", "other")
	other.Set("prompt", "login")
	b.login(alice) // after the marker's time: fp's marker would count
	if r = b.do("GET", oauth.PathAuthorize+"?"+other.Encode(), nil); r.location(t).Path != "/login" {
		t.Fatalf("another client's marker counted: %s", r.Header.Get("Location"))
	}
	// Signed in again: the request goes on (consent page, asked for).
	if r = b.do("GET", next.String(), nil); r.page() != "consent" {
		t.Fatalf("after the fresh login: %d %q %s", r.StatusCode, r.page(), r.Header.Get("Location"))
	}
	// The marker expires: a request that still asks for a login (the
	// same marker, prompt=login put back) is sent to sign in again.
	h.clock.Add(11 * time.Minute)
	again := url.Values{}
	for k, v := range nq {
		again[k] = v
	}
	again.Set("prompt", "login")
	if r = b.do("GET", oauth.PathAuthorize+"?"+again.Encode(), nil); r.location(t).Path != "/login" {
		t.Fatalf("an expired marker counted")
	}
}

// max_age: a session whose password proof is older is sent to sign in
// again; younger, not. max_age=0 does not loop.
func TestMaxAge(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "fp", FirstParty: true})
	alice := h.user("alice")
	b := h.browser()
	b.login(alice)
	h.clock.Add(2 * time.Minute)
	q, _ := hAuthQuery("fp", hRedirect)
	q.Set("max_age", "300")
	h.codeFrom(b.authorize(q), hRedirect, "st-123")
	q.Set("max_age", "0")
	r := b.authorize(q)
	next := r.location(t).Query().Get("next")
	if r.location(t).Path != "/login" || next == "" {
		t.Fatalf("max_age=0: %s", r.Header.Get("Location"))
	}
	h.clock.Add(time.Second)
	b.login(alice)
	h.clock.Add(2 * time.Second)
	h.codeFrom(b.do("GET", next, nil), hRedirect, "st-123")
}

// The consent POST: deny is access_denied; a forged, expired or
// other-session request is refused; an anonymous POST is refused.
func TestConsentRequestSeal(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "rp"})
	alice := h.user("alice")
	b := h.browser()
	b.login(alice)
	q, _ := hAuthQuery("rp", hRedirect)
	v := b.authorize(q).consent(t)

	r := b.do("POST", oauth.PathConsent, url.Values{"request": {v.Request}, "decision": {"deny"}})
	if got := h.errorFrom(r, hRedirect); got != "access_denied" {
		t.Fatalf("deny: %q", got)
	}
	if _, err := h.store.Consent(h.ctx, alice.ID, "rp"); err == nil {
		t.Fatal("deny saved a consent")
	}

	refused := func(what string, form url.Values, br *hBrowser) {
		t.Helper()
		r := br.do("POST", oauth.PathConsent, form)
		if r.StatusCode < 400 || r.StatusCode >= 500 || r.Header.Get("Location") != "" {
			t.Errorf("%s: got %d %s Location %q", what, r.StatusCode, r.body, r.Header.Get("Location"))
		}
	}
	payload, mac, _ := strings.Cut(v.Request, ".")
	refused("a flipped MAC", url.Values{"request": {payload + "." + strings.Repeat("A", len(mac))}, "decision": {"allow"}}, b)
	refused("no MAC", url.Values{"request": {payload}, "decision": {"allow"}}, b)
	refused("empty", url.Values{"decision": {"allow"}}, b)
	refused("no decision", url.Values{"request": {v.Request}}, b)
	refused("garbage", url.Values{"request": {"%%%.%%%"}, "decision": {"allow"}}, b)

	// Another session of the same user: the request is bound to the
	// session that saw the page.
	b2 := h.browser()
	b2.login(alice)
	refused("another session", url.Values{"request": {v.Request}, "decision": {"allow"}}, b2)
	refused("anonymous", url.Values{"request": {v.Request}, "decision": {"allow"}}, h.browser())

	h.clock.Add(11 * time.Minute)
	refused("expired", url.Values{"request": {v.Request}, "decision": {"allow"}}, b)
	if _, err := h.store.Consent(h.ctx, alice.ID, "rp"); err == nil {
		t.Fatal("a refused consent POST saved a consent")
	}
}

// RFC 6749 §4.1.2: GET answers 302, POST 303; a POST authorization
// request works like a GET.
func TestAuthorizePost(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "fp", FirstParty: true})
	b := h.browser()
	b.login(h.user("alice"))
	q, _ := hAuthQuery("fp", hRedirect)
	r := b.do("POST", oauth.PathAuthorize, q)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST authorize: %d", r.StatusCode)
	}
	h.codeFrom(r, hRedirect, "st-123")
	// A POST without a session cookie (a cross-site POST carries no
	// SameSite=Lax cookie) is asked again as a GET, which carries it; a
	// GET without a session goes to the login page.
	anon := h.browser()
	r = anon.do("POST", oauth.PathAuthorize, q)
	loc := r.location(t)
	if r.StatusCode != http.StatusSeeOther || loc.Path != oauth.PathAuthorize || loc.Query().Get("code_challenge") != q.Get("code_challenge") {
		t.Fatalf("anonymous POST: %d %s", r.StatusCode, loc)
	}
	r = anon.do("GET", loc.String(), nil)
	if next := r.location(t).Query().Get("next"); r.StatusCode != http.StatusFound || !strings.Contains(next, "client_id=fp") {
		t.Fatalf("anonymous GET: %d next %q", r.StatusCode, next)
	}
	// A POST of a bad client is still the error page, not a redirect.
	q.Set("redirect_uri", "https://evil.test/cb")
	if r = anon.do("POST", oauth.PathAuthorize, q); r.StatusCode != http.StatusBadRequest || r.page() != "error" {
		t.Fatalf("bad POST: %d %q", r.StatusCode, r.page())
	}
}

// A blocked user's session gets no code.
func TestAuthorizeBlockedUser(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "fp", FirstParty: true})
	b := h.browser()
	b.login(h.user("alice"))
	// Block without ending the sessions (as a store that missed it would).
	u := mustUser(t, h, "alice")
	u.Blocked = true
	if err := h.store.UpdateUser(h.ctx, u); err != nil {
		t.Fatal(err)
	}
	q, _ := hAuthQuery("fp", hRedirect)
	q.Set("prompt", "none")
	if got := h.errorFrom(b.authorize(q), hRedirect); got != "login_required" {
		t.Fatalf("blocked user: %q", got)
	}
}

// A consent posted after the user was blocked gets no code.
func TestConsentAfterBlockGetsNoCode(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "rp"})
	b := h.browser()
	b.login(h.user("alice"))
	q, _ := hAuthQuery("rp", hRedirect)
	v := b.authorize(q).consent(t)
	u := mustUser(t, h, "alice")
	u.Blocked = true
	if err := h.store.UpdateUser(h.ctx, u); err != nil {
		t.Fatal(err)
	}
	r := b.do("POST", oauth.PathConsent, url.Values{"request": {v.Request}, "decision": {"allow"}})
	if got := h.errorFrom(r, hRedirect); got != "login_required" {
		t.Fatalf("blocked user's consent: %q", got)
	}
	if _, err := h.store.Consent(h.ctx, u.ID, "rp"); err == nil {
		t.Fatal("a blocked user's consent was saved")
	}
}
