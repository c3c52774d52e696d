package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/oauth"
)

// BenchmarkTokenEndpointHTTP is the token endpoints over HTTP on loopback,
// one client, sequential, against one Sesame (SQLite, the default) in this
// process: the OAuth grants at /oauth2/token beside the first-party
// refresh at /api/v1/token/refresh. Rows:
//
//   - first-party-refresh: POST /api/v1/token/refresh (JSON, header
//     transport): rotation, a new ES256 access token.
//   - oauth-refresh: grant_type=refresh_token with client_secret_basic,
//     scope without openid: the same rotation and access token, plus client
//     authentication and the form.
//   - oauth-refresh-openid: the same with scope openid: a new RS256 ID
//     token too (the client's ID-token algorithm, the default).
//   - oauth-code-exchange: grant_type=authorization_code with PKCE S256
//     and scope openid (codes made before the timer by GET
//     /oauth2/authorize with a session cookie, first-party client).
//   - oauth-client-credentials: a confidential client's own access token.
func BenchmarkTokenEndpointHTTP(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewUnstartedServer(nil)
	a := newBenchApp(b, ctx, "http://"+srv.Listener.Addr().String(), func(cfg *config.Config) {
		cfg.Issuer = cfg.PublicURL
		cfg.Resources = []string{"https://api.bench.test"}
	})
	store := a.OAuthStore()
	if store == nil || a.OAuth() == nil {
		b.Fatal("the app has no OpenID Provider")
	}
	srv.Config.Handler = a.Handler()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	defer srv.Close()

	const secret = "bench-client-secret-0123456789abcdef"
	const redirect = "http://127.0.0.1:1/callback"
	client := &oauth.Client{
		ID: "bench-web", Name: "Bench", SecretHash: oauth.HashSecret(secret), RedirectURIs: []string{redirect},
		GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials"},
		FirstParty: true, IDTokenAlg: jose.RS256, CreatedAt: time.Now().UTC(),
	}
	if err := store.CreateClient(ctx, client); err != nil {
		b.Fatal(err)
	}
	if _, err := a.Accounts().Signup(ctx, "bench", "bench-password-1", false); err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	do := func(b *testing.B, req *http.Request, want int) []byte {
		res, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			b.Fatalf("%s %s: got %d %s, want %d", req.Method, req.URL.Path, res.StatusCode, raw, want)
		}
		return raw
	}
	login := func(b *testing.B, transport string) *http.Response {
		body, _ := json.Marshal(map[string]string{"username": "bench", "password": "bench-password-1", "transport": transport})
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/login", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			raw, _ := io.ReadAll(res.Body)
			b.Fatalf("login: got %d %s", res.StatusCode, raw)
		}
		return res
	}
	type pair struct {
		RefreshToken string `json:"refresh_token"`
	}
	refreshOf := func(b *testing.B, raw []byte) string {
		var p pair
		if err := json.Unmarshal(raw, &p); err != nil || p.RefreshToken == "" {
			b.Fatalf("no refresh token in %s", raw)
		}
		return p.RefreshToken
	}
	tokenReq := func(form url.Values) *http.Request {
		req, _ := http.NewRequest("POST", srv.URL+oauth.PathToken, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(client.ID, secret)
		return req
	}
	// code makes one authorization code from the session cookie.
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	code := func(b *testing.B, cookie, scope string) string {
		q := url.Values{"response_type": {"code"}, "client_id": {client.ID}, "redirect_uri": {redirect},
			"scope": {scope}, "state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		req, _ := http.NewRequest("GET", srv.URL+oauth.PathAuthorize+"?"+q.Encode(), nil)
		req.Header.Set("Cookie", cookie)
		res, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		loc, _ := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther || loc == nil || loc.Query().Get("code") == "" {
			b.Fatalf("authorize: got %d, Location %q", res.StatusCode, res.Header.Get("Location"))
		}
		return loc.Query().Get("code")
	}
	sessionCookie := func(b *testing.B) string {
		res := login(b, "session")
		res.Body.Close()
		for _, c := range res.Cookies() {
			if c.Name == "__Host-sesame" {
				return c.Name + "=" + c.Value
			}
		}
		b.Fatal("login: no session cookie")
		return ""
	}

	b.Run("first-party-refresh", func(b *testing.B) {
		res := login(b, "header")
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		rt := refreshOf(b, raw)
		b.ReportAllocs()
		for b.Loop() {
			body, _ := json.Marshal(map[string]string{"refresh_token": rt})
			req, _ := http.NewRequest("POST", srv.URL+"/api/v1/token/refresh", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rt = refreshOf(b, do(b, req, http.StatusOK))
		}
	})
	for _, row := range []struct{ name, scope string }{{"oauth-refresh", "offline_access"}, {"oauth-refresh-openid", "openid offline_access"}} {
		b.Run(row.name, func(b *testing.B) {
			cookie := sessionCookie(b)
			c := code(b, cookie, row.scope)
			rt := refreshOf(b, do(b, tokenReq(url.Values{"grant_type": {"authorization_code"}, "code": {c},
				"redirect_uri": {redirect}, "code_verifier": {verifier}}), http.StatusOK))
			b.ReportAllocs()
			for b.Loop() {
				rt = refreshOf(b, do(b, tokenReq(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}), http.StatusOK))
			}
		})
	}
	b.Run("oauth-code-exchange", func(b *testing.B) {
		cookie := sessionCookie(b)
		codes := make([]string, b.N)
		for i := range codes {
			codes[i] = code(b, cookie, "openid")
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			do(b, tokenReq(url.Values{"grant_type": {"authorization_code"}, "code": {codes[i]},
				"redirect_uri": {redirect}, "code_verifier": {verifier}}), http.StatusOK)
		}
	})
	b.Run("oauth-client-credentials", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			do(b, tokenReq(url.Values{"grant_type": {"client_credentials"}, "resource": {"https://api.bench.test"}}), http.StatusOK)
		}
	})
}
