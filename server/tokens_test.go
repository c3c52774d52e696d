package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sesame-auth/sesame"
)

type pairBody struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func (c *client) loginHeader(name, pw string) pairBody {
	c.e.t.Helper()
	var p pairBody
	c.want(c.do("POST", "/api/v1/login", map[string]any{"username": name, "password": pw, "transport": "header"}), 200).json(c.e.t, &p)
	if p.AccessToken == "" || p.RefreshToken == "" || p.TokenType != "Bearer" || p.ExpiresIn != 900 {
		c.e.t.Fatalf("header login: got %+v", p)
	}
	return p
}

// meBearer returns the status of GET /api/v1/me with a Bearer token and no
// cookies.
func (e *env) meBearer(tok string) int {
	e.t.Helper()
	api := e.client()
	return api.do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+tok).StatusCode
}

func (c *client) refresh(rt string) *resp {
	c.e.t.Helper()
	return c.do("POST", "/api/v1/token/refresh", map[string]string{"refresh_token": rt})
}

// The flow of issue 4 over HTTP: header login, me with Bearer, refresh,
// replay within the grace, replay after it (SEC-29), with the events.
func TestTokenHeaderFlow(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.origin = "" // a mobile app: no Origin, no cookies
	c.signup("alice", pw)
	p1 := c.loginHeader("alice", pw)
	if n := len(c.c.Jar.Cookies(mustURL(e.srv.URL))); n != 0 {
		t.Fatalf("header login set %d cookies, want none", n)
	}
	var me struct {
		User    sesame.PublicUser
		Session sesame.SessionInfo
	}
	c.want(c.do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+p1.AccessToken), 200).json(t, &me)
	if me.User.Username != "alice" || me.Session.ID == "" {
		t.Fatalf("me with Bearer: got %+v", me)
	}
	r := c.want(c.refresh(p1.RefreshToken), 200)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("SEC-50: token response Cache-Control %q, want no-store", cc)
	}
	var p2 pairBody
	r.json(t, &p2)
	e.clock.Add(5 * time.Second)
	var p2b pairBody
	c.want(c.refresh(p1.RefreshToken), 200).json(t, &p2b)
	if p2b.RefreshToken != p2.RefreshToken {
		t.Fatal("replay within the grace: want the same successor refresh token")
	}
	if e.meBearer(p2.AccessToken) != 200 {
		t.Fatal("the successor access token does not work")
	}
	e.clock.Add(6 * time.Second) // 11 s after first use: past the 10 s grace
	r = c.refresh(p1.RefreshToken)
	if r.StatusCode != 401 || !strings.Contains(string(r.body), "invalid_grant") {
		t.Fatalf("reuse after the grace: got %d %s, want 401 invalid_grant", r.StatusCode, r.body)
	}
	if c.refresh(p2.RefreshToken).StatusCode != 401 {
		t.Fatal("SEC-29: the successor survived reuse")
	}
	if e.meBearer(p2.AccessToken) != 401 {
		t.Fatal("SEC-29: the session's access token survived reuse")
	}
	if len(e.events(sesame.EventRefreshReuse)) != 1 {
		t.Fatal("SEC-53: want one refresh.reuse event")
	}
}

// SEC-30 over HTTP: 100 concurrent redemptions, one successor.
func TestTokenConcurrentRefreshHTTP(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.origin = ""
	c.signup("alice", pw)
	p := c.loginHeader("alice", pw)
	const n = 100
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var q pairBody
			r := c.refresh(p.RefreshToken)
			if r.StatusCode != 200 {
				t.Errorf("concurrent refresh %d: %d %s", i, r.StatusCode, r.body)
				return
			}
			json.Unmarshal(r.body, &q)
			got[i] = q.RefreshToken
		}()
	}
	wg.Wait()
	for i := range got {
		if got[i] != got[0] {
			t.Fatal("SEC-30: concurrent refreshes got different successors")
		}
	}
	if n := len(e.events(sesame.EventRefreshRotated)); n != 1 {
		t.Fatalf("SEC-30: rotations: got %d, want 1", n)
	}
}

