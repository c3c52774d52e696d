package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/internal/mailpit"
	"github.com/sesame-auth/sesame/server"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// The route walk (SEC-35's walk of the route table, by credential): every
// route reached with every kind of credential gets the decision its policy
// says, and no other. The policies:
//
//   - public: the handler answers, the same for every caller;
//   - auth: a Principal from any credential (sesame.RequireAuth for the
//     routes marked Auth, server.principal in the API handlers), else 401
//     (a browser asking for a page is sent to the login page instead);
//   - admin: auth, and then 403 unless the user is an administrator;
//   - session: auth, and then 403 unless the credential is a session cookie
//     (only a cookie session is exchanged for tokens);
//   - own-auth: the OAuth endpoints that authenticate their caller
//     themselves (token, revocation, introspection, userinfo): the server
//     never reads their Authorization header as a Sesame credential, so a
//     signed-out Bearer token gets the handler's own answer (401, the
//     endpoint's challenge), like every other caller;
//   - enrol: auth, or the pending session of a user who has no second
//     factor yet (one required to enrol one after the password, SEC-60):
//     the TOTP enrolment routes;
//   - pending: the second step of a sign-in, which answers only the
//     cookie of a pending session (the handler's answer), and 401 to
//     every other caller, signed in or not.
type walkPolicy int

const (
	public walkPolicy = iota
	authed
	adminOnly
	sessionOnly
	ownAuth
	enrol
	pendingOnly
)

func (p walkPolicy) String() string {
	return [...]string{"public", "auth", "admin", "session", "own-auth", "enrol", "pending"}[p]
}

// walkRoute is how the walk reaches one route: a concrete path, a body,
// and the status an allowed caller gets. The bodies make the handler
// answer something other than 401 and 403 (a success, or a validation
// failure after the credential was accepted), so that a 401 or 403 can
// only be the policy's.
type walkRoute struct {
	policy walkPolicy
	path   string // "{id}" is a spare session of the caller's user; "{username}" is bob
	body   any    // nil, url.Values (a form) or a JSON value
	ok     int    // the answer to an allowed caller
}

// The credential kinds of the walk.
const (
	kindNone        = "none"
	kindSession     = "session cookie"
	kindBearer      = "bearer header"
	kindTokenCookie = "token cookie"
	kindPending     = "pending session cookie" // a password login waiting for its second factor (SEC-60)
)

// walkCred is one credential: cookies a browser holds, or a Bearer token.
type walkCred struct {
	kind    string
	revoked bool
	cookies []*http.Cookie
	bearer  string
}

func (c walkCred) String() string {
	if c.revoked {
		return "revoked " + c.kind
	}
	return c.kind
}

// walker mints credentials and sends the walk's requests with a raw HTTP
// client (no jar, no redirects), so that each request carries exactly the
// credential under test.
type walker struct {
	t       *testing.T
	e       *env
	hc      *http.Client
	nextIP  int
	checked int // decisions checked
}

func newWalker(t *testing.T, e *env) *walker {
	hc := *e.srv.Client()
	hc.Jar = nil
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &walker{t: t, e: e, hc: &hc}
}

// ip is a fresh client address (the harness trusts 127.0.0.1 as a proxy):
// the walk's sign-up and login requests must not meet the per-IP throttle,
// which has its own tests.
func (w *walker) ip() string {
	w.nextIP++
	return fmt.Sprintf("10.%d.%d.%d", w.nextIP>>16&255, w.nextIP>>8&255, w.nextIP&255)
}

// raw sends one request carrying cred and nothing else.
func (w *walker) raw(method, path string, body any, cred walkCred, hdr map[string]string) *resp {
	w.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		buf, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(buf), "application/json"
	}
	req, err := http.NewRequest(method, w.e.srv.URL+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("User-Agent", "route-walk/1.0")
	req.Header.Set("X-Forwarded-For", w.ip())
	for _, c := range cred.cookies {
		req.AddCookie(c)
	}
	if cred.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+cred.bearer)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := w.hc.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{Response: res, body: b}
}

// send reaches route with cred the way a well-behaved client of its kind
// does, so that only the credential decides: a browser (every cookie kind,
// and no credential) sends Origin and a CSRF token fetched with the same
// cookies on unsafe requests, and Accept: text/html for pages; a Bearer
// client calls the API like a mobile app (no Origin, no cookie: exempt
// from CSRF) and the pages like a browser app holding a Bearer token
// (Origin and a CSRF token bound to the token's session).
func (w *walker) send(method, path string, body any, cred walkCred) *resp {
	w.t.Helper()
	api := strings.HasPrefix(path, "/api/")
	browser := cred.kind != kindBearer
	hdr := map[string]string{}
	if browser && !api {
		hdr["Accept"] = "text/html"
	}
	if method != "GET" && (browser || !api) {
		hdr["Origin"] = w.e.origin
		r := w.raw("GET", "/api/v1/csrf", nil, cred, nil)
		var b struct {
			Token string `json:"csrf_token"`
		}
		if r.StatusCode == http.StatusOK && json.Unmarshal(r.body, &b) == nil {
			for _, c := range r.Cookies() {
				if c.Name == "__Host-sesame-csrf" { // the pre-session cookie the token is bound to
					cred.cookies = append(cred.cookies[:len(cred.cookies):len(cred.cookies)], c)
				}
			}
			if form, ok := body.(url.Values); ok {
				form = cloneValues(form)
				form.Set("csrf_token", b.Token)
				body = form
			} else {
				hdr["X-CSRF-Token"] = b.Token
			}
		} else if !cred.revoked {
			w.t.Fatalf("%s: GET /api/v1/csrf: %d %s", cred, r.StatusCode, r.body)
		}
	}
	return w.raw(method, path, body, cred, hdr)
}

