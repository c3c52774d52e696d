package token_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/token"
)

// serveMW sends req through a middleware accepting the access cookie and
// returns the status and the Principal the handler saw.
func serveMW(f *fixture, req *http.Request) (int, *sesame.Principal) {
	m := token.NewMiddleware(f.svc)
	m.AcceptCookie(token.AccessCookie)
	var got *sesame.Principal
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = sesame.PrincipalFrom(r.Context()) }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		f.t.Fatalf("401 without the RFC 6750 challenge: %q", w.Header().Get("WWW-Authenticate"))
	}
	return w.Code, got
}

func bearerReq(tok string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func TestMiddlewarePrincipal(t *testing.T) {
	f := newFixture(t, nil)
	sess, p := f.login("alice")
	code, got := serveMW(f, bearerReq(p.AccessToken))
	if code != 200 || got == nil || got.UserID != "alice" || got.SessionID != sess.ID || got.Method != sesame.MethodBearer ||
		got.Claims == nil || !got.AuthTime.Equal(t0) {
		t.Fatalf("got %d %+v", code, got)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: token.AccessCookie, Value: p.AccessToken})
	if code, got := serveMW(f, r); code != 200 || got == nil || got.Method != sesame.MethodTokenCookie {
		t.Fatalf("cookie: got %d %+v", code, got)
	}
	// No token: through, without a Principal (RequireAuth decides).
	if code, got := serveMW(f, httptest.NewRequest("GET", "/", nil)); code != 200 || got != nil {
		t.Fatalf("no token: got %d %+v", code, got)
	}
	// The header-only form ignores the cookie.
	if got, err := f.svc.Check(r); got != nil || err != token.ErrNoToken {
		t.Fatalf("Service.Check with only a cookie: got %+v %v, want ErrNoToken", got, err)
	}
}

// SEC-16 to SEC-22, SEC-20: every forged, stale or misdirected token and
// every malformed Authorization header is 401 and never reaches the
// handler; a bad header never falls back to the cookie.
func TestSEC20_MiddlewareAttacks(t *testing.T) {
	f := newFixture(t, nil)
	sess, p := f.login("alice")
	_, revoked := f.login("alice")
	claims := func(mod func(*token.AccessClaims)) *token.AccessClaims {
		c := &token.AccessClaims{Claims: jose.Claims{Issuer: "https://auth.test", Subject: "alice",
			Audience: jose.Audience{"https://auth.test"}, IssuedAt: jose.NewNumericDate(t0),
			ExpiresAt: jose.NewNumericDate(t0.Add(time.Hour)), ID: "x"}, SessionID: sess.ID, ClientID: "app"}
		mod(c)
		return c
	}
	parts := strings.Split(p.AccessToken, ".")
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory"}`)) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + "."
	otherKey, _ := jose.GenerateKey(jose.ES256, "")
	foreign, _ := jose.SignJWT(otherKey, claims(func(*token.AccessClaims) {}), jose.SignOptions{Type: "at+jwt"})
	if _, err := f.sessions.Revoke(f.ctx, mustSID(t, f, revoked.AccessToken), "test"); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"forged payload (SEC-16)":       forged,
		"alg none (SEC-17)":             none,
		"another key's signature":       foreign,
		"expired (SEC-19)":              f.sign(claims(func(c *token.AccessClaims) { c.ExpiresAt = jose.NewNumericDate(t0) }), "at+jwt"),
		"wrong issuer (SEC-21)":         f.sign(claims(func(c *token.AccessClaims) { c.Issuer = "https://evil.test" }), "at+jwt"),
		"wrong audience (SEC-21)":       f.sign(claims(func(c *token.AccessClaims) { c.Audience = jose.Audience{"https://other.test"} }), "at+jwt"),
		"session revoked (SEC-27)":      revoked.AccessToken,
		"refresh token as access token": p.RefreshToken,
	}
	for name, tok := range cases {
		if code, got := serveMW(f, bearerReq(tok)); code != 401 || got != nil {
			t.Errorf("%s: got %d %+v, want 401", name, code, got)
		}
	}
	headers := map[string][]string{
		"two Authorization headers": {"Bearer " + p.AccessToken, "Bearer " + p.AccessToken},
		"Basic scheme":              {"Basic YWxpY2U6cHc="},
		"Bearer without token":      {"Bearer"},
		"two spaces":                {"Bearer  " + p.AccessToken},
	}
	for name, vals := range headers {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Authorization"] = vals
		// A valid cookie beside a bad header must not rescue it (SEC-20).
		r.AddCookie(&http.Cookie{Name: token.AccessCookie, Value: p.AccessToken})
		if code, got := serveMW(f, r); code != 401 || got != nil {
			t.Errorf("%s: got %d %+v, want 401 without falling back to the cookie", name, code, got)
		}
	}
	// Header and cookie both valid: the header wins.
	_, q := f.login("bob")
	r := bearerReq(q.AccessToken)
	r.AddCookie(&http.Cookie{Name: token.AccessCookie, Value: p.AccessToken})
	if code, got := serveMW(f, r); code != 200 || got == nil || got.UserID != "bob" || got.Method != sesame.MethodBearer {
		t.Fatalf("header and cookie: got %d %+v, want bob by Bearer", code, got)
	}
}

