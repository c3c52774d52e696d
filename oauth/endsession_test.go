package oauth_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/oauth"
)

const hPostLogout = "https://rp.example.test/bye"

// hIDToken signs an ID token as the provider would (typ JWT).
func (h *harness) hIDToken(u *sesame.User, sid, aud string, exp time.Time, typ string) string {
	h.t.Helper()
	c := oauth.IDClaims{Claims: jose.Claims{Issuer: h.issuer, Subject: u.ID, Audience: jose.Audience{aud},
		IssuedAt: jose.NewNumericDate(h.clock.Now()), ExpiresAt: jose.NewNumericDate(exp)}, SessionID: sid}
	tok, err := jose.SignJWT(h.keys.rs, c, jose.SignOptions{Type: typ})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

func (h *harness) live(sid string) bool {
	_, err := h.sessions.LiveSession(h.ctx, sid)
	return err == nil
}

func logoutHarness(t *testing.T) (*harness, *sesame.User) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "rp", PostLogoutRedirectURIs: []string{hPostLogout}})
	h.client(&oauth.Client{ID: "other", PostLogoutRedirectURIs: []string{"https://other.example.test/bye"}})
	return h, h.user("alice")
}

// A hint naming the browser's session ends it at once (expired hint
// too) and redirects to the registered URI with state.
func TestEndSessionWithHintOfCurrentSession(t *testing.T) {
	h, alice := logoutHarness(t)
	b := h.browser()
	b.login(alice)
	sid := h.lastSession(alice)
	hint := h.hIDToken(alice, sid, "rp", h.clock.Now().Add(-time.Hour), "JWT") // expired: still a hint
	r := b.do("GET", oauth.PathEndSession+"?"+url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {hPostLogout}, "state": {"s1"}}.Encode(), nil)
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != hPostLogout+"?state=s1" {
		t.Fatalf("logout: %d Location %q %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if h.live(sid) {
		t.Fatal("the session is still live")
	}
}

