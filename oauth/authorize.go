package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
)

// The authorization endpoint (RFC 6749 §4.1.1, OpenID Connect Core
// §3.1.2):
//
//   - client_id and redirect_uri are checked first: an unknown client or a
//     redirect_uri that is not exactly one of the client's is answered with
//     an error page and never redirected to (RFC 6749 §4.1.2.1, SEC-58);
//   - every later error goes back to the redirect_uri as error, state and
//     iss (RFC 9207);
//   - response_type is code only, response_mode query only; request,
//     request_uri and registration are not supported (their OIDC errors);
//   - PKCE is S256 only: plain is refused, and a public client must send a
//     code_challenge (RFC 9700 §2.1.1); a confidential client may omit it;
//   - resource (RFC 8707, repeatable) must be registered for the
//     deployment and the client, else invalid_target;
//   - prompt is none, login, consent or select_account (treated as
//     login: Sesame has one account per browser session, so choosing an
//     account is signing in again); max_age forces a new login when the
//     session's password proof is older; login_hint prefills the login
//     form; acr_values, claims, display and ui_locales are ignored;
//   - only a browser's cookie session is a single sign-on session: a
//     caller authenticated by a Bearer token or an access-token cookie
//     alone is sent to the login page like an anonymous one (with the
//     session cookie too, the cookie session is used).
//
// A forced login (prompt=login, select_account, or max_age) sends the
// browser to LoginPath?prompt=login&next=<this request> where next no
// longer asks for the login but carries login_after=<time>.<MAC>: the
// time of the request, MACed with RequestKey and bound to the client. A
// request carrying login_after goes on only when the marker is Sesame's
// for this client, younger than 10 minutes, and the session signed in at
// or after its time; otherwise (the user came back without signing in,
// or edited, moved back or reused the marker) the user is sent to sign in
// again. The marker ends the loop a stripped prompt=login would
// otherwise not. Nothing stops a user from deleting prompt=login, or the
// marker, from the URL before it reaches Sesame (it is the user's
// browser): a relying party that needs a fresh login must check auth_time
// in the ID token (OIDC Core §3.1.2.1).

// Limits on single request parameters: longer is invalid_request.
const (
	maxAuthParamLen = 2048 // state, nonce, login_hint, max_age, ...
	maxScopeLen     = 1024
	maxResources    = 10
	loginMarkerTTL  = 10 * time.Minute
	consentTTL      = 10 * time.Minute
	paramLoginAfter = "login_after"
)

// authRequest is a validated authorization request, carried through the
// consent form (JSON inside a MACed envelope).
type authRequest struct {
	ClientID      string   `json:"client_id"`
	RedirectURI   string   `json:"redirect_uri"`
	Scope         []string `json:"scope,omitempty"`
	State         string   `json:"state,omitempty"`
	Nonce         string   `json:"nonce,omitempty"`
	CodeChallenge string   `json:"code_challenge,omitempty"`
	Resources     []string `json:"resource,omitempty"`
}

// authError is an error to send back to the client's redirect_uri.
type authError struct {
	code, description string
}