// Logout of a browser session kills that session's bearer token on the
// very next request; an admin block kills every token of the user.
func TestTokenDiesWithSession(t *testing.T) {
	e := newEnv(t)
	browser := e.client()
	browser.signup("alice", pw)
	browser.login("alice", pw, false)
	var p pairBody
	browser.want(browser.do("POST", "/api/v1/token/session", map[string]string{}), 200).json(t, &p)
	if e.meBearer(p.AccessToken) != 200 {
		t.Fatal("the session's token does not work")
	}
	browser.want(browser.do("POST", "/api/v1/logout", nil), 204)
	if e.meBearer(p.AccessToken) != 401 {
		t.Fatal("logout left the session's bearer token alive")
	}

	root := e.admin()
	phone, laptop := e.client(), e.client()
	phone.origin, laptop.origin = "", ""
	a, b := phone.loginHeader("alice", pw), laptop.loginHeader("alice", pw)
	root.want(root.do("POST", "/api/v1/admin/users/alice/block", nil), 200)
	if e.meBearer(a.AccessToken) != 401 || e.meBearer(b.AccessToken) != 401 {
		t.Fatal("a block left access tokens alive")
	}
	if phone.refresh(a.RefreshToken).StatusCode != 401 {
		t.Fatal("a block left a refresh token alive")
	}
	r := phone.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw, "transport": "header"})
	if r.StatusCode != 403 {
		t.Fatalf("token login while blocked: got %d, want 403", r.StatusCode)
	}
}

// SEC-20, attack 8: a refresh token, an ID-style token or garbage as an
// access token → 401 with WWW-Authenticate, never a fallback.
func TestTokenConfusionHTTP(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", pw)
	p := c.loginHeader("alice", pw)
	c.login("alice", pw, false) // also holds a valid session cookie
	idToken := signWith(t, e, map[string]any{"iss": "https://sesame.test", "sub": "x", "aud": "https://sesame.test",
		"exp": e.clock.Now().Add(time.Hour).Unix(), "iat": e.clock.Now().Unix(), "jti": "j", "sid": "s", "client_id": "c"}, "JWT")
	for name, hdr := range map[string]string{
		"refresh token as bearer": "Bearer " + p.RefreshToken,
		"id token":                "Bearer " + idToken,
		"basic scheme":            "Basic YWxpY2U6cGFzc3dvcmQ=",
		"two spaces":              "Bearer  " + p.AccessToken,
		"no token":                "Bearer",
		"alg none":                "Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0.",
	} {
		t.Run(name, func(t *testing.T) {
			r := c.do("GET", "/api/v1/me", nil, "Authorization", hdr)
			if r.StatusCode != 401 || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Fatalf("got %d (WWW-Authenticate %q), want 401 invalid_token even with a valid session cookie", r.StatusCode, r.Header.Get("WWW-Authenticate"))
			}
			if strings.Contains(string(r.body), strings.TrimPrefix(hdr, "Bearer ")) && len(hdr) > 10 {
				t.Fatal("the error echoes the token")
			}
		})
	}
	if len(e.events(sesame.EventBadToken)) == 0 {
		t.Fatal("SEC-55: refused tokens must be logged")
	}
	if e.meBearer(p.AccessToken) != 200 {
		t.Fatal("the real access token stopped working")
	}
}

func signWith(t *testing.T, e *env, claims any, typ string) string {
	t.Helper()
	return mustSign(t, e, claims, typ)
}

