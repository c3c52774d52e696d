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
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// The token-endpoint harness: an oauth.Provider over memstore (sessions, refresh
// tokens, users), an in-test oauth.Store (thStore), an ES256 + RS256 key
// set, a fixed clock, and codes minted straight into the store, so that
// the back-end endpoints are tested without the authorization endpoint.

const thIssuer = "https://auth.test"

var thT0 = time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)

// Resources registered in the harness's deployment.
const (
	thAPI     = "https://api.example.com"
	thBilling = "https://billing.example.com"
)

// thKeys is an oauth.Keys and a token.Keys over one jose.KeySet: ES256
// signs access tokens, both algorithms sign ID tokens.
type thKeys struct {
	set *jose.KeySet
	es  *jose.Key
	rs  *jose.Key
}

func (k *thKeys) SigningKey() *jose.Key { return k.es }
func (k *thKeys) SigningKeyFor(alg jose.Algorithm) *jose.Key {
	switch alg {
	case jose.ES256:
		return k.es
	case jose.RS256:
		return k.rs
	}
	return nil
}
func (k *thKeys) Algorithms() []jose.Algorithm             { return []jose.Algorithm{jose.ES256, jose.RS256} }
func (k *thKeys) ResolveKey(kid string) (*jose.Key, error) { return k.set.ResolveKey(kid) }
func (k *thKeys) JWKS() []byte                             { b, _ := k.set.MarshalJSON(); return b }

var (
	thKeysOnce sync.Once
	thSharedRS *jose.Key
)

func newTHKeys(t testing.TB) *thKeys {
	t.Helper()
	thKeysOnce.Do(func() { // RSA key generation is slow: one per test binary
		k, err := jose.GenerateKey(jose.RS256, "rs")
		if err != nil {
			panic(err)
		}
		thSharedRS = k
	})
	es, err := jose.GenerateKey(jose.ES256, "es")
	if err != nil {
		t.Fatal(err)
	}
	set, err := jose.NewKeySet(es, thSharedRS)
	if err != nil {
		t.Fatal(err)
	}
	return &thKeys{set: set, es: es, rs: thSharedRS}
}

// thStore is memstore's oauth.Store that can be made to fail like a
// store that cannot answer.
type thStore struct {
	*memstore.Store
	down atomic.Bool
}

var errTHDown = sesame.Errorf(sesame.EUnavailable, "store down")

func (s *thStore) RedeemCode(ctx context.Context, h [32]byte, at time.Time) (*oauth.Code, error) {
	if s.down.Load() {
		return nil, errTHDown
	}
	return s.Store.RedeemCode(ctx, h, at)
}

func (s *thStore) UseOnce(ctx context.Context, key string, exp time.Time) error {
	if s.down.Load() {
		return errTHDown
	}
	return s.Store.UseOnce(ctx, key, exp)
}

// thFixture is one provider with its dependencies.
type thFixture struct {
	t        testing.TB
	ctx      context.Context
	clock    *testclock.Clock
	mem      *memstore.Store
	store    *thStore
	keys     *thKeys
	sessions *session.Manager
	tokens   *token.Service
	p        *oauth.Provider
	h        http.Handler
	secrets  map[string]string // client ID → secret
	// clientKey signs the private_key_jwt client's assertions.
	clientKey *jose.Key
}

// Client IDs of the harness.
const (
	thWeb       = "web"       // confidential, client_secret_basic, back-channel logout
	thPost      = "post"      // confidential, client_secret_post
	thSPA       = "spa"       // public
	thJWT       = "jwt"       // confidential, private_key_jwt
	thService   = "service"   // confidential, client_credentials only, resource api
	thRS        = "rs"        // confidential resource server listing thAPI (introspection)
	thNoRefresh = "norefresh" // confidential, authorization_code only
)