func (p *Provider) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	params, err := authorizeParams(r)
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "The authorization request could not be read.")
		return
	}
	ctx := r.Context()
	client, redirectURI, ok := p.checkClient(w, r, params)
	if !ok {
		return
	}
	// From here on, errors go back to the client.
	state := ""
	if len(params["state"]) == 1 {
		state = params.Get("state")
	}
	fail := func(code, desc string) {
		p.redirectError(w, r, redirectURI, state, authError{code, desc})
	}
	req, prompt, maxAge, aerr := p.parseAuthorize(client, params)
	if aerr != nil {
		fail(aerr.code, aerr.description)
		return
	}
	req.RedirectURI = redirectURI

	// The single sign-on session: a browser's cookie session only.
	sess, signedIn := browserSession(ctx)
	if signedIn {
		if err := p.cfg.Accounts.CheckUser(ctx, sess.UserID, sess.CreatedAt); err != nil {
			switch sesame.ErrorCode(err) {
			case sesame.EUnauthenticated, sesame.EForbidden, sesame.ENotFound:
				signedIn = false // blocked, deleted, or signed in before a block or reset
			default:
				fail("temporarily_unavailable", "the user store is unavailable")
				return
			}
		}
	}
	now := p.cfg.Clock.Now()
	if !signedIn && r.Method == http.MethodPost {
		// A relying party's auto-submitted cross-site POST carries no
		// SameSite=Lax session cookie: ask again as a GET (a top-level
		// navigation, which carries it), so that a signed-in user is not
		// asked to sign in again.
		p.authRedirect(w, r, PathAuthorize+"?"+params.Encode())
		return
	}
	if !signedIn {
		if prompt["none"] {
			fail("login_required", "the user is not signed in")
			return
		}
		p.toLogin(w, r, client.ID, params, false)
		return
	}
	authTime := sess.AuthTime
	if authTime.IsZero() {
		authTime = sess.CreatedAt
	}
	forced := prompt["login"] || prompt["select_account"] ||
		maxAge >= 0 && now.Sub(authTime) > time.Duration(maxAge)*time.Second
	if params.Has(paramLoginAfter) {
		// The request was sent to sign in again at time at: it goes on
		// only once the session's sign-in is that recent, and while the
		// marker is fresh; an old, forged or other client's marker sends
		// the user to sign in again, with a new one.
		at, fresh, ok := p.loginMarker(client.ID, params.Get(paramLoginAfter), now)
		forced = !ok || !fresh || authTime.Unix() < at
	}
	if forced {
		if prompt["none"] {
			fail("login_required", "the user must sign in again")
			return
		}
		p.toLogin(w, r, client.ID, params, true)
		return
	}

	granted, err := p.consentCovers(ctx, client, sess.UserID, req)
	if err != nil {
		fail("temporarily_unavailable", "consents cannot be read now")
		return
	}
	if !granted || prompt["consent"] {
		if prompt["none"] {
			fail("consent_required", "the user has not granted the client access")
			return
		}
		p.showConsent(w, r, client, sess, req)
		return
	}
	p.issueCode(w, r, client, sess, req)
}

// requestParams returns the request's parameters: the query of a GET, the
// form body of a POST (OIDC Core §3.1.2.1). A malformed query or body is
// an error.
func authorizeParams(r *http.Request) (url.Values, error) {
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.PostForm, nil
	}
	return url.ParseQuery(r.URL.RawQuery)
}

// checkClient finds the client and checks redirect_uri; on failure it
// renders the error page (never a redirect: SEC-58) and returns false.
func (p *Provider) checkClient(w http.ResponseWriter, r *http.Request, params url.Values) (*Client, string, bool) {
	ids, uris := params["client_id"], params["redirect_uri"]
	switch {
	case len(ids) != 1 || ids[0] == "":
		p.errorPage(w, r, http.StatusBadRequest, "The request names no client (client_id), or more than one.")
		return nil, "", false
	case len(uris) != 1 || uris[0] == "":
		p.errorPage(w, r, http.StatusBadRequest, "The request has no redirect_uri, or more than one.")
		return nil, "", false
	case len(ids[0]) > maxAuthParamLen || len(uris[0]) > maxAuthParamLen:
		p.errorPage(w, r, http.StatusBadRequest, "The request's client_id or redirect_uri is too long.")
		return nil, "", false
	}
	client, err := p.cfg.Registry.Client(r.Context(), ids[0])
	if err != nil {
		if errors.Is(err, sesame.ErrNotFound) {
			p.errorPage(w, r, http.StatusBadRequest, "The application is not registered with Sesame (unknown client_id).")
		} else {
			p.cfg.Logger.Error("oauth: read client", "err", err)
			p.errorPage(w, r, http.StatusServiceUnavailable, "Sesame cannot read its client registry now; try again later.")
		}
		return nil, "", false
	}
	if !client.HasRedirectURI(uris[0]) {
		p.errorPage(w, r, http.StatusBadRequest, "The redirect_uri is not registered for this application.")
		return nil, "", false
	}
	return client, uris[0], true
}

