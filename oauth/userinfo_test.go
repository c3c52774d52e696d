package oauth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/oauth"
)

func TestUserinfoClaimsByScope(t *testing.T) {
	f := newTHFixture(t)
	u, sess := f.user("alice", "staff", "admins")
	cases := []struct {
		scope string
		want  map[string]any
	}{
		{"openid", map[string]any{"sub": u.ID}},
		{"openid profile", map[string]any{"sub": u.ID, "preferred_username": "alice", "name": "alice", "updated_at": float64(u.UpdatedAt.Unix())}},
		{"openid groups", map[string]any{"sub": u.ID, "groups": []any{"admins", "staff"}}},
		{"openid email", map[string]any{"sub": u.ID}}, // no e-mail yet (issue 15)
	}
	for _, tc := range cases {
		t.Run(tc.scope, func(t *testing.T) {
			tr := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: tc.scope}), ""))
			w := f.userinfo(tr.AccessToken)
			if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("status %d, Cache-Control %q; body %s", w.Code, w.Header().Get("Cache-Control"), w.Body)
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(tc.want)
			if string(gb) != string(wb) {
				t.Errorf("got %s, want %s", gb, wb)
			}
		})
	}
}

func TestUserinfoTokenInBody(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	tr := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "openid"}), ""))
	post := func(body string, header string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", oauth.PathUserinfo, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		return w
	}
	if w := post(url.Values{"access_token": {tr.AccessToken}}.Encode(), ""); w.Code != http.StatusOK {
		t.Errorf("token in the body: status %d, body %s", w.Code, w.Body)
	}
	if w := post("", "Bearer "+tr.AccessToken); w.Code != http.StatusOK {
		t.Errorf("POST with the header: status %d, body %s", w.Code, w.Body)
	}
	if w := post(url.Values{"access_token": {tr.AccessToken}}.Encode(), "Bearer "+tr.AccessToken); w.Code != http.StatusBadRequest ||
		!strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_request"`) {
		t.Errorf("token sent twice: status %d %q, want 400 invalid_request", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	// Never from the query string.
	r := httptest.NewRequest("GET", oauth.PathUserinfo+"?access_token="+url.QueryEscape(tr.AccessToken), nil)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != `Bearer realm="sesame"` {
		t.Errorf("token in the query: status %d %q, want 401 without an error code", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}

func TestUserinfoRefusals(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	tr := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "openid", resources: []string{thAPI}}), ""))
	api := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "profile", resources: []string{thAPI}}), ""))
	cc := f.tokens200(f.post(oauth.PathToken, thService, url.Values{"grant_type": {"client_credentials"}}))
	parts := strings.Split(tr.AccessToken, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]

	cases := []struct {
		name, header string
		status       int
		www          string
	}{
		{"no token", "", 401, `Bearer realm="sesame"`},
		{"another scheme", "Basic abc", 401, `Bearer realm="sesame"`},
		{"malformed", "Bearer two words", 400, `Bearer realm="sesame", error="invalid_request"`},
		{"tampered", "Bearer " + tampered, 401, `Bearer realm="sesame", error="invalid_token"`},
		{"token for a resource only (no userinfo aud)", "Bearer " + api.AccessToken, 401, `Bearer realm="sesame", error="invalid_token"`},
		{"client_credentials token", "Bearer " + cc.AccessToken, 401, `Bearer realm="sesame", error="invalid_token"`},
		{"refresh token", "Bearer " + tr.RefreshToken, 401, `Bearer realm="sesame", error="invalid_token"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", oauth.PathUserinfo, nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, r)
			if w.Code != tc.status || w.Header().Get("WWW-Authenticate") != tc.www {
				t.Errorf("status %d %q, want %d %q", w.Code, w.Header().Get("WWW-Authenticate"), tc.status, tc.www)
			}
		})
	}
	t.Run("session ended", func(t *testing.T) {
		if w := f.userinfo(tr.AccessToken); w.Code != http.StatusOK {
			t.Fatalf("before: status %d", w.Code)
		}
		f.sessions.Revoke(f.ctx, sess.ID, "test")
		if w := f.userinfo(tr.AccessToken); w.Code != http.StatusUnauthorized {
			t.Errorf("after the session ended: status %d, want 401", w.Code)
		}
	})
	t.Run("expired", func(t *testing.T) {
		_, sess := f.user("bob")
		tr := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "openid"}), ""))
		f.clock.Add(time.Duration(tr.ExpiresIn) * time.Second)
		if w := f.userinfo(tr.AccessToken); w.Code != http.StatusUnauthorized {
			t.Errorf("expired token: status %d, want 401", w.Code)
		}
	})
}

func TestIntrospection(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	tr := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "openid profile", resources: []string{thAPI}}), ""))
	billing := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "openid", resources: []string{thBilling}}), ""))

	got := f.introspect(thWeb, tr.AccessToken)
	if got["active"] != true || got["client_id"] != thWeb || got["sub"] != sess.UserID || got["sid"] != sess.ID ||
		got["scope"] != "openid profile" || got["iss"] != thIssuer || got["token_type"] != "Bearer" || got["exp"] == nil || got["iat"] == nil {
		t.Errorf("issuing client: %v", got)
	}
	if aud, _ := got["aud"].([]any); len(aud) != 2 || aud[0] != thAPI {
		t.Errorf("aud %v", got["aud"])
	}
	// The resource server registered for thAPI sees the api token, not the
	// billing one.
	if got := f.introspect(thRS, tr.AccessToken); got["active"] != true {
		t.Errorf("resource server on its own resource: %v", got)
	}
	if got := f.introspect(thRS, billing.AccessToken); got["active"] != false || len(got) != 1 {
		t.Errorf("resource server on another resource: %v, want only active false", got)
	}
	// A client neither issued the token nor listing its resource.
	if got := f.introspect(thPost, tr.AccessToken); got["active"] != false {
		t.Errorf("unrelated client: %v", got)
	}
	// A refresh token, to its own client only.
	if got := f.introspect(thWeb, tr.RefreshToken); got["active"] != true || got["client_id"] != thWeb || got["token_type"] != nil {
		t.Errorf("own refresh token: %v", got)
	}
	if got := f.introspect(thRS, tr.RefreshToken); got["active"] != false {
		t.Errorf("another client's refresh token: %v", got)
	}
	for _, tok := range []string{"garbage", "a.b.c", tr.AccessToken + "x"} {
		if got := f.introspect(thWeb, tok); got["active"] != false {
			t.Errorf("%q: %v", tok, got)
		}
	}
	// A client_credentials token, to the client and to the resource server.
	cc := f.tokens200(f.post(oauth.PathToken, thService, url.Values{"grant_type": {"client_credentials"}}))
	if got := f.introspect(thRS, cc.AccessToken); got["active"] != true || got["sub"] != thService || got["sid"] != nil {
		t.Errorf("client token at the resource server: %v", got)
	}
	// A used refresh token is inactive; the successor is active.
	next := f.tokens200(f.refresh(thWeb, tr.RefreshToken, nil))
	if got := f.introspect(thWeb, tr.RefreshToken); got["active"] != false {
		t.Errorf("used refresh token: %v", got)
	}
	if got := f.introspect(thWeb, next.RefreshToken); got["active"] != true {
		t.Errorf("successor refresh token: %v", got)
	}
	// Everything of an ended session is inactive.
	f.sessions.Revoke(f.ctx, sess.ID, "test")
	for _, tok := range []string{next.AccessToken, next.RefreshToken, billing.AccessToken} {
		if got := f.introspect(thWeb, tok); got["active"] != false {
			t.Errorf("token of an ended session: %v", got)
		}
	}
	// Expired.
	if got := f.introspect(thRS, cc.AccessToken); got["active"] != true {
		t.Fatalf("client token before expiry: %v", got)
	}
	f.clock.Add(time.Duration(cc.ExpiresIn) * time.Second)
	if got := f.introspect(thRS, cc.AccessToken); got["active"] != false {
		t.Errorf("expired token: %v", got)
	}
}

func TestIntrospectionRefusals(t *testing.T) {
	f := newTHFixture(t)
	wantError(t, f.post(oauth.PathIntrospect, thSPA, url.Values{"token": {"x"}}), 401, "invalid_client")
	wantError(t, f.post(oauth.PathIntrospect, "", url.Values{"token": {"x"}}), 401, "invalid_client")
	wantError(t, f.post(oauth.PathIntrospect, thWeb, nil), 400, "invalid_request")
}

func TestRevocation(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	web := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "openid"}), ""))
	spa := f.tokens200(f.exchange(thSPA, f.code(sess, codeOpts{client: thSPA, scope: "openid", verifier: thVerifier}), thVerifier))
	revoke := func(client, tok string) {
		t.Helper()
		w := f.post(oauth.PathRevoke, client, url.Values{"token": {tok}})
		if w.Code != http.StatusOK || w.Body.Len() != 0 {
			t.Fatalf("revoke: status %d body %s, want 200 empty", w.Code, w.Body)
		}
	}
	// Another client's refresh token: 200, and nothing happens.
	revoke(thPost, web.RefreshToken)
	revoke(thSPA, web.RefreshToken)
	if got := f.introspect(thWeb, web.RefreshToken); got["active"] != true {
		t.Fatalf("another client revoked web's refresh token: %v", got)
	}
	// Unknown, garbage and access tokens: 200, nothing revoked.
	revoke(thWeb, "garbage")
	revoke(thWeb, web.AccessToken)
	revoke(thWeb, web.IDToken)
	if w := f.userinfo(web.AccessToken); w.Code != http.StatusOK {
		t.Errorf("revoking an access token ended something: userinfo %d", w.Code)
	}
	// The client's own refresh token: its family ends.
	next := f.tokens200(f.refresh(thWeb, web.RefreshToken, nil))
	revoke(thWeb, next.RefreshToken)
	wantError(t, f.refresh(thWeb, next.RefreshToken, nil), 400, "invalid_grant")
	if got := f.introspect(thWeb, next.RefreshToken); got["active"] != false {
		t.Errorf("revoked refresh token still active: %v", got)
	}
	// ... and nothing else: the session (SSO) and the other client's
	// tokens live on.
	if err := f.sessions.CheckLive(f.ctx, sess.ID); err != nil {
		t.Errorf("revoking a client's refresh token ended the SSO session: %v", err)
	}
	f.tokens200(f.refresh(thSPA, spa.RefreshToken, nil))
	// A public client revokes with its client_id.
	spaNext := f.tokens200(f.refresh(thSPA, spa.RefreshToken, nil))
	revoke(thSPA, spaNext.RefreshToken)
	wantError(t, f.refresh(thSPA, spaNext.RefreshToken, nil), 400, "invalid_grant")

	wantError(t, f.post(oauth.PathRevoke, thWeb, nil), 400, "invalid_request")
	wantError(t, f.post(oauth.PathRevoke, "", url.Values{"token": {"x"}}), 401, "invalid_client")
}

func TestBackEndAnswersAreNeverCached(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	tr := f.tokens200(f.exchange(thWeb, f.code(sess, codeOpts{client: thWeb, scope: "openid"}), ""))
	for _, w := range []*httptest.ResponseRecorder{
		f.post(oauth.PathIntrospect, thWeb, url.Values{"token": {tr.AccessToken}}),
		f.post(oauth.PathToken, thWeb, url.Values{"grant_type": {"nope"}}),
		f.post(oauth.PathToken, thWeb, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}}),
	} {
		if cc := w.Header().Get("Cache-Control"); !slices.Contains([]string{"no-store"}, cc) {
			t.Errorf("status %d: Cache-Control %q, want no-store", w.Code, cc)
		}
	}
}

// A single-page app (a public client) reads the token endpoint's and
// userinfo's answers cross-origin, with CORS-simple requests (form POSTs
// without Authorization); introspection, for confidential clients only,
// allows no other origin.
func TestCORSForBrowserClients(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	w := f.exchange(thSPA, f.code(sess, codeOpts{client: thSPA, scope: "openid", verifier: thVerifier}), thVerifier)
	tr := f.tokens200(w)
	r := httptest.NewRequest("POST", oauth.PathUserinfo, strings.NewReader(url.Values{"access_token": {tr.AccessToken}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "https://spa.example")
	uw := httptest.NewRecorder()
	f.h.ServeHTTP(uw, r)
	for name, resp := range map[string]*httptest.ResponseRecorder{
		"token":    w,
		"userinfo": uw,
		"revoke":   f.post(oauth.PathRevoke, thSPA, url.Values{"token": {tr.RefreshToken}}),
		"error":    f.post(oauth.PathToken, thSPA, url.Values{"grant_type": {"nope"}}),
	} {
		if resp.Header().Get("Access-Control-Allow-Origin") != "*" || resp.Header().Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: ACAO %q, ACAC %q; want * without credentials", name, resp.Header().Get("Access-Control-Allow-Origin"), resp.Header().Get("Access-Control-Allow-Credentials"))
		}
	}
	if got := f.post(oauth.PathIntrospect, thWeb, url.Values{"token": {"x"}}).Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("introspection ACAO %q, want none", got)
	}
}