func mustSID(t *testing.T, f *fixture, tok string) string {
	t.Helper()
	c, err := f.svc.Authenticate(f.ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	return c.SessionID
}

func TestRequireAuthAnyCredential(t *testing.T) {
	f := newFixture(t, nil)
	_, p := f.login("alice")
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	m := token.NewMiddleware(f.svc)
	any := m.Handler(sesame.RequireAuth(ok))
	sessionOnly := m.Handler(sesame.RequireAuth(ok, sesame.WithMethods(sesame.MethodSession)))
	for _, c := range []struct {
		h    http.Handler
		r    *http.Request
		want int
	}{
		{any, bearerReq(p.AccessToken), 200},
		{any, httptest.NewRequest("GET", "/", nil), 401},
		{sessionOnly, bearerReq(p.AccessToken), 401},
	} {
		w := httptest.NewRecorder()
		c.h.ServeHTTP(w, c.r)
		if w.Code != c.want {
			t.Errorf("got %d, want %d", w.Code, c.want)
		}
	}
}

// A dead access cookie (forged, expired, session revoked) is no credential:
// the request goes on unauthenticated, so public routes, refresh and
// sign-in still work, and OnDeadCookie hears of it. The same token in the
// Authorization header is 401 (SEC-20), and a dead cookie never yields a
// Principal (SEC-19, SEC-27).
func TestDeadAccessCookieIsNoCredential(t *testing.T) {
	f := newFixture(t, nil)
	_, p := f.login("alice")
	_, revoked := f.login("alice")
	if _, err := f.sessions.Revoke(f.ctx, mustSID(t, f, revoked.AccessToken), "test"); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(p.AccessToken, ".")
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory"}`)) + "." + parts[2]
	for name, tok := range map[string]string{"session revoked": revoked.AccessToken, "forged": forged, "garbage": "x"} {
		m := token.NewMiddleware(f.svc)
		m.AcceptCookie(token.AccessCookie)
		var heard error
		m.OnDeadCookie(func(r *http.Request, err error) { heard = err })
		reached, got := false, (*sesame.Principal)(nil)
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached, got = true, sesame.PrincipalFrom(r.Context())
		}))
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: token.AccessCookie, Value: tok})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if !reached || got != nil || w.Code != 200 {
			t.Errorf("%s cookie: reached %v, principal %+v, status %d; want through without a Principal", name, reached, got, w.Code)
		}
		if heard == nil || sesame.ErrorCode(heard) != sesame.EUnauthenticated {
			t.Errorf("%s cookie: OnDeadCookie got %v", name, heard)
		}
		// Behind RequireAuth it is a plain 401.
		w = httptest.NewRecorder()
		m.Handler(sesame.RequireAuth(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			t.Errorf("%s cookie reached a RequireAuth handler", name)
		}))).ServeHTTP(w, r)
		if w.Code != 401 {
			t.Errorf("%s cookie behind RequireAuth: got %d, want 401", name, w.Code)
		}
		if tok != "x" {
			if code, got := serveMW(f, bearerReq(tok)); code != 401 || got != nil {
				t.Errorf("%s as Bearer: got %d %+v, want 401", name, code, got)
			}
		}
	}
}

// The middleware skips ParseBearer's byte check for a token its cache
// holds; every header that is not exactly "Bearer <cached token>" must
// still be parsed strictly and refused when malformed (SEC-20).
func TestSEC20_CachedTokenHeaderVariants(t *testing.T) {
	f := newFixture(t, nil)
	_, p := f.login("alice")
	if code, got := serveMW(f, bearerReq(p.AccessToken)); code != 200 || got == nil {
		t.Fatalf("warm-up: got %d %+v", code, got)
	}
	if code, got := serveMW(f, bearerReq(p.AccessToken)); code != 200 || got == nil || got.UserID != "alice" {
		t.Fatalf("cached: got %d %+v", code, got)
	}
	for name, h := range map[string]string{
		"two spaces":        "Bearer  " + p.AccessToken,
		"trailing space":    "Bearer " + p.AccessToken + " ",
		"tab":               "Bearer\t" + p.AccessToken,
		"trailing junk":     "Bearer " + p.AccessToken + "!",
		"token only":        p.AccessToken,
		"other scheme":      "Bearerx " + p.AccessToken,
		"comma list":        "Bearer " + p.AccessToken + ",Bearer " + p.AccessToken,
		"prefix of a token": "Bearer " + p.AccessToken[:len(p.AccessToken)-1] + "\x00",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", h)
		if code, got := serveMW(f, r); code != 401 || got != nil {
			t.Errorf("%s: got %d %+v, want 401", name, code, got)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "bEaReR "+p.AccessToken)
	if code, got := serveMW(f, r); code != 200 || got == nil {
		t.Errorf("scheme in another letter case (RFC 6750 is case-insensitive): got %d %+v", code, got)
	}
}