// parseAuthorize checks everything but the client and redirect URI.
// maxAge is -1 when absent.
func (p *Provider) parseAuthorize(client *Client, params url.Values) (*authRequest, map[string]bool, int64, *authError) {
	invalid := func(desc string) (*authRequest, map[string]bool, int64, *authError) {
		return nil, nil, 0, &authError{"invalid_request", desc}
	}
	for k, v := range params {
		if k != "resource" && len(v) > 1 {
			return invalid("the parameter " + paramNameForError(k) + " is repeated")
		}
		if k != "resource" && k != "scope" && len(v[0]) > maxAuthParamLen {
			return invalid("the parameter " + paramNameForError(k) + " is too long")
		}
	}
	switch {
	case params.Has("request"):
		return nil, nil, 0, &authError{"request_not_supported", "request objects are not supported"}
	case params.Has("request_uri"):
		return nil, nil, 0, &authError{"request_uri_not_supported", "request_uri is not supported"}
	case params.Has("registration"):
		return nil, nil, 0, &authError{"registration_not_supported", "registration is not supported"}
	}
	switch rt := params.Get("response_type"); rt {
	case "code":
	case "":
		return invalid("response_type is missing")
	default:
		return nil, nil, 0, &authError{"unsupported_response_type", "only response_type=code is supported"}
	}
	if rm := params.Get("response_mode"); rm != "" && rm != "query" {
		return invalid("only response_mode=query is supported")
	}
	if !client.AllowsGrant(GrantAuthorizationCode) {
		return nil, nil, 0, &authError{"unauthorized_client", "the client may not use the authorization code grant"}
	}
	req := &authRequest{ClientID: client.ID, State: params.Get("state"), Nonce: params.Get("nonce")}

	scope := params.Get("scope")
	if len(scope) > maxScopeLen {
		return invalid("scope is too long")
	}
	for _, s := range strings.Split(scope, " ") {
		if s == "" {
			continue
		}
		if !validScopeToken(s) {
			return nil, nil, 0, &authError{"invalid_scope", "a scope value has a character RFC 6749 §3.3 forbids"}
		}
		if !slices.Contains(client.Scopes, s) {
			return nil, nil, 0, &authError{"invalid_scope", "the client may not ask for the scope " + s}
		}
		if !slices.Contains(req.Scope, s) {
			req.Scope = append(req.Scope, s)
		}
	}

	// PKCE (RFC 7636, RFC 9700 §2.1.1): S256 only.
	challenge, method := params.Get("code_challenge"), params.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		return invalid("code_challenge_method without code_challenge")
	case challenge == "" && client.Public:
		return invalid("a public client must use PKCE: code_challenge with code_challenge_method=S256")
	case challenge != "" && method != "S256":
		return invalid("code_challenge_method must be S256 (plain is not accepted)")
	case challenge != "" && !validChallenge(challenge):
		return invalid("code_challenge must be the base64url SHA-256 of the verifier (43 characters)")
	}
	req.CodeChallenge = challenge

	res := params["resource"]
	if len(res) > maxResources {
		return invalid("too many resource values")
	}
	for _, u := range res {
		if !slices.Contains(p.cfg.Resources, u) || (len(client.Resources) > 0 && !slices.Contains(client.Resources, u)) {
			return nil, nil, 0, &authError{"invalid_target", "the resource is not registered for this client"}
		}
		if !slices.Contains(req.Resources, u) {
			req.Resources = append(req.Resources, u)
		}
	}

	prompt := map[string]bool{}
	for _, v := range strings.Split(params.Get("prompt"), " ") {
		switch v {
		case "":
		case "none", "login", "consent", "select_account":
			prompt[v] = true
		default:
			return invalid("unknown prompt value")
		}
	}
	if prompt["none"] && len(prompt) > 1 {
		return invalid("prompt=none cannot be combined with other values")
	}
	maxAge := int64(-1)
	if v := params.Get("max_age"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return invalid("max_age must be a non-negative integer")
		}
		maxAge = min(n, 1<<32)
	}
	return req, prompt, maxAge, nil
}

// safeName returns a parameter name fit to be echoed in an error
// description.
func paramNameForError(k string) string {
	if len(k) > 40 {
		return "(a long name)"
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return "(a parameter)"
		}
	}
	return k
}

// validScopeToken checks RFC 6749 §3.3's scope-token: %x21 / %x23-5B /
// %x5D-7E.
func validScopeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// validChallenge checks an S256 code challenge: 43 base64url characters.
func validChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// browserSession returns the request's signed-in cookie session, whatever
// else the request carries: a Bearer token or an access-token cookie is
// no single sign-on session, but it does not hide the browser's session
// cookie either (a browser with both, a same-site app's access cookie
// beside the Sesame session, was sent to sign in again for ever, and its
// RP-initiated logout redirected as if done while the session lived on).
func browserSession(ctx context.Context) (session.Info, bool) {
	return session.Current(ctx)
}