// SEC-34, SEC-02: cookie transport puts the tokens in HttpOnly cookies only;
// the refresh cookie is __Secure-, path-scoped and SameSite=Strict.
func TestTokenCookieTransport(t *testing.T) {
	e := newEnv(t)
	spa := e.client()
	spa.signup("alice", pw)
	r := spa.want(spa.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw, "transport": "cookie"}), 200)
	var at, rt string
	for _, h := range r.Header.Values("Set-Cookie") {
		switch {
		case strings.HasPrefix(h, "__Host-sesame-at="):
			at = h
		case strings.HasPrefix(h, "__Secure-sesame-rt="):
			rt = h
		}
	}
	for _, want := range []string{"; Path=/;", "; HttpOnly", "; Secure", "; SameSite=Lax"} {
		if !strings.Contains(at+";", want) {
			t.Errorf("access cookie lacks %q", want)
		}
	}
	for _, want := range []string{"; Path=/api/v1/token", "; HttpOnly", "; Secure", "; SameSite=Strict"} {
		if !strings.Contains(rt, want) {
			t.Errorf("SEC-34: refresh cookie lacks %q", want)
		}
	}
	for _, bad := range []string{"access_token", "refresh_token"} {
		if strings.Contains(string(r.body), bad) {
			t.Fatalf("SEC-02: cookie-transport body contains %s", bad)
		}
	}
	spa.want(spa.do("GET", "/api/v1/me", nil), 200)
	spa.want(spa.do("POST", "/api/v1/token/refresh", map[string]string{}), 200)
	spa.want(spa.do("GET", "/api/v1/me", nil), 200)
	// Without the CSRF defence (a cross-site page, or no origin at all):
	// refused, and the session survives.
	spa.want(spa.do("POST", "/api/v1/sessions/revoke-others", nil, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"), 403)
	spa.want(spa.do("POST", "/api/v1/token/refresh", map[string]string{}, "Origin", ""), 403)
	spa.want(spa.do("POST", "/api/v1/logout", nil), 204)
	if spa.do("GET", "/api/v1/me", nil).StatusCode != 401 {
		t.Fatal("cookie-transport logout left the session alive")
	}
}

// RFC 7009: revoke returns 200 for unknown tokens and revokes known ones.
func TestTokenRevokeEndpoint(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.origin = ""
	c.signup("alice", pw)
	p := c.loginHeader("alice", pw)
	c.want(c.do("POST", "/api/v1/token/revoke", map[string]string{"token": "not-a-token"}), 200)
	c.want(c.do("POST", "/api/v1/token/revoke", map[string]string{"token": p.RefreshToken, "token_type_hint": "weird"}), 200)
	if e.meBearer(p.AccessToken) != 401 || c.refresh(p.RefreshToken).StatusCode != 401 {
		t.Fatal("revoking the refresh token left the pair alive")
	}
	q := c.loginHeader("alice", pw)
	c.want(c.do("POST", "/api/v1/token/revoke", map[string]string{"token": q.AccessToken, "token_type_hint": "access_token"}), 200)
	if e.meBearer(q.AccessToken) != 401 {
		t.Fatal("revoking the access token left it alive")
	}
}

// Interop: a Sesame access token verifies with golang-jwt using the key
// fetched from the JWKS endpoint (decoded here by hand, not by jose).
func TestTokenInteropGolangJWT(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", pw)
	p := c.loginHeader("alice", pw)
	r := c.want(c.do("GET", "/.well-known/jwks.json", nil), 200)
	if ct := r.Header.Get("Content-Type"); ct != "application/jwk-set+json" {
		t.Fatalf("JWKS Content-Type %q", ct)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	r.json(t, &set)
	// The default signing_algs: an ES256 key (it signs access tokens) and
	// an RS256 key (ID tokens).
	if len(set.Keys) != 2 || set.Keys[0]["alg"] == set.Keys[1]["alg"] {
		t.Fatalf("JWKS: got %v, want one ES256 and one RS256 key", set.Keys)
	}
	for _, k := range set.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[private]; ok {
				t.Fatalf("the JWKS publishes private member %q", private)
			}
		}
	}
	set.Keys = slices.DeleteFunc(set.Keys, func(k map[string]string) bool { return k["alg"] != "ES256" })
	if len(set.Keys) != 1 || set.Keys[0]["kid"] == "" {
		t.Fatalf("JWKS: got %v", set.Keys)
	}
	xb, _ := base64.RawURLEncoding.DecodeString(set.Keys[0]["x"])
	yb, _ := base64.RawURLEncoding.DecodeString(set.Keys[0]["y"])
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(xb), Y: new(big.Int).SetBytes(yb)}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(p.AccessToken, claims, func(tk *jwt.Token) (any, error) {
		if tk.Header["kid"] != set.Keys[0]["kid"] || tk.Header["typ"] != "at+jwt" {
			t.Errorf("header: %v", tk.Header)
		}
		return pub, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer("https://sesame.test"),
		jwt.WithAudience("https://sesame.test"), jwt.WithTimeFunc(e.clock.Now))
	if err != nil || !tok.Valid {
		t.Fatalf("golang-jwt: %v", err)
	}
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "sid", "client_id"} {
		if _, ok := claims[k]; !ok {
			t.Errorf("claim %q missing", k)
		}
	}
}