// login mints a fresh credential of kind for user (a non-browser JSON
// login: no Origin, no cookie).
func (w *walker) login(kind, user string) walkCred {
	w.t.Helper()
	transport := map[string]string{kindSession: "session", kindBearer: "header", kindTokenCookie: "cookie"}[kind]
	r := w.raw("POST", "/api/v1/login", map[string]any{"username": user, "password": pw, "transport": transport}, walkCred{}, nil)
	if r.StatusCode != http.StatusOK {
		w.t.Fatalf("login %s as %s: %d %s", transport, user, r.StatusCode, r.body)
	}
	c := walkCred{kind: kind}
	switch kind {
	case kindBearer:
		var p struct {
			AccessToken string `json:"access_token"`
		}
		r.json(w.t, &p)
		c.bearer = p.AccessToken
	default:
		want := map[string]string{kindSession: "__Host-sesame", kindTokenCookie: token.AccessCookie}[kind]
		for _, ck := range r.Cookies() {
			if ck.Name == want {
				c.cookies = append(c.cookies, &http.Cookie{Name: ck.Name, Value: ck.Value})
			}
		}
	}
	if c.bearer == "" && len(c.cookies) != 1 {
		w.t.Fatalf("login %s as %s gave no credential: %v", transport, user, r.Header.Values("Set-Cookie"))
	}
	if code := w.raw("GET", "/api/v1/me", nil, c, nil).StatusCode; code != http.StatusOK {
		w.t.Fatalf("a fresh %s does not authenticate: %d", c, code)
	}
	return c
}

// pending mints the cookie of a session waiting for user's second factor
// (SEC-60): what a password login gives a user with a second factor.
func (w *walker) pending(user string) walkCred {
	w.t.Helper()
	u, err := w.e.accounts.Lookup(context.Background(), user)
	if err != nil {
		w.t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if _, err := w.e.sessions.Login(rec, httptest.NewRequest("POST", "/login", nil), u.ID, session.LoginOptions{Pending: true}); err != nil {
		w.t.Fatal(err)
	}
	c := walkCred{kind: kindPending}
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "__Host-sesame" {
			c.cookies = append(c.cookies, &http.Cookie{Name: ck.Name, Value: ck.Value})
		}
	}
	if len(c.cookies) != 1 {
		w.t.Fatal("a pending login gave no cookie")
	}
	return c
}

// revoked mints a credential of kind and signs it out through the API, as
// its owner would; the walk then replays it (a stolen or stale copy).
func (w *walker) revoked(kind, user string) walkCred {
	w.t.Helper()
	c := w.login(kind, user)
	if r := w.send("POST", "/api/v1/logout", nil, c); r.StatusCode != http.StatusNoContent {
		w.t.Fatalf("logout with %s: %d %s", c, r.StatusCode, r.body)
	}
	c.revoked = true
	return c
}