// toLogin sends the browser to the login page (with prompt=login when a
// signed-in user must sign in again), to come back to this authorization
// request (as a GET, whatever its method), no longer asking for a login
// but carrying the login marker.
func (p *Provider) toLogin(w http.ResponseWriter, r *http.Request, clientID string, params url.Values, again bool) {
	next := url.Values{}
	for k, v := range params {
		switch k {
		case paramLoginAfter:
		case "prompt":
			var keep []string
			for _, x := range strings.Split(v[0], " ") {
				if x != "" && x != "login" && x != "select_account" {
					keep = append(keep, x)
				}
			}
			if len(keep) > 0 {
				next.Set("prompt", strings.Join(keep, " "))
			}
		default:
			next[k] = v
		}
	}
	next.Set(paramLoginAfter, p.newLoginMarker(clientID, p.cfg.Clock.Now()))
	q := url.Values{}
	q.Set("next", PathAuthorize+"?"+next.Encode())
	if again {
		q.Set("prompt", "login")
	}
	if h := params.Get("login_hint"); h != "" && len(h) <= sesame.MaxUsernameBytes {
		q.Set("login_hint", h)
	}
	p.authRedirect(w, r, p.cfg.LoginPath+"?"+q.Encode())
}

// newLoginMarker returns "<unix time>.<MAC>" for login_after.
func (p *Provider) newLoginMarker(clientID string, now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	return ts + "." + p.requestMAC("login_after", clientID+"\x00"+ts)[:22]
}

// loginMarker checks a login_after value: ok when Sesame made it for the
// client, with its time, and fresh while it is younger than
// loginMarkerTTL.
func (p *Provider) loginMarker(clientID, v string, now time.Time) (at int64, fresh, ok bool) {
	ts, mac, found := strings.Cut(v, ".")
	if !found || len(ts) > 20 {
		return 0, false, false
	}
	want := p.requestMAC("login_after", clientID+"\x00"+ts)[:22]
	if !hmac.Equal([]byte(mac), []byte(want)) {
		return 0, false, false
	}
	at, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return 0, false, false
	}
	return at, now.Sub(time.Unix(at, 0)) <= loginMarkerTTL, true
}