func newTHFixture(t testing.TB) *thFixture {
	t.Helper()
	f := &thFixture{t: t, ctx: context.Background(), clock: testclock.New(thT0), mem: memstore.New(),
		keys: newTHKeys(t), secrets: map[string]string{}}
	f.store = &thStore{Store: f.mem}
	var err error
	f.sessions, err = session.New(f.mem, session.Config{Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	t.Cleanup(cancel)
	f.sessions.Start(ctx)
	f.tokens, err = token.New(token.Config{Issuer: thIssuer, Keys: f.keys, SuccessorKey: []byte(strings.Repeat("k", 32)),
		Store: f.mem, Sessions: f.sessions, Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.clientKey, err = jose.GenerateKey(jose.ES256, "client-key")
	if err != nil {
		t.Fatal(err)
	}
	clientJWKS, _ := mustKeySet(t, f.clientKey.Public()).MarshalJSON()
	secret := func(id, s string) []byte { f.secrets[id] = s; return oauth.HashSecret(s) }
	redirect := func(id string) []string { return []string{"https://" + id + ".example/cb"} }
	clients := []*oauth.Client{
		{ID: thWeb, SecretHash: secret(thWeb, "web secret:+%/&="), RedirectURIs: redirect(thWeb),
			BackchannelLogoutURI: "https://web.example/bcl", GrantTypes: []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken, oauth.GrantClientCredentials}},
		{ID: thPost, SecretHash: secret(thPost, "post-secret"), AuthMethod: oauth.AuthClientSecretPost, RedirectURIs: redirect(thPost)},
		{ID: thSPA, Public: true, RedirectURIs: redirect(thSPA), IDTokenAlg: jose.ES256,
			GrantTypes: []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken, oauth.GrantClientCredentials}},
		{ID: thJWT, AuthMethod: oauth.AuthPrivateKeyJWT, JWKS: clientJWKS, SecretHash: secret(thJWT, "jwt-client-secret"), RedirectURIs: redirect(thJWT)},
		{ID: thService, SecretHash: secret(thService, "service-secret"), GrantTypes: []string{oauth.GrantClientCredentials},
			Scopes: []string{"read", "write"}, Resources: []string{thAPI}},
		{ID: thRS, SecretHash: secret(thRS, "rs-secret"), GrantTypes: []string{oauth.GrantClientCredentials}, Resources: []string{thAPI}},
		{ID: thNoRefresh, SecretHash: secret(thNoRefresh, "norefresh-secret"), GrantTypes: []string{oauth.GrantAuthorizationCode}, RedirectURIs: redirect(thNoRefresh)},
	}
	reg, err := oauth.NewRegistry(clients, f.store)
	if err != nil {
		t.Fatal(err)
	}
	f.p, err = oauth.New(oauth.Config{
		Issuer: thIssuer, Registry: reg, Store: f.store, Sessions: f.sessions, Tokens: f.tokens,
		Accounts: &account.Service{Users: f.mem, Sessions: f.sessions}, Keys: f.keys,
		Resources:     []string{thAPI, thBilling},
		RenderConsent: func(http.ResponseWriter, *http.Request, oauth.ConsentView) {},
		RenderError:   func(w http.ResponseWriter, _ *http.Request, status int, _ string) { w.WriteHeader(status) },
		RequestKey:    []byte(strings.Repeat("r", 32)),
		Clock:         f.clock,
		Logger:        discardLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, rt := range f.p.Routes() {
		mux.HandleFunc(rt.Method+" "+rt.Pattern, rt.Handler)
	}
	f.h = mux
	return f
}

func mustKeySet(t testing.TB, keys ...*jose.Key) *jose.KeySet {
	t.Helper()
	s, err := jose.NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// user creates a user (with groups) and a signed-in session for them.
func (f *thFixture) user(name string, groups ...string) (*sesame.User, *sesame.Session) {
	f.t.Helper()
	u := &sesame.User{ID: "u-" + name, Username: name, CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}
	if err := f.mem.CreateUser(f.ctx, u); err != nil {
		f.t.Fatal(err)
	}
	if len(groups) > 0 {
		g, err := f.mem.ChangeGroups(f.ctx, u.ID, sesame.GroupChange{Add: groups})
		if err != nil {
			f.t.Fatal(err)
		}
		u.Groups = g
	}
	sess, err := f.sessions.StartTokenSession(f.ctx, u.ID, session.LoginOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return u, sess
}

// codeOpts are the facts of an authorization code minted by the harness.
type codeOpts struct {
	client    string
	scope     string
	resources []string
	nonce     string
	verifier  string // "" for a code without challenge
	plain     bool   // store the verifier itself as the challenge (a plain downgrade)
}

// code stores an authorization code for sess and returns its text.
func (f *thFixture) code(sess *sesame.Session, o codeOpts) string {
	f.t.Helper()
	var b [32]byte
	rand.Read(b[:])
	raw := base64.RawURLEncoding.EncodeToString(b[:])
	now := f.clock.Now()
	c := &oauth.Code{
		Hash: sha256.Sum256([]byte(raw)), ClientID: o.client, UserID: sess.UserID, SessionID: sess.ID,
		RedirectURI: "https://" + o.client + ".example/cb", Scope: o.scope, Resources: o.resources, Nonce: o.nonce,
		AuthTime: sess.AuthTime, ACR: "1", AMR: []string{"pwd"}, CreatedAt: now, ExpiresAt: now.Add(time.Minute),
	}
	switch {
	case o.plain:
		c.CodeChallenge = o.verifier
	case o.verifier != "":
		h := sha256.Sum256([]byte(o.verifier))
		c.CodeChallenge = base64.RawURLEncoding.EncodeToString(h[:])
	}
	if err := f.store.CreateCode(f.ctx, c); err != nil {
		f.t.Fatal(err)
	}
	return raw
}

// thVerifier is a valid PKCE code_verifier.
const thVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

// post sends a form-encoded POST to path, authenticated as client with its
// registered method (basic, post, private_key_jwt or none); client "" sends
// no credentials.
func (f *thFixture) post(path, client string, form url.Values) *httptest.ResponseRecorder {
	f.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	r := httptest.NewRequest("POST", path, nil)
	switch client {
	case "":
	case thPost:
		form.Set("client_id", client)
		form.Set("client_secret", f.secrets[client])
	case thSPA:
		form.Set("client_id", client)
	case thJWT:
		form.Set("client_assertion_type", oauth.JWTBearerAssertionType)
		form.Set("client_assertion", f.assertion(assertionOpts{}))
	default:
		r.SetBasicAuth(url.QueryEscape(client), url.QueryEscape(f.secrets[client]))
	}
	return f.send(r, path, form.Encode())
}

func (f *thFixture) send(r *http.Request, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header = r.Header.Clone()
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

// assertionOpts change a client assertion from the valid default.
type assertionOpts struct {
	aud   []string
	exp   time.Duration // from now; default 2 minutes
	jti   string
	key   *jose.Key
	iss   string
	noExp bool
}

func (f *thFixture) assertion(o assertionOpts) string {
	f.t.Helper()
	now := f.clock.Now()
	if o.aud == nil {
		o.aud = []string{thIssuer + oauth.PathToken}
	}
	if o.exp == 0 {
		o.exp = 2 * time.Minute
	}
	if o.jti == "" {
		var b [16]byte
		rand.Read(b[:])
		o.jti = base64.RawURLEncoding.EncodeToString(b[:])
	}
	if o.key == nil {
		o.key = f.clientKey
	}
	if o.iss == "" {
		o.iss = thJWT
	}
	c := jose.Claims{Issuer: o.iss, Subject: o.iss, Audience: o.aud, IssuedAt: jose.NewNumericDate(now), ID: o.jti}
	if !o.noExp {
		c.ExpiresAt = jose.NewNumericDate(now.Add(o.exp))
	}
	tok, err := jose.SignJWT(o.key, &c, jose.SignOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// exchange redeems code as client with the verifier and returns the answer.
func (f *thFixture) exchange(client, code, verifier string) *httptest.ResponseRecorder {
	f.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://" + client + ".example/cb"}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return f.post(oauth.PathToken, client, form)
}

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token"`
}

// tokens200 decodes a successful token response.
func (f *thFixture) tokens200(w *httptest.ResponseRecorder) tokenResponse {
	f.t.Helper()
	if w.Code != http.StatusOK {
		f.t.Fatalf("status %d, want 200; body %s", w.Code, w.Body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil {
		f.t.Fatal(err)
	}
	return tr
}

// wantError checks an OAuth error answer.
func wantError(t testing.TB, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error != code {
		t.Fatalf("error %q (%v), want %q; body %s", e.Error, err, code, w.Body)
	}
}

// userinfo calls GET /oauth2/userinfo with a Bearer token.
func (f *thFixture) userinfo(tok string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", oauth.PathUserinfo, nil)
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// refresh uses a refresh token as client.
func (f *thFixture) refresh(client, rt string, extra url.Values) *httptest.ResponseRecorder {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	for k, v := range extra {
		form[k] = v
	}
	return f.post(oauth.PathToken, client, form)
}

// introspect asks about tok as client.
func (f *thFixture) introspect(client, tok string) map[string]any {
	f.t.Helper()
	w := f.post(oauth.PathIntrospect, client, url.Values{"token": {tok}})
	if w.Code != http.StatusOK {
		f.t.Fatalf("introspect: status %d, want 200; body %s", w.Code, w.Body)
	}
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// claimsOf decodes a JWT's header typ and payload without verifying.
func claimsOf(t testing.TB, tok string) (typ string, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	var hdr struct {
		Typ string `json:"typ"`
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(h, &hdr) != nil || json.Unmarshal(p, &claims) != nil {
		t.Fatalf("undecodable JWT %q", tok)
	}
	return hdr.Typ, claims
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