// walkTable is the policy of every route of the table, keyed by "METHOD
// pattern". A route missing here fails the walk: a new route must say who
// may reach it.
func walkTable(alicePW, preset string) map[string]walkRoute {
	badNewPW := map[string]any{"current_password": alicePW, "new_password": "short", "end_other_sessions": false}
	t := map[string]walkRoute{
		"GET /{$}":                                       {public, "/", nil, http.StatusSeeOther},
		"GET /signup":                                    {public, "/signup", nil, http.StatusOK},
		"POST /signup":                                   {public, "/signup", url.Values{"username": {""}, "password": {""}}, http.StatusBadRequest},
		"GET /login":                                     {public, "/login", nil, http.StatusOK},
		"POST /login":                                    {public, "/login", url.Values{"username": {"alice"}, "password": {alicePW}}, http.StatusSeeOther},
		"POST /logout":                                   {public, "/logout", url.Values{}, http.StatusSeeOther},
		"GET /account":                                   {authed, "/account", nil, http.StatusOK},
		"POST /account/sessions/{id}/revoke":             {authed, "/account/sessions/{id}/revoke", url.Values{}, http.StatusSeeOther},
		"POST /account/sessions/revoke-others":           {authed, "/account/sessions/revoke-others", url.Values{}, http.StatusSeeOther},
		"POST /account/password":                         {authed, "/account/password", url.Values{"current_password": {alicePW}, "new_password": {"short"}}, http.StatusBadRequest},
		"GET /admin":                                     {adminOnly, "/admin", nil, http.StatusOK},
		"POST /admin/users/{username}/block":             {adminOnly, "/admin/users/{username}/block", url.Values{}, http.StatusSeeOther},
		"POST /admin/users/{username}/unblock":           {adminOnly, "/admin/users/{username}/unblock", url.Values{}, http.StatusSeeOther},
		"POST /admin/users/{username}/groups":            {adminOnly, "/admin/users/{username}/groups", url.Values{"groups": {"ops"}}, http.StatusSeeOther},
		"GET /admin/users/{username}":                    {adminOnly, "/admin/users/{username}", nil, http.StatusOK},
		"GET /admin/users/{username}/confirm/{action}":   {adminOnly, "/admin/users/{username}/confirm/signout", nil, http.StatusOK},
		"POST /admin/users/{username}/signout":           {adminOnly, "/admin/users/{username}/signout", url.Values{}, http.StatusSeeOther},
		"GET /static/style.css":                          {public, "/static/style.css", nil, http.StatusOK},
		"GET /how-it-works":                              {public, "/how-it-works", nil, http.StatusOK},
		"POST /how-it-works/token":                       {authed, "/how-it-works/token", url.Values{}, http.StatusOK},
		"POST /how-it-works/revoke":                      {authed, "/how-it-works/revoke", url.Values{}, http.StatusOK},
		"GET /static/favicon.svg":                        {public, "/static/favicon.svg", nil, http.StatusOK},
		"GET /favicon.ico":                               {public, "/favicon.ico", nil, http.StatusOK},
		"POST /api/v1/signup":                            {public, "/api/v1/signup", map[string]string{"username": "", "password": ""}, http.StatusBadRequest},
		"POST /api/v1/login":                             {public, "/api/v1/login", map[string]string{"username": "alice", "password": alicePW}, http.StatusOK},
		"GET /api/v1/me":                                 {authed, "/api/v1/me", nil, http.StatusOK},
		"POST /api/v1/logout":                            {public, "/api/v1/logout", nil, http.StatusNoContent},
		"GET /api/v1/sessions":                           {authed, "/api/v1/sessions", nil, http.StatusOK},
		"DELETE /api/v1/sessions/{id}":                   {authed, "/api/v1/sessions/{id}", nil, http.StatusNoContent},
		"POST /api/v1/sessions/revoke-others":            {authed, "/api/v1/sessions/revoke-others", nil, http.StatusOK},
		"POST /api/v1/password":                          {authed, "/api/v1/password", badNewPW, http.StatusBadRequest},
		"GET /api/v1/admin/users":                        {adminOnly, "/api/v1/admin/users", nil, http.StatusOK},
		"GET /api/v1/admin/audit":                        {adminOnly, "/api/v1/admin/audit", nil, http.StatusOK},
		"GET /admin/audit":                               {adminOnly, "/admin/audit", nil, http.StatusOK},
		"POST /api/v1/admin/users/{username}/block":      {adminOnly, "/api/v1/admin/users/{username}/block", nil, http.StatusOK},
		"POST /api/v1/admin/users/{username}/unblock":    {adminOnly, "/api/v1/admin/users/{username}/unblock", nil, http.StatusOK},
		"DELETE /api/v1/admin/users/{username}/sessions": {adminOnly, "/api/v1/admin/users/{username}/sessions", nil, http.StatusOK},
		"GET /api/v1/admin/users/{username}/groups":      {adminOnly, "/api/v1/admin/users/{username}/groups", nil, http.StatusOK},
		"PUT /api/v1/admin/users/{username}/groups":      {adminOnly, "/api/v1/admin/users/{username}/groups", map[string]any{"groups": []string{"ops"}}, http.StatusOK},
		"GET /api/v1/csrf":                               {public, "/api/v1/csrf", nil, http.StatusOK},
		"GET /api/v1/revocations":                        {public, "/api/v1/revocations?since=0", nil, http.StatusOK},
		"GET /api/v1/authz/forward":                      {public, "/api/v1/authz/forward", nil, http.StatusForbidden}, // no access_rules: default deny
		// A stream that never ends: a bad position is the handler's 400,
		// answered before the stream starts.
		"GET /api/v1/revocations/stream": {public, "/api/v1/revocations/stream?since=x", nil, http.StatusBadRequest},
		"GET /healthz":                   {public, "/healthz", nil, http.StatusOK},
		"GET /livez":                     {public, "/livez", nil, http.StatusOK},
		// The refresh and revoke endpoints take their credential in the
		// body: whoever calls, a valid refresh token is redeemed ("{rt}" is
		// a fresh one), an unknown token is revoked with 200 (RFC 7009).
		"POST /api/v1/token/refresh": {public, "/api/v1/token/refresh", map[string]string{"refresh_token": "{rt}"}, http.StatusOK},
		"POST /api/v1/token/revoke":  {public, "/api/v1/token/revoke", map[string]string{"token": "not-a-token"}, http.StatusOK},
		"POST /api/v1/token/session": {sessionOnly, "/api/v1/token/session", map[string]string{}, http.StatusOK},
		"GET /.well-known/jwks.json": {public, "/.well-known/jwks.json", nil, http.StatusOK},

		// The OAuth provider (when mounted). The authorization and logout
		// requests are navigations: an unknown client is the 400 error page
		// whoever asks; a GET logout request without a hint is the signed-out
		// page, or its confirmation for a cookie session (200 both). The
		// consent and logout-confirmation forms refuse a request that is
		// not sealed by Sesame (400) before looking at the caller. The
		// client-authenticated endpoints refuse a request without client
		// authentication, and userinfo one without its token: 401 for
		// every caller (a Sesame Bearer token's audience is not userinfo).
		"GET /oauth2/authorize":                       {public, "/oauth2/authorize?client_id=nobody&redirect_uri=https%3A%2F%2Fevil.test%2F&response_type=code", nil, http.StatusBadRequest},
		"POST /oauth2/authorize":                      {public, "/oauth2/authorize", url.Values{"client_id": {"nobody"}, "redirect_uri": {"https://evil.test/"}}, http.StatusBadRequest},
		"POST /oauth2/authorize/consent":              {public, "/oauth2/authorize/consent", url.Values{"request": {"forged.request"}, "decision": {"allow"}}, http.StatusBadRequest},
		"GET /oauth2/logout":                          {public, "/oauth2/logout", nil, http.StatusOK},
		"POST /oauth2/logout":                         {public, "/oauth2/logout", url.Values{"client_id": {"nobody"}}, http.StatusBadRequest},
		"POST /oauth2/logout/confirm":                 {public, "/oauth2/logout/confirm", url.Values{"request": {"forged.request"}, "decision": {"logout"}}, http.StatusBadRequest},
		"POST /oauth2/token":                          {ownAuth, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, http.StatusUnauthorized},
		"POST /oauth2/revoke":                         {ownAuth, "/oauth2/revoke", url.Values{"token": {"x"}}, http.StatusUnauthorized},
		"POST /oauth2/introspect":                     {ownAuth, "/oauth2/introspect", url.Values{"token": {"x"}}, http.StatusUnauthorized},
		"GET /oauth2/userinfo":                        {ownAuth, "/oauth2/userinfo", nil, http.StatusUnauthorized},
		"POST /oauth2/userinfo":                       {ownAuth, "/oauth2/userinfo", url.Values{}, http.StatusUnauthorized},
		"GET /.well-known/openid-configuration":       {public, "/.well-known/openid-configuration", nil, http.StatusOK},
		"GET /.well-known/oauth-authorization-server": {public, "/.well-known/oauth-authorization-server", nil, http.StatusOK},

		// Passkeys (when on: a domain-name public URL). pk_unknown is no
		// passkey of anyone's: 404 after the credential is accepted.
		// A registration finish with a bad name is 400 before any
		// ceremony; a sign-in finish without a ceremony cookie is the
		// ceremony's 401, whoever asks.
		"GET /static/passkey.js":                {public, "/static/passkey.js", nil, http.StatusOK},
		"POST /account/passkeys/{id}/remove":    {authed, "/account/passkeys/pk_unknown/remove", url.Values{}, http.StatusNotFound},
		"POST /api/v1/passkeys/register/begin":  {authed, "/api/v1/passkeys/register/begin", map[string]any{}, http.StatusOK},
		"POST /api/v1/passkeys/register/finish": {authed, "/api/v1/passkeys/register/finish", map[string]any{"name": strings.Repeat("n", 65), "credential": map[string]any{}}, http.StatusBadRequest},
		"GET /api/v1/passkeys":                  {authed, "/api/v1/passkeys", nil, http.StatusOK},
		"PUT /api/v1/passkeys/{id}":             {authed, "/api/v1/passkeys/pk_unknown", map[string]any{"name": "x"}, http.StatusNotFound},
		"DELETE /api/v1/passkeys/{id}":          {authed, "/api/v1/passkeys/pk_unknown", nil, http.StatusNotFound},
		"POST /api/v1/login/passkey/begin":      {public, "/api/v1/login/passkey/begin", map[string]any{}, http.StatusOK},
		"POST /api/v1/login/passkey/finish":     {public, "/api/v1/login/passkey/finish", map[string]any{"credential": map[string]any{}}, http.StatusUnauthorized},

		// Email (when smtp_url is set). The link pages and their API
		// answer a link token, not a caller: a forged one is 400 whoever
		// asks; a forgot-password request is 202 for any name ("{fresh}":
		// a new one each time, so the per-name throttle never answers).
		// A link page reached without a link (no token, no flow cookie)
		// says the link is invalid (400).
		// The account routes reach re-authentication, then refuse the
		// address (400); bob has no address to send links to (400).
		"GET /password/forgot":                                 {public, "/password/forgot", nil, http.StatusOK},
		"POST /password/forgot":                                {public, "/password/forgot", url.Values{"login": {"{fresh}"}}, http.StatusAccepted},
		"GET /password/reset":                                  {public, "/password/reset", nil, http.StatusBadRequest},
		"POST /password/reset":                                 {public, "/password/reset", url.Values{"new_password": {"a new password 42"}}, http.StatusBadRequest},
		"GET /email/verify":                                    {public, "/email/verify", nil, http.StatusBadRequest},
		"POST /email/verify":                                   {public, "/email/verify", url.Values{}, http.StatusBadRequest},
		"GET /email/confirm":                                   {public, "/email/confirm", nil, http.StatusBadRequest},
		"POST /email/confirm":                                  {public, "/email/confirm", url.Values{}, http.StatusBadRequest},
		"POST /account/email":                                  {authed, "/account/email", url.Values{"email": {"not-an-address"}, "current_password": {alicePW}}, http.StatusBadRequest},
		"POST /account/email/resend":                           {authed, "/account/email/resend", url.Values{}, http.StatusBadRequest},
		"POST /admin/users/{username}/email/reset-link":        {adminOnly, "/admin/users/{username}/email/reset-link", url.Values{}, http.StatusBadRequest},
		"POST /admin/users/{username}/email/verify":            {adminOnly, "/admin/users/{username}/email/verify", url.Values{}, http.StatusBadRequest},
		"POST /api/v1/password/forgot":                         {public, "/api/v1/password/forgot", map[string]string{"login": "{fresh}"}, http.StatusAccepted},
		"POST /api/v1/password/reset":                          {public, "/api/v1/password/reset", map[string]string{"token": "forged", "new_password": "a new password 42"}, http.StatusBadRequest},
		"POST /api/v1/email/verify":                            {public, "/api/v1/email/verify", map[string]string{"token": "forged"}, http.StatusBadRequest},
		"POST /api/v1/email/confirm":                           {public, "/api/v1/email/confirm", map[string]string{"token": "forged"}, http.StatusBadRequest},
		"GET /api/v1/email":                                    {authed, "/api/v1/email", nil, http.StatusOK},
		"PUT /api/v1/email":                                    {authed, "/api/v1/email", map[string]string{"email": "not-an-address", "password": alicePW}, http.StatusBadRequest},
		"POST /api/v1/email/resend":                            {authed, "/api/v1/email/resend", nil, http.StatusBadRequest},
		"POST /api/v1/admin/users/{username}/email/reset-link": {adminOnly, "/api/v1/admin/users/{username}/email/reset-link", nil, http.StatusBadRequest},
		"POST /api/v1/admin/users/{username}/email/verify":     {adminOnly, "/api/v1/admin/users/{username}/email/verify", nil, http.StatusBadRequest},
		"PUT /api/v1/admin/users/{username}/email":             {adminOnly, "/api/v1/admin/users/{username}/email", map[string]string{"email": ""}, http.StatusNoContent},

		// Second factors (issue 13). The second step answers only a
		// pending session, which the walk's alice (no factor) never
		// completes: without one it is 401 or the login page, with one a
		// wrong code is 401 (the page: the enrolment, alice having no
		// factor). The step-up takes alice's password. The enrolment
		// routes are also a pending session's, when its user has no factor.
		"GET /login/second-factor":                            {public, "/login/second-factor", nil, http.StatusSeeOther},
		"POST /login/second-factor":                           {public, "/login/second-factor", url.Values{"code": {"000000"}}, http.StatusSeeOther},
		"POST /api/v1/login/second-factor":                    {pendingOnly, "/api/v1/login/second-factor", map[string]any{"code": "000000"}, http.StatusUnauthorized},
		"POST /api/v1/reauthenticate":                         {authed, "/api/v1/reauthenticate", map[string]any{"password": alicePW}, http.StatusOK},
		"GET /reauthenticate":                                 {authed, "/reauthenticate", nil, http.StatusOK},
		"POST /reauthenticate":                                {authed, "/reauthenticate", url.Values{"password": {alicePW}}, http.StatusSeeOther},
		"POST /api/v1/login/second-factor/passkey/begin":      {pendingOnly, "/api/v1/login/second-factor/passkey/begin", map[string]any{}, http.StatusBadRequest},
		"POST /api/v1/login/second-factor/passkey/finish":     {pendingOnly, "/api/v1/login/second-factor/passkey/finish", map[string]any{"credential": map[string]any{}}, http.StatusUnauthorized},
		"POST /api/v1/reauthenticate/passkey/begin":           {authed, "/api/v1/reauthenticate/passkey/begin", map[string]any{}, http.StatusBadRequest},
		"POST /api/v1/reauthenticate/passkey/finish":          {authed, "/api/v1/reauthenticate/passkey/finish", map[string]any{"password": alicePW, "credential": map[string]any{}}, http.StatusUnauthorized},
		"GET /api/v1/factors":                                 {authed, "/api/v1/factors", nil, http.StatusOK},
		"POST /api/v1/factors/totp":                           {enrol, "/api/v1/factors/totp", map[string]any{"name": "walk"}, http.StatusCreated},
		"POST /api/v1/factors/totp/confirm":                   {enrol, "/api/v1/factors/totp/confirm", map[string]any{"id": "tf_unknown", "code": "000000"}, http.StatusNotFound},
		"DELETE /api/v1/factors/{id}":                         {authed, "/api/v1/factors/tf_unknown", nil, http.StatusNotFound},
		"POST /api/v1/factors/recovery-codes":                 {authed, "/api/v1/factors/recovery-codes", map[string]any{}, http.StatusConflict},
		"DELETE /api/v1/admin/users/{username}/factors":       {adminOnly, "/api/v1/admin/users/{username}/factors", nil, http.StatusOK},
		"PUT /api/v1/admin/users/{username}/factors/required": {adminOnly, "/api/v1/admin/users/{username}/factors/required", map[string]any{"required": false}, http.StatusOK},
		"GET /account/factors/setup":                          {enrol, "/account/factors/setup", nil, http.StatusOK},
		"POST /account/factors/totp":                          {enrol, "/account/factors/totp", url.Values{"name": {"walk"}}, http.StatusOK},
		"POST /account/factors/totp/confirm":                  {enrol, "/account/factors/totp/confirm", url.Values{"id": {"tf_unknown"}, "code": {"000000"}}, http.StatusNotFound},
		"POST /account/factors/{id}/remove":                   {authed, "/account/factors/tf_unknown/remove", url.Values{}, http.StatusNotFound},
		"POST /account/recovery-codes":                        {authed, "/account/recovery-codes", url.Values{}, http.StatusConflict},
		"POST /admin/users/{username}/factors/reset":          {adminOnly, "/admin/users/{username}/factors/reset", url.Values{}, http.StatusSeeOther},
		"POST /admin/users/{username}/factors/required":       {adminOnly, "/admin/users/{username}/factors/required", url.Values{"required": {"1"}}, http.StatusSeeOther},
	}
	if preset == "spa" {
		// Tokens only in cookies: a refresh token in the body and the
		// session-to-Bearer exchange are refused as a transport (400).
		t["POST /api/v1/token/refresh"] = walkRoute{public, "/api/v1/token/refresh", map[string]string{"refresh_token": "x"}, http.StatusBadRequest}
		t["POST /api/v1/token/session"] = walkRoute{sessionOnly, "/api/v1/token/session", map[string]string{}, http.StatusBadRequest}
	}
	return t
}