// mac returns the base64url HMAC-SHA256 of msg under a key derived from
// RequestKey for purpose.
func (p *Provider) requestMAC(purpose, msg string) string {
	k := hmac.New(sha256.New, p.cfg.RequestKey)
	k.Write([]byte("sesame oauth " + purpose))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// consentCovers reports whether the client needs no consent for req: it
// is first-party, or the user granted it every scope and every resource
// asked (the consent page shows both).
func (p *Provider) consentCovers(ctx context.Context, client *Client, userID string, req *authRequest) (bool, error) {
	if client.FirstParty {
		return true, nil
	}
	c, err := p.cfg.Store.Consent(ctx, userID, client.ID)
	if errors.Is(err, sesame.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, s := range consentItems(req) {
		if !slices.Contains(c.Scopes, s) {
			return false, nil
		}
	}
	return true, nil
}

// consentItems are what a consent to req grants, as stored in
// [Consent.Scopes]: its scopes, and its resources as "resource <URI>".
func consentItems(req *authRequest) []string {
	items := slices.Clone(req.Scope)
	for _, res := range req.Resources {
		items = append(items, consentResourcePrefix+res)
	}
	return items
}

// consentResourcePrefix marks a resource in [Consent.Scopes]: no scope
// token holds a space.
const consentResourcePrefix = "resource "

// sealedRequest is the consent form's hidden "request": the request bound
// to the session that saw the page, until Exp.
type sealedRequest struct {
	SessionID string       `json:"sid"`
	Exp       int64        `json:"exp"`
	Req       *authRequest `json:"req"`
}

func (p *Provider) sealRequest(sid string, req *authRequest, now time.Time) string {
	b, _ := json.Marshal(sealedRequest{SessionID: sid, Exp: now.Add(consentTTL).Unix(), Req: req})
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + p.requestMAC("consent", payload)
}

var errBadRequestSeal = errors.New("the authorization request is not valid")

// openRequest checks a sealed request: its MAC, its expiry and its
// session.
func (p *Provider) openRequest(v, sid string, now time.Time) (*authRequest, error) {
	payload, mac, ok := strings.Cut(v, ".")
	if !ok || len(v) > 32<<10 || !hmac.Equal([]byte(mac), []byte(p.requestMAC("consent", payload))) {
		return nil, errBadRequestSeal
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, errBadRequestSeal
	}
	var s sealedRequest
	if err := json.Unmarshal(b, &s); err != nil || s.Req == nil {
		return nil, errBadRequestSeal
	}
	if s.SessionID == "" || s.SessionID != sid {
		return nil, errors.New("the authorization request was made in another session")
	}
	if now.Unix() >= s.Exp {
		return nil, errors.New("the authorization request has expired")
	}
	return s.Req, nil
}

// showConsent renders the consent page.
func (p *Provider) showConsent(w http.ResponseWriter, r *http.Request, client *Client, sess session.Info, req *authRequest) {
	username := ""
	if u, err := p.cfg.Accounts.Users.UserByID(r.Context(), sess.UserID); err == nil {
		username = u.Username
	}
	name := client.Name
	if name == "" {
		name = client.ID
	}
	p.cfg.RenderConsent(w, r, ConsentView{
		ClientID: client.ID, ClientName: name,
		Scopes: slices.Clone(req.Scope), Resources: slices.Clone(req.Resources),
		Request:  p.sealRequest(sess.ID, req, p.cfg.Clock.Now()),
		Username: username, RedirectURI: req.RedirectURI,
	})
}

// handleConsent is POST /oauth2/authorize/consent (the server checks its
// CSRF token): the user's answer to the consent page.
func (p *Provider) handleConsent(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	sealed := r.PostForm.Get("request")
	if _, err := p.openRequest(sealed, "", p.cfg.Clock.Now()); errors.Is(err, errBadRequestSeal) {
		p.errorPage(w, r, http.StatusBadRequest, err.Error()+": return to the application and try again.")
		return
	}
	sess, ok := browserSession(r.Context())
	if !ok {
		p.errorPage(w, r, http.StatusUnauthorized, "You are not signed in: return to the application and try again.")
		return
	}
	req, err := p.openRequest(sealed, sess.ID, p.cfg.Clock.Now())
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, err.Error()+": return to the application and try again.")
		return
	}
	// The client may have changed since the page was shown.
	client, err := p.cfg.Registry.Client(r.Context(), req.ClientID)
	if err != nil || !client.HasRedirectURI(req.RedirectURI) {
		p.errorPage(w, r, http.StatusBadRequest, "The application is no longer registered with Sesame.")
		return
	}
	for _, sc := range req.Scope {
		if !slices.Contains(client.Scopes, sc) {
			p.redirectError(w, r, req.RedirectURI, req.State, authError{"invalid_scope", "the client may no longer ask for the scope " + sc})
			return
		}
	}
	for _, u := range req.Resources {
		if !slices.Contains(p.cfg.Resources, u) || (len(client.Resources) > 0 && !slices.Contains(client.Resources, u)) {
			p.redirectError(w, r, req.RedirectURI, req.State, authError{"invalid_target", "the resource is no longer registered for this client"})
			return
		}
	}
	switch r.PostForm.Get("decision") {
	case "allow":
	case "deny":
		p.redirectError(w, r, req.RedirectURI, req.State, authError{"access_denied", "the user denied the request"})
		return
	default:
		p.errorPage(w, r, http.StatusBadRequest, "The form has no decision.")
		return
	}
	if err := p.cfg.Accounts.CheckUser(r.Context(), sess.UserID, sess.CreatedAt); err != nil {
		code := "login_required" // blocked, deleted, or signed in before a block or reset
		if c := sesame.ErrorCode(err); c != sesame.EUnauthenticated && c != sesame.EForbidden && c != sesame.ENotFound {
			code = "temporarily_unavailable"
		}
		p.redirectError(w, r, req.RedirectURI, req.State, authError{code, "the user cannot be signed in"})
		return
	}
	if !client.FirstParty {
		scopes := consentItems(req)
		if old, err := p.cfg.Store.Consent(r.Context(), sess.UserID, client.ID); err == nil {
			for _, s := range old.Scopes {
				if !slices.Contains(scopes, s) {
					scopes = append(scopes, s)
				}
			}
		}
		c := &Consent{UserID: sess.UserID, ClientID: client.ID, Scopes: scopes, GrantedAt: p.cfg.Clock.Now().UTC()}
		if err := p.cfg.Store.SaveConsent(r.Context(), c); err != nil {
			p.cfg.Logger.Error("oauth: save consent", "err", err)
			p.redirectError(w, r, req.RedirectURI, req.State, authError{"temporarily_unavailable", "the consent could not be saved"})
			return
		}
		p.auditBrowser(r, sesame.Event{Type: sesame.EventOAuthConsent, UserID: sess.UserID, SessionID: sess.ID, Reason: "client " + client.ID})
	}
	p.issueCode(w, r, client, sess, req)
}