// The revocation feed lists revoked session IDs for other services.
func TestRevocationFeed(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.origin = ""
	c.signup("alice", pw)
	var page struct {
		Revocations []struct {
			Seq int64  `json:"seq"`
			SID string `json:"sid"`
		}
		Next int64
	}
	c.want(c.do("GET", "/api/v1/revocations?since=0", nil), 200).json(t, &page)
	start := page.Next
	p := c.loginHeader("alice", pw)
	var me struct{ Session sesame.SessionInfo }
	c.want(c.do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+p.AccessToken), 200).json(t, &me)
	c.want(c.do("POST", "/api/v1/logout", nil, "Authorization", "Bearer "+p.AccessToken), 204)
	c.want(c.do("GET", "/api/v1/revocations?since="+itoa(start), nil), 200).json(t, &page)
	if len(page.Revocations) != 1 || page.Revocations[0].SID != me.Session.ID || page.Next <= start {
		t.Fatalf("feed after logout: got %+v, want the session %s", page, me.Session.ID)
	}
	for _, bad := range []string{"-1", "x", ""} {
		c.want(c.do("GET", "/api/v1/revocations?since="+bad, nil), 400)
	}
	// Nothing new at the newest position; a position beyond it is 410.
	var same struct {
		Revocations []any
		Next        int64
	}
	c.want(c.do("GET", "/api/v1/revocations?since="+itoa(page.Next), nil), 200).json(t, &same)
	if len(same.Revocations) != 0 || same.Next != page.Next {
		t.Fatalf("at the newest position: got %+v, want nothing new and next %d", same, page.Next)
	}
	c.want(c.do("GET", "/api/v1/revocations?since="+itoa(page.Next+1000), nil), 410)
	// since=0 lists the retained revocations, so a new verifier learns them.
	var all struct {
		Revocations []struct{ SID string }
	}
	c.want(c.do("GET", "/api/v1/revocations?since=0", nil), 200).json(t, &all)
	found := false
	for _, r := range all.Revocations {
		found = found || r.SID == me.Session.ID
	}
	if !found {
		t.Fatal("since=0 does not list the retained revocation")
	}
}

func itoa(n int64) string { return strconvI(n) }

var _ = http.StatusOK

// SEC-05: the SPA token cookies follow the session's persistence, like the
// session cookie: browser-session cookies without "remember me",
// persistent ones (never longer than the tokens) with it; the same on
// refresh. And GET /api/v1/me with a Bearer token shows the real session.
func TestTokenCookiesFollowRememberMe(t *testing.T) {
	e := newEnv(t)
	spa := e.client()
	spa.signup("alice", pw)
	for _, remember := range []bool{false, true} {
		r := spa.want(spa.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw, "transport": "cookie", "remember": remember}), 200)
		refreshed := spa.want(spa.do("POST", "/api/v1/token/refresh", map[string]any{}), 200)
		for what, res := range map[string]*resp{"login": r, "refresh": refreshed} {
			n := 0
			for _, h := range res.Header.Values("Set-Cookie") {
				if !strings.HasPrefix(h, "__Host-sesame-at=") && !strings.HasPrefix(h, "__Secure-sesame-rt=") {
					continue
				}
				n++
				if persistent := strings.Contains(h, "Max-Age="); persistent != remember {
					t.Errorf("remember=%v, %s: %s", remember, what, h)
				}
			}
			if n != 2 {
				t.Errorf("remember=%v, %s: %d token cookies, want 2", remember, what, n)
			}
		}
	}

	api := e.client()
	var p struct {
		AccessToken string `json:"access_token"`
	}
	api.want(api.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw, "transport": "header"}), 200).json(t, &p)
	var me struct {
		Session struct {
			ID        string    `json:"id"`
			CreatedAt time.Time `json:"created_at"`
			ExpiresAt time.Time `json:"expires_at"`
			Device    struct {
				UserAgent string `json:"user_agent"`
			} `json:"device"`
		} `json:"session"`
	}
	api.want(api.do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+p.AccessToken), 200).json(t, &me)
	if me.Session.ID == "" || me.Session.CreatedAt.IsZero() || me.Session.ExpiresAt.IsZero() || me.Session.Device.UserAgent == "" {
		t.Fatalf("me with a Bearer token shows no real session: %+v", me.Session)
	}
}