// SEC-35 (a walk of the route table), SEC-20, SEC-64, SEC-12, SEC-13:
// every route of the table, reached with a session cookie, a Bearer access
// token, an access-token cookie (the SPA transport), no credential, and a
// signed-out copy of each credential, gets exactly its policy's decision:
// 401 without a live credential (a browser asking for a page: 303 to the
// login page), 403 for a user on an admin route and for a token on the
// session-only exchange, the handler's own answer otherwise. A signed-out
// credential is never accepted (SEC-64, SEC-12); a signed-out Bearer token
// is 401 with the RFC 6750 invalid_token challenge on every route, public
// ones included: a client that sent a credential explicitly is never
// served as anonymous (SEC-20); a signed-out cookie of either kind is no
// credential. The password routes reach re-authentication with every
// credential kind (their 400 comes after the current password was
// checked, SEC-56). A refused request changes nothing. SEC-60: the cookie
// of a session waiting for its second factor is refused like no
// credential on every route (API, pages, /api/v1/token/session, refresh,
// forward-auth, OAuth authorize), and a route it may reach (logout,
// login) gets the public answer.
func TestSEC35_RouteWalkEveryCredential(t *testing.T) {
	t.Run("default", func(t *testing.T) { walkRouteTable(t, newEnv(t), "") })
	// The spa preset hands out tokens only in cookies: no Bearer token
	// exists to walk with, and the routes that would hand one out refuse
	// after the policy's decision.
	t.Run("spa", func(t *testing.T) { walkRouteTable(t, presetEnv(t, "spa"), "spa") })
	// Passkeys need a domain name: the walk again on https://localhost.
	t.Run("passkeys", func(t *testing.T) { walkRouteTable(t, passkeyEnv(t), "") })
	// Mail configured (a real SMTP server, Mailpit): the email routes.
	t.Run("email", func(t *testing.T) { walkRouteTable(t, emailEnv(t), "") })
}