// issueCode stores a new authorization code and sends it to the client.
func (p *Provider) issueCode(w http.ResponseWriter, r *http.Request, client *Client, sess session.Info, req *authRequest) {
	code := newAuthCode()
	now := p.cfg.Clock.Now().UTC()
	authTime := sess.AuthTime
	if authTime.IsZero() {
		authTime = sess.CreatedAt
	}
	c := &Code{
		Hash: CodeHash(code), ClientID: client.ID, UserID: sess.UserID, SessionID: sess.ID,
		RedirectURI: req.RedirectURI, Scope: strings.Join(req.Scope, " "), Resources: slices.Clone(req.Resources),
		Nonce: req.Nonce, CodeChallenge: req.CodeChallenge,
		AuthTime: authTime.UTC(), ACR: sess.ACR, AMR: slices.Clone(sess.AMR), // empty: the ID token says "1" and ["pwd"]
		CreatedAt: now, ExpiresAt: now.Add(p.cfg.CodeTTL),
	}
	if err := p.cfg.Store.CreateCode(r.Context(), c); err != nil {
		p.cfg.Logger.Error("oauth: store code", "err", err)
		p.redirectError(w, r, req.RedirectURI, req.State, authError{"temporarily_unavailable", "the authorization code could not be stored"})
		return
	}
	q := url.Values{}
	q.Set("code", code)
	if req.State != "" {
		q.Set("state", req.State)
	}
	q.Set("iss", p.cfg.Issuer)
	p.authRedirect(w, r, withQuery(req.RedirectURI, q))
}

// newCode returns a new authorization code: 256 random bits, base64url.
func newAuthCode() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// AuthorizeRedirectURI returns the redirect_uri of the authorization
// request at next, a local path and query such as the login page's next
// ("/oauth2/authorize?client_id=...&redirect_uri=..."), when it names a
// registered client and one of its redirect URIs; "" otherwise. The login
// page allows its origin in its CSP form-action: the login form's answer
// leads, through this endpoint, to the client.
func (p *Provider) AuthorizeRedirectURI(ctx context.Context, next string) string {
	path, query, ok := strings.Cut(next, "?")
	if !ok || path != PathAuthorize {
		return ""
	}
	q, err := url.ParseQuery(query)
	if err != nil || len(q["client_id"]) != 1 || len(q["redirect_uri"]) != 1 {
		return ""
	}
	c, err := p.cfg.Registry.Client(ctx, q.Get("client_id"))
	if err != nil || !c.HasRedirectURI(q.Get("redirect_uri")) {
		return ""
	}
	return q.Get("redirect_uri")
}

// CodeHash is the hash under which an authorization code is stored
// ([Code.Hash]): its SHA-256.
func CodeHash(code string) [32]byte { return sha256.Sum256([]byte(code)) }

// redirectError sends an authorization error to the client's redirect
// URI (RFC 6749 §4.1.2.1), with iss (RFC 9207).
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, redirectURI, state string, e authError) {
	q := url.Values{}
	q.Set("error", e.code)
	if e.description != "" {
		q.Set("error_description", e.description)
	}
	if state != "" {
		q.Set("state", state)
	}
	q.Set("iss", p.cfg.Issuer)
	p.authRedirect(w, r, withQuery(redirectURI, q))
}

// withQuery adds q to uri's query, keeping the query it has (RFC 6749
// §3.1.2) and dropping any fragment.
func withQuery(uri string, q url.Values) string {
	uri, _, _ = strings.Cut(uri, "#")
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
		if strings.HasSuffix(uri, "?") || strings.HasSuffix(uri, "&") {
			sep = ""
		}
	}
	return uri + sep + q.Encode()
}

// redirect answers 303 to a POST (so that the browser does not post the
// form again), 302 otherwise.
func (p *Provider) authRedirect(w http.ResponseWriter, r *http.Request, to string) {
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, status)
}

// renderError renders the error page.
func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if p.cfg.RenderError == nil {
		http.Error(w, msg, status)
		return
	}
	p.cfg.RenderError(w, r, status, msg)
}

func (p *Provider) auditBrowser(r *http.Request, e sesame.Event) {
	if p.cfg.Events == nil {
		return
	}
	e.Time = p.cfg.Clock.Now().UTC()
	e.UserAgent = r.UserAgent()
	if len(e.UserAgent) > 256 {
		e.UserAgent = e.UserAgent[:256]
	}
	p.cfg.Events.Emit(r.Context(), e)
}