// Without a hint of the current session, the user confirms first; the
// confirmation form ends the session.
func TestEndSessionConfirmation(t *testing.T) {
	h, alice := logoutHarness(t)
	b := h.browser()
	b.login(alice)
	sid := h.lastSession(alice)
	r := b.do("GET", oauth.PathEndSession+"?"+url.Values{"client_id": {"rp"}, "post_logout_redirect_uri": {hPostLogout}}.Encode(), nil)
	var v oauth.LogoutView
	if r.page() != "logout" || json.Unmarshal(r.body, &v) != nil || !v.Confirm || v.Request == "" || v.Username != "alice" {
		t.Fatalf("want the confirmation, got %d %q %s", r.StatusCode, r.page(), r.body)
	}
	if !h.live(sid) {
		t.Fatal("the session ended before the confirmation")
	}
	// Another session cannot use this confirmation.
	h.clock.Add(time.Second) // lastSession: the newest
	b2 := h.browser()
	b2.login(alice)
	if r := b2.do("POST", oauth.PathLogoutConfirm, url.Values{"request": {v.Request}, "decision": {"logout"}}); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("another session's confirmation: %d", r.StatusCode)
	}
	// A forged one neither.
	if r := b.do("POST", oauth.PathLogoutConfirm, url.Values{"request": {v.Request + "x"}, "decision": {"logout"}}); r.StatusCode != http.StatusBadRequest || !h.live(sid) {
		t.Fatalf("forged confirmation: %d", r.StatusCode)
	}
	// Stay.
	r = b.do("POST", oauth.PathLogoutConfirm, url.Values{"request": {v.Request}, "decision": {"stay"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != hPostLogout || !h.live(sid) {
		t.Fatalf("stay: %d %q live=%v", r.StatusCode, r.Header.Get("Location"), h.live(sid))
	}
	r = b.do("POST", oauth.PathLogoutConfirm, url.Values{"request": {v.Request}, "decision": {"logout"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != hPostLogout || h.live(sid) {
		t.Fatalf("logout: %d %q live=%v", r.StatusCode, r.Header.Get("Location"), h.live(sid))
	}
	if !h.live(h.lastSession(alice)) {
		t.Fatal("the other browser's session ended too")
	}
}

// A hint for another session of the user asks for confirmation; it never
// ends a session the browser does not hold.
func TestEndSessionHintOfOtherSession(t *testing.T) {
	h, alice := logoutHarness(t)
	b := h.browser()
	b.login(alice)
	mine := h.lastSession(alice)
	h.clock.Add(time.Second) // lastSession: the newest
	b2 := h.browser()
	b2.login(alice)
	theirs := h.lastSession(alice)
	hint := h.hIDToken(alice, theirs, "rp", h.clock.Now().Add(time.Hour), "JWT")
	r := b.do("GET", oauth.PathEndSession+"?id_token_hint="+hint, nil)
	if r.page() != "logout" || !strings.Contains(string(r.body), `"Confirm":true`) {
		t.Fatalf("got %d %q %s", r.StatusCode, r.page(), r.body)
	}
	if !h.live(mine) || !h.live(theirs) {
		t.Fatal("a session ended without confirmation")
	}
	// Without a session cookie, the hint alone ends nothing.
	r = h.browser().do("GET", oauth.PathEndSession+"?id_token_hint="+hint, nil)
	if r.page() != "logout" || !h.live(theirs) {
		t.Fatalf("cookie-less logout: %d %q live=%v", r.StatusCode, r.page(), h.live(theirs))
	}
}

// No open redirect through post_logout_redirect_uri: unregistered,
// another client's, or without a client, it is an error page and the
// session lives.
func TestSEC58_PostLogoutRedirectIsNoOpenRedirect(t *testing.T) {
	h, alice := logoutHarness(t)
	b := h.browser()
	b.login(alice)
	sid := h.lastSession(alice)
	hint := h.hIDToken(alice, sid, "rp", h.clock.Now().Add(time.Hour), "JWT")
	cases := []url.Values{
		{"post_logout_redirect_uri": {hPostLogout}}, // no client
		{"client_id": {"rp"}, "post_logout_redirect_uri": {"https://evil.test/"}},
		{"client_id": {"rp"}, "post_logout_redirect_uri": {hPostLogout + "/x"}},
		{"client_id": {"rp"}, "post_logout_redirect_uri": {hPostLogout + "?x=1"}},
		{"client_id": {"rp"}, "post_logout_redirect_uri": {"https://RP.example.test/bye"}},
		{"client_id": {"rp"}, "post_logout_redirect_uri": {"https://other.example.test/bye"}},
		{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://other.example.test/bye"}},
		{"id_token_hint": {hint}, "client_id": {"other"}, "post_logout_redirect_uri": {"https://other.example.test/bye"}},
		{"client_id": {"nobody"}, "post_logout_redirect_uri": {hPostLogout}},
		{"client_id": {"rp"}, "post_logout_redirect_uri": {hPostLogout, hPostLogout}},
	}
	for _, q := range cases {
		for _, method := range []string{"GET", "POST"} {
			var r *hResp
			if method == "GET" {
				r = b.do("GET", oauth.PathEndSession+"?"+q.Encode(), nil)
			} else {
				r = b.do("POST", oauth.PathEndSession, q)
			}
			if r.StatusCode != http.StatusBadRequest || r.page() != "error" || r.Header.Get("Location") != "" {
				t.Errorf("%s %v: got %d %q Location %q", method, q, r.StatusCode, r.page(), r.Header.Get("Location"))
			}
		}
	}
	if !h.live(sid) {
		t.Fatal("a refused logout request ended the session")
	}
}

// An id_token_hint must be a Sesame ID token: an access token (typ
// at+jwt), another issuer's, a forged signature or garbage is refused.
func TestEndSessionBadHints(t *testing.T) {
	h, alice := logoutHarness(t)
	b := h.browser()
	b.login(alice)
	sid := h.lastSession(alice)
	good := h.hIDToken(alice, sid, "rp", h.clock.Now().Add(time.Hour), "JWT")
	at := h.hIDToken(alice, sid, "rp", h.clock.Now().Add(time.Hour), "at+jwt")
	stranger, _ := jose.GenerateKey(jose.ES256, "h-es") // same kid, other key
	forged, _ := jose.SignJWT(stranger, oauth.IDClaims{Claims: jose.Claims{Issuer: h.issuer, Subject: alice.ID, Audience: jose.Audience{"rp"},
		ExpiresAt: jose.NewNumericDate(h.clock.Now().Add(time.Hour))}, SessionID: sid}, jose.SignOptions{})
	otherIss, _ := jose.SignJWT(h.keys.rs, oauth.IDClaims{Claims: jose.Claims{Issuer: "https://evil.test", Subject: alice.ID, Audience: jose.Audience{"rp"},
		ExpiresAt: jose.NewNumericDate(h.clock.Now().Add(time.Hour))}, SessionID: sid}, jose.SignOptions{})
	for name, hint := range map[string]string{"access token": at, "forged": forged, "other issuer": otherIss, "garbage": "a.b.c",
		"alg none": "eyJhbGciOiJub25lIn0." + strings.Split(good, ".")[1] + "."} {
		r := b.do("GET", oauth.PathEndSession+"?id_token_hint="+url.QueryEscape(hint), nil)
		if r.StatusCode != http.StatusBadRequest || r.page() != "error" {
			t.Errorf("%s: got %d %q", name, r.StatusCode, r.page())
		}
	}
	// A hint for client rp with client_id=other: refused.
	r := b.do("GET", oauth.PathEndSession+"?"+url.Values{"id_token_hint": {good}, "client_id": {"other"}}.Encode(), nil)
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("hint of another client: %d", r.StatusCode)
	}
	if !h.live(sid) {
		t.Fatal("a refused hint ended the session")
	}
}

// Without a session there is nothing to end: a registered URI is
// followed, else the signed-out page.
func TestEndSessionWithoutSession(t *testing.T) {
	h, _ := logoutHarness(t)
	b := h.browser()
	r := b.do("GET", oauth.PathEndSession+"?"+url.Values{"client_id": {"rp"}, "post_logout_redirect_uri": {hPostLogout}}.Encode(), nil)
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != hPostLogout {
		t.Fatalf("got %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = b.do("GET", oauth.PathEndSession, nil)
	if r.page() != "logout" || !strings.Contains(string(r.body), `"Done":true`) {
		t.Fatalf("got %d %q %s", r.StatusCode, r.page(), r.body)
	}
}

// A POST logout request without the session cookie (cross-site: no
// SameSite=Lax cookie) is asked again as a GET, which carries it, and then
// ends the session.
func TestEndSessionPostWithoutCookieBecomesGet(t *testing.T) {
	h, alice := logoutHarness(t)
	b := h.browser()
	b.login(alice)
	sid := h.lastSession(alice)
	hint := h.hIDToken(alice, sid, "rp", h.clock.Now().Add(time.Hour), "JWT")
	q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {hPostLogout}, "state": {"s"}}
	r := h.browser().do("POST", oauth.PathEndSession, q) // no cookie
	loc := r.location(t)
	if r.StatusCode != http.StatusSeeOther || loc.Path != oauth.PathEndSession || loc.Query().Get("hint_mac") == "" || loc.Query().Has("id_token_hint") || !h.live(sid) {
		t.Fatalf("cookie-less POST: %d %s", r.StatusCode, loc)
	}
	r = b.do("GET", loc.String(), nil) // the browser follows, with its cookie
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != hPostLogout+"?state=s" || h.live(sid) {
		t.Fatalf("the GET: %d %q live=%v", r.StatusCode, r.Header.Get("Location"), h.live(sid))
	}
}

// The discovery document: both paths, the fields an off-the-shelf client
// needs.
func TestDiscovery(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	var docs [2]map[string]any
	for i, p := range []string{oauth.PathOIDCDiscovery, oauth.PathASMetadata} {
		r := b.do("GET", p, nil)
		if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s: %d %s", p, r.StatusCode, r.Header.Get("Content-Type"))
		}
		if err := json.Unmarshal(r.body, &docs[i]); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := json.Marshal(docs[0])
	c, _ := json.Marshal(docs[1])
	if string(a) != string(c) {
		t.Error("the two documents differ")
	}
	d := docs[0]
	want := map[string]any{
		"issuer": h.issuer, "authorization_endpoint": h.issuer + "/oauth2/authorize", "token_endpoint": h.issuer + "/oauth2/token",
		"userinfo_endpoint": h.issuer + "/oauth2/userinfo", "jwks_uri": h.issuer + "/.well-known/jwks.json",
		"revocation_endpoint": h.issuer + "/oauth2/revoke", "introspection_endpoint": h.issuer + "/oauth2/introspect",
		"end_session_endpoint": h.issuer + "/oauth2/logout", "backchannel_logout_supported": true,
		"backchannel_logout_session_supported": true, "authorization_response_iss_parameter_supported": true,
		"request_parameter_supported": false,
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %v, want %v", k, d[k], v)
		}
	}
	list := func(k string) []string {
		var out []string
		for _, x := range d[k].([]any) {
			out = append(out, x.(string))
		}
		return out
	}
	for k, v := range map[string][]string{
		"response_types_supported": {"code"}, "response_modes_supported": {"query"}, "subject_types_supported": {"public"},
		"code_challenge_methods_supported": {"S256"}, "id_token_signing_alg_values_supported": {"ES256", "RS256"},
	} {
		if got := list(k); !slices.Equal(got, v) {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	for k, must := range map[string][]string{
		"grant_types_supported":                 {"authorization_code", "refresh_token", "client_credentials"},
		"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post", "private_key_jwt", "none"},
		"scopes_supported":                      {"openid", "profile", "email", "groups", "offline_access"},
		"prompt_values_supported":               {"none", "login", "consent"},
		"claims_supported":                      {"sub", "iss", "auth_time", "nonce", "sid", "at_hash", "acr", "amr"},
	} {
		for _, m := range must {
			if !slices.Contains(list(k), m) {
				t.Errorf("%s lacks %s", k, m)
			}
		}
	}
	if slices.Contains(list("token_endpoint_auth_signing_alg_values_supported"), "HS256") {
		t.Error("private_key_jwt lists a symmetric algorithm")
	}
}