// emailEnv is a server with smtp_url set, sending to the shared Mailpit
// (skipped without one, a failure under CI=true).
func emailEnv(t *testing.T) *env {
	t.Helper()
	mp := mailpit.FromEnv(t)
	cfg := config.Default()
	cfg.DB = filepath.Join(t.TempDir(), "sesame.db")
	cfg.SMTPURL, cfg.MailFrom = mp.SMTPURL(), "Sesame <auth@sesame.test>"
	return newEnvConfig(t, cfg)
}

func walkRouteTable(t *testing.T, e *env, preset string) {
	ctx := context.Background()
	alice, err := e.accounts.Signup(ctx, "alice", pw, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.accounts.Signup(ctx, "root", pw, true); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bob", "carol"} { // bob is blocked and unblocked; carol refreshes
		if _, err := e.accounts.Signup(ctx, name, pw, false); err != nil {
			t.Fatal(err)
		}
	}
	w := newWalker(t, e)
	table := walkTable(pw, preset)
	routes := e.server.Routes()
	if !slices.ContainsFunc(routes, func(r server.Route) bool { return strings.HasPrefix(r.Pattern, "/oauth2/") }) {
		for k := range table { // no OAuth provider mounted
			if strings.Contains(k, "/oauth2/") || strings.Contains(k, "openid-configuration") || strings.Contains(k, "oauth-authorization-server") {
				delete(table, k)
			}
		}
	}
	if !slices.ContainsFunc(routes, func(r server.Route) bool { return strings.Contains(r.Pattern, "/email") }) {
		for k := range table { // no smtp_url: no email routes
			if strings.Contains(k, "/email") || strings.Contains(k, "/password/forgot") || strings.Contains(k, "/password/reset") {
				delete(table, k)
			}
		}
	}
	if !slices.ContainsFunc(routes, func(r server.Route) bool { return strings.Contains(r.Pattern, "passkey") }) {
		for k := range table { // passkeys off (an IP address as public URL)
			if strings.Contains(k, "passkey") {
				delete(table, k)
			}
		}
	}
	if !slices.ContainsFunc(routes, func(r server.Route) bool { return strings.Contains(r.Pattern, "/factors") }) {
		for k := range table { // no TOTP factors (a store without them)
			if strings.Contains(k, "/factors") || strings.Contains(k, "recovery-codes") {
				delete(table, k)
			}
		}
	}
	if len(routes) != len(table) {
		t.Errorf("the route table has %d routes, the walk knows %d", len(routes), len(table))
	}
	kinds := []string{kindSession, kindBearer, kindTokenCookie}
	if preset == "spa" {
		kinds = []string{kindSession, kindTokenCookie}
	}

	// The revoked credentials stay revoked: one of each kind serves the
	// whole walk.
	var revoked []walkCred
	for _, k := range kinds {
		revoked = append(revoked, w.revoked(k, "alice"))
	}

	for _, rt := range routes {
		key := rt.Method + " " + rt.Pattern
		spec, ok := table[key]
		if !ok {
			t.Errorf("route %s has no policy in the walk: add it to walkTable", key)
			continue
		}
		if rt.Auth && spec.policy == public {
			t.Errorf("route %s is marked Auth but the walk calls it public", key)
		}
		t.Run(strings.ReplaceAll(key, "/", "_"), func(t *testing.T) {
			w.t = t
			defer func() { w.t = e.t }()
			type caller struct{ user, kind string }
			callers := []caller{{"", kindNone}}
			for _, k := range kinds {
				callers = append(callers, caller{"alice", k})
			}
			callers = append(callers, caller{"alice", kindPending})
			if spec.policy == adminOnly {
				callers = append(callers, caller{"root", kindPending})
				for _, k := range kinds {
					callers = append(callers, caller{"root", k})
				}
			}
			for _, who := range callers {
				cred := walkCred{kind: kindNone}
				switch {
				case who.kind == kindPending:
					cred = w.pending(who.user)
				case who.user != "":
					cred = w.login(who.kind, who.user) // fresh: the route may end it
				}
				w.check(rt.Method, spec, cred, who.user, alice.ID)
			}
			for _, cred := range revoked {
				w.check(rt.Method, spec, cred, "alice", alice.ID)
			}
		})
	}
	for key := range table {
		found := false
		for _, rt := range routes {
			found = found || rt.Method+" "+rt.Pattern == key
		}
		if !found {
			t.Errorf("the walk lists %s, which the route table does not have", key)
		}
	}
	// Every route with every credential (7 by default, 5 under spa), more on admin routes.
	if min := len(routes) * (1 + 2*len(kinds)); w.checked < min {
		t.Fatalf("the walk checked %d decisions, want at least %d", w.checked, min)
	}
	t.Logf("preset %q: %d routes, %d decisions checked", preset, len(routes), w.checked)
}

// check sends one request of the walk and asserts the policy's decision.
func (w *walker) check(method string, spec walkRoute, cred walkCred, user, aliceID string) {
	t := w.t
	t.Helper()
	ctx := context.Background()
	path := strings.ReplaceAll(spec.path, "{username}", "bob")
	spare := ""
	if strings.Contains(path, "{id}") {
		// A spare session of alice's, to be signed out by the route.
		s, err := w.e.sessions.StartTokenSession(ctx, aliceID, session.LoginOptions{})
		if err != nil {
			t.Fatal(err)
		}
		spare = s.ID
		path = strings.ReplaceAll(path, "{id}", spare)
	}
	body := spec.body
	if m, ok := body.(map[string]string); ok && m["refresh_token"] == "{rt}" {
		r := w.raw("POST", "/api/v1/login", map[string]any{"username": "carol", "password": pw, "transport": "header"}, walkCred{}, nil)
		var p struct {
			RefreshToken string `json:"refresh_token"`
		}
		r.json(t, &p)
		body = map[string]string{"refresh_token": p.RefreshToken}
	}
	switch b := body.(type) { // "{fresh}": a name never used before
	case url.Values:
		if b.Get("login") == "{fresh}" {
			b = cloneValues(b)
			b.Set("login", fmt.Sprintf("walker-%d@example.test", w.nextIP))
			body = b
		}
	case map[string]string:
		if b["login"] == "{fresh}" {
			body = map[string]string{"login": fmt.Sprintf("walker-%d@example.test", w.nextIP)}
		}
	}
	blockedBefore := w.bobBlocked()

	r := w.send(method, path, body, cred)
	w.checked++

	live := user != "" && !cred.revoked && (cred.kind != kindPending || spec.policy == enrol)
	admin := user == "root"
	what := fmt.Sprintf("%s %s with %s (%s)", method, path, cred, user)
	page := !strings.HasPrefix(path, "/api/") && path != "/.well-known/jwks.json"
	wantStatus, wantCode, wantLocation := spec.ok, "", ""
	switch {
	case spec.policy == ownAuth:
	case spec.policy == pendingOnly:
		if cred.kind != kindPending {
			wantStatus, wantCode = http.StatusUnauthorized, "unauthenticated"
		}
	case cred.revoked && cred.kind == kindBearer:
		wantStatus, wantCode = http.StatusUnauthorized, "unauthenticated"
	case !live && spec.policy != public:
		if page && cred.kind != kindBearer { // a browser is sent to sign in
			wantStatus, wantLocation = http.StatusSeeOther, "/login"
			if method == "GET" {
				wantLocation += "?next=" + url.QueryEscape(path)
			}
		} else {
			wantStatus, wantCode = http.StatusUnauthorized, "unauthenticated"
		}
	case spec.policy == adminOnly && !admin:
		wantStatus, wantCode = http.StatusForbidden, "forbidden"
	case spec.policy == sessionOnly && cred.kind != kindSession:
		wantStatus, wantCode = http.StatusForbidden, "forbidden"
	case method == "GET" && path == "/": // public, but it looks at the caller
		wantLocation = "/login"
		if live {
			wantLocation = "/account"
		}
	}
	if _, form := body.(url.Values); page && (form || wantStatus == http.StatusForbidden) {
		wantCode = "" // an HTML error page (a form post, or a signed-in page)
	}
	if r.StatusCode != wantStatus {
		t.Errorf("%s: got %d %.200s, want %d (%s route)", what, r.StatusCode, r.body, wantStatus, spec.policy)
		return
	}
	if wantLocation != "" && r.Header.Get("Location") != wantLocation {
		t.Errorf("%s: Location %q, want %q", what, r.Header.Get("Location"), wantLocation)
	}
	if wantCode != "" {
		var e struct{ Error struct{ Code string } }
		if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code != wantCode {
			t.Errorf("%s: error code %q (%.100s), want %q", what, e.Error.Code, r.body, wantCode)
		}
	}
	if cred.revoked && cred.kind == kindBearer && spec.policy != ownAuth {
		if got := r.Header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
			t.Errorf("%s: WWW-Authenticate %q, want the RFC 6750 invalid_token challenge", what, got)
		}
	}
	refused := wantStatus == http.StatusUnauthorized || wantStatus == http.StatusForbidden || wantLocation == "/login" || strings.HasPrefix(wantLocation, "/login?")
	if refused && method != "GET" {
		// A refused request changed nothing.
		if spare != "" {
			if _, err := w.e.sessions.LiveSession(ctx, spare); err != nil {
				t.Errorf("%s was refused but signed out the target session: %v", what, err)
			}
		}
		if w.bobBlocked() != blockedBefore {
			t.Errorf("%s was refused but changed bob's blocked state", what)
		}
	}
	if !refused && spare != "" {
		if _, err := w.e.sessions.LiveSession(ctx, spare); err == nil {
			t.Errorf("%s answered %d but the target session is still live", what, r.StatusCode)
		}
	}
	if !refused && admin && strings.HasSuffix(path, "/block") && !w.bobBlocked() {
		t.Errorf("%s answered %d but bob is not blocked", what, r.StatusCode)
	}
}

func (w *walker) bobBlocked() bool {
	u, err := w.e.accounts.Lookup(context.Background(), "bob")
	if err != nil {
		w.t.Fatal(err)
	}
	return u.Blocked
}

// A dead access-token cookie (expired, or its session signed out elsewhere)
// is no credential, like a dead session cookie: the browser sends it with
// every request and the page cannot remove it (HttpOnly), so refusing the
// request would lock the user out of refresh and login until the browser
// closes. It still authenticates nothing (SEC-64); a Bearer header is never
// ignored that way (SEC-20, the walk above).
func TestTokenCookieStaleIsNoCredential(t *testing.T) {
	e := newEnv(t)
	spa := e.client()
	spa.signup("alice", pw)
	spa.want(spa.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw, "transport": "cookie"}), 200)
	spa.want(spa.do("GET", "/api/v1/me", nil), 200)

	// Without "remember me" the access cookie is a browser-session cookie:
	// it outlives its 15-minute token. The SPA's refresh must still work.
	e.clock.Add(16 * time.Minute)
	if r := spa.do("GET", "/api/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an expired access cookie: got %d, want 401", r.StatusCode)
	}
	spa.want(spa.do("POST", "/api/v1/token/refresh", map[string]any{}), 200)
	spa.want(spa.do("GET", "/api/v1/me", nil), 200)
	if len(e.events(sesame.EventBadToken)) == 0 {
		t.Error("SEC-55: the expired access cookie was not logged")
	}

	// The session is signed out from another device: the stale cookie
	// stays in this browser, which must still reach the login page and
	// sign in again.
	other := e.client()
	other.login("alice", pw, false)
	other.want(other.do("POST", "/api/v1/sessions/revoke-others", nil), 200)
	if r := spa.do("GET", "/api/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the access cookie of a signed-out session: got %d, want 401", r.StatusCode)
	}
	spa.want(spa.do("GET", "/login", nil, "Accept", "text/html"), 200)
	spa.want(spa.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw, "transport": "cookie"}), 200)
	spa.want(spa.do("GET", "/api/v1/me", nil), 200)
}
