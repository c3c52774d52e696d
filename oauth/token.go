package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// The token endpoint, POST /oauth2/token (RFC 6749 §3.2, §4.1.3, §4.4,
// §6; OpenID Connect Core §3.1.3, §12).
//
// The body is form-encoded (anything else, a malformed or oversized body,
// or a repeated parameter is 400 invalid_request), the client
// authenticates with its registered method ([Provider.authenticateClient]),
// and the answer is never cached. Grants:
//
//   - authorization_code: the code is redeemed once (a second redemption
//     fails with invalid_grant and ends the session the code was issued
//     from, which stops every token the first redemption issued: RFC 6749
//     §4.1.2, SEC-58), by the client it was issued to, with the same
//     redirect_uri, with the PKCE verifier of its challenge (S256 only; a
//     code issued without a challenge refuses a verifier), while its
//     session lives. The code is used up by the first attempt to redeem
//     it, even one that fails these checks (another client, a wrong
//     verifier): an attacker who tries a stolen code makes the rightful
//     client's redemption a reuse, which ends the session, the safe
//     outcome. The answer carries an access token, a refresh token
//     (when the client may use the refresh_token grant) and, for the
//     openid scope, an ID token.
//   - refresh_token: the refresh token must have been issued to the
//     client (SEC-58); scope and resource may narrow, never widen. A new
//     ID token comes with the openid scope (without nonce).
//   - client_credentials: confidential clients only; the access token's
//     sub and client_id are the client's, it has no session, no refresh
//     token and no ID token.
//
// Access-token audiences (RFC 8707): the resources asked for (each one
// registered in Config.Resources and allowed to the client, else
// invalid_target) plus <issuer>/oauth2/userinfo when the scope has openid;
// with neither, <issuer>/oauth2/userinfo alone. A token issued here never
// has the issuer as its audience, so it never works against Sesame's own
// /api/v1.

// tokenResponse is the successful answer (RFC 6749 §5.1, OpenID Connect
// Core §3.1.3.3).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	allowAnyOrigin(w)
	form, e := readForm(w, r)
	if e != nil {
		writeJSONError(w, e)
		return
	}
	client, e := p.authenticateClient(r, form)
	if e != nil {
		writeJSONError(w, e)
		return
	}
	var resp *tokenResponse
	switch grant := form.Get("grant_type"); grant {
	case "":
		e = errorf(http.StatusBadRequest, "invalid_request", "grant_type is required")
	case GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials:
		if !client.AllowsGrant(grant) {
			e = errorf(http.StatusBadRequest, "unauthorized_client", "the client may not use this grant type")
			break
		}
		switch grant {
		case GrantAuthorizationCode:
			resp, e = p.codeGrant(r.Context(), client, form)
		case GrantRefreshToken:
			resp, e = p.refreshGrant(r.Context(), client, form)
		default:
			resp, e = p.clientCredentialsGrant(r.Context(), client, form)
		}
	default:
		e = errorf(http.StatusBadRequest, "unsupported_grant_type", "unsupported grant_type")
	}
	if e != nil {
		writeJSONError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func invalidGrant(description string) *Error {
	return errorf(http.StatusBadRequest, "invalid_grant", description)
}

// codeGrant exchanges an authorization code (RFC 6749 §4.1.3).
func (p *Provider) codeGrant(ctx context.Context, client *Client, form url.Values) (*tokenResponse, *Error) {
	raw := form.Get("code")
	if raw == "" {
		return nil, errorf(http.StatusBadRequest, "invalid_request", "code is required")
	}
	verifier, hasVerifier := form.Get("code_verifier"), form.Has("code_verifier")
	if hasVerifier && !validVerifier(verifier) {
		return nil, errorf(http.StatusBadRequest, "invalid_request", "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
	}
	now := p.cfg.Clock.Now()
	code, err := p.cfg.Store.RedeemCode(ctx, sha256.Sum256([]byte(raw)), now)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		return nil, invalidGrant("the code is invalid, expired or used")
	case errors.Is(err, sesame.ErrConflict) || sesame.ErrorCode(err) == sesame.EConflict:
		return nil, p.codeReused(ctx, code)
	case err != nil:
		return nil, p.internal(ctx, "redeem code", err)
	}
	switch {
	case !now.Before(code.ExpiresAt):
		return nil, invalidGrant("the code is invalid, expired or used")
	case code.ClientID != client.ID:
		return nil, invalidGrant("the code was issued to another client")
	case form.Get("redirect_uri") != code.RedirectURI:
		return nil, invalidGrant("redirect_uri differs from the authorization request's")
	case code.CodeChallenge == "" && hasVerifier:
		return nil, invalidGrant("the authorization request had no code_challenge")
	case code.CodeChallenge == "" && client.Public:
		// The authorization endpoint requires S256 of a public client;
		// this is the same rule, checked again where it matters.
		return nil, invalidGrant("a public client's code needs PKCE")
	case code.CodeChallenge != "" && !hasVerifier:
		return nil, invalidGrant("code_verifier is required")
	case code.CodeChallenge != "" && !pkceMatches(verifier, code.CodeChallenge):
		return nil, invalidGrant("code_verifier does not match the code_challenge")
	}
	aud, e := p.audience(client, form["resource"], code.Resources, code.Scope)
	if e != nil {
		return nil, e
	}
	sess, err := p.cfg.Sessions.LiveSession(ctx, code.SessionID)
	if errors.Is(err, session.ErrSessionRevoked) || (err == nil && sess.UserID != code.UserID) {
		return nil, invalidGrant("the session the code was issued from has ended")
	}
	if err != nil {
		return nil, p.internal(ctx, "session of a code", err)
	}
	if e := p.checkUser(ctx, sess.UserID, sess.CreatedAt); e != nil {
		return nil, e
	}
	if err := p.trackSession(ctx, client, sess.ID, sess.UserID); err != nil {
		return nil, p.internal(ctx, "logout target", err)
	}
	pair, err := p.cfg.Tokens.IssueWith(ctx, sess, token.IssueOptions{ClientID: client.ID, Scope: code.Scope, Audience: aud})
	if err != nil {
		return nil, p.tokenError(ctx, err)
	}
	resp := p.pairResponse(client, pair)
	if scopeContains(pair.Scope, "openid") {
		resp.IDToken, e = p.idToken(idTokenParams{
			client: client, userID: sess.UserID, sessionID: sess.ID, authTime: code.AuthTime,
			nonce: code.Nonce, acr: code.ACR, amr: code.AMR, accessToken: pair.AccessToken,
		})
		if e != nil {
			return nil, e
		}
	}
	return resp, nil
}

// codeReused answers the second redemption of a code: it ends the session
// the code was issued from, so that the tokens the first redemption issued
// (bound to it) stop working at once (RFC 6749 §4.1.2, SEC-58).
func (p *Provider) codeReused(ctx context.Context, code *Code) *Error {
	if code == nil || code.SessionID == "" {
		p.cfg.Logger.ErrorContext(ctx, "oauth: the store reported a reused code without the code")
		return invalidGrant("the code is invalid, expired or used")
	}
	if _, err := p.cfg.Sessions.Revoke(ctx, code.SessionID, "code_reuse"); err != nil {
		return p.internal(ctx, "revoke the session of a reused code", err)
	}
	p.cfg.Logger.WarnContext(ctx, "oauth: an authorization code was redeemed twice; its session was ended", "client_id", code.ClientID)
	return invalidGrant("the code is invalid, expired or used")
}

// refreshGrant rotates a refresh token (RFC 6749 §6).
func (p *Provider) refreshGrant(ctx context.Context, client *Client, form url.Values) (*tokenResponse, *Error) {
	tok := form.Get("refresh_token")
	if tok == "" {
		return nil, errorf(http.StatusBadRequest, "invalid_request", "refresh_token is required")
	}
	scope := canonicalScope(form.Get("scope"))
	var aud []string
	if resources := form["resource"]; len(resources) > 0 {
		for _, res := range resources {
			if !p.resourceAllowed(client, res) {
				return nil, errorf(http.StatusBadRequest, "invalid_target", "resource is not registered for this client")
			}
		}
		aud = slices.Clone(resources)
		// The userinfo audience goes with the openid scope: it stays when
		// the family has it and the (narrowed) scope keeps openid.
		rec, err := p.refreshRecord(ctx, tok)
		if err != nil {
			return nil, p.internal(ctx, "refresh token", err)
		}
		if rec != nil {
			effective := scope
			if effective == "" {
				effective = rec.Scope
			}
			if scopeContains(effective, "openid") && slices.Contains(rec.Audience, p.userinfoURL()) {
				aud = append(aud, p.userinfoURL())
			}
		}
		aud = uniq(aud)
	}
	// A blocked user's refresh token is refused here too, whether or not
	// the token service was given a CheckUser (SEC-13). A first-party
	// family (no audience of its own: Sesame's /api/v1 tokens, whose
	// client_id is whatever the login named) is never an OAuth client's,
	// even when it names one: refreshing it here would mint aud = issuer.
	if rec, err := p.refreshRecord(ctx, tok); err != nil {
		return nil, p.internal(ctx, "refresh token", err)
	} else if rec != nil {
		if len(rec.Audience) == 0 {
			return nil, invalidGrant("the refresh token is invalid, expired or used")
		}
		if e := p.checkUser(ctx, rec.UserID, rec.CreatedAt); e != nil {
			return nil, e
		}
	}
	pair, err := p.cfg.Tokens.RefreshWith(ctx, tok, token.RefreshOptions{ClientID: client.ID, Scope: scope, Audience: aud})
	if err != nil {
		return nil, p.tokenError(ctx, err)
	}
	resp := p.pairResponse(client, pair)
	if scopeContains(pair.Scope, "openid") {
		c, ok := unverifiedAccessClaims(pair.AccessToken)
		if !ok {
			return nil, p.internal(ctx, "read a fresh access token", errors.New("unreadable access token"))
		}
		sess, err := p.cfg.Sessions.LiveSession(ctx, c.SessionID)
		if errors.Is(err, session.ErrSessionRevoked) {
			return nil, invalidGrant("the session has ended")
		}
		if err != nil {
			return nil, p.internal(ctx, "session of a refresh token", err)
		}
		authTime := sess.AuthTime // the original authentication's (OpenID Connect Core §12.2)
		if authTime.IsZero() {
			authTime = sess.CreatedAt // as the authorization endpoint wrote it in the code
		}
		var e *Error
		resp.IDToken, e = p.idToken(idTokenParams{
			client: client, userID: c.Subject, sessionID: c.SessionID, authTime: authTime,
			accessToken: pair.AccessToken,
		})
		if e != nil {
			return nil, e
		}
	}
	return resp, nil
}

// clientCredentialsGrant issues a client its own access token (RFC 6749
// §4.4). Public clients never get one. Without resource, the token is for
// every resource the client may ask for; a client allowed none gets
// invalid_target. The openid and offline_access scopes have no meaning
// without a user and are invalid_scope.
func (p *Provider) clientCredentialsGrant(ctx context.Context, client *Client, form url.Values) (*tokenResponse, *Error) {
	if client.Public {
		return nil, errorf(http.StatusBadRequest, "unauthorized_client", "a public client may not use client_credentials")
	}
	scope := canonicalScope(form.Get("scope"))
	for s := range strings.FieldsSeq(scope) {
		if s == "openid" || s == "offline_access" || !slices.Contains(client.Scopes, s) {
			return nil, errorf(http.StatusBadRequest, "invalid_scope", "scope is not allowed for this client and grant")
		}
	}
	resources := form["resource"]
	for _, res := range resources {
		if !p.resourceAllowed(client, res) {
			return nil, errorf(http.StatusBadRequest, "invalid_target", "resource is not registered for this client")
		}
	}
	if len(resources) == 0 {
		resources = p.clientResources(client)
	}
	if len(resources) == 0 {
		return nil, errorf(http.StatusBadRequest, "invalid_target", "the client may ask tokens for no resource")
	}
	pair, err := p.cfg.Tokens.ClientCredentials(ctx, client.ID, scope, uniq(resources), p.cfg.ClientCredentialsTTL)
	if err != nil {
		return nil, p.tokenError(ctx, err)
	}
	return &tokenResponse{AccessToken: pair.AccessToken, TokenType: "Bearer", ExpiresIn: pair.ExpiresIn, Scope: pair.Scope}, nil
}

// pairResponse is the answer for pair; the refresh token is left out when
// the client may not use the refresh_token grant.
func (p *Provider) pairResponse(client *Client, pair *token.Pair) *tokenResponse {
	resp := &tokenResponse{AccessToken: pair.AccessToken, TokenType: "Bearer", ExpiresIn: pair.ExpiresIn, Scope: pair.Scope}
	if client.AllowsGrant(GrantRefreshToken) {
		resp.RefreshToken = pair.RefreshToken
	}
	return resp
}

// audience is the aud of an access token issued from a code: the resources
// the token request names (each granted by the code), else those the code
// granted, each still registered and allowed to the client; plus the
// userinfo endpoint when the scope has openid, or alone when there is
// nothing else (design point 2).
func (p *Provider) audience(client *Client, asked, granted []string, scope string) ([]string, *Error) {
	resources := granted
	if len(asked) > 0 {
		for _, res := range asked {
			if !slices.Contains(granted, res) {
				return nil, errorf(http.StatusBadRequest, "invalid_target", "resource was not granted by the authorization request")
			}
		}
		resources = asked
	}
	var aud []string
	for _, res := range resources {
		if !p.resourceAllowed(client, res) {
			return nil, errorf(http.StatusBadRequest, "invalid_target", "resource is not registered for this client")
		}
		aud = append(aud, res)
	}
	if scopeContains(scope, "openid") || len(aud) == 0 {
		aud = append(aud, p.userinfoURL())
	}
	return uniq(aud), nil
}

// resourceAllowed reports whether res is a registered resource the client
// may ask tokens for.
func (p *Provider) resourceAllowed(client *Client, res string) bool {
	return slices.Contains(p.clientResources(client), res)
}

// clientResources are the registered resources the client may ask tokens
// for: those it lists that are registered, or every registered one when it
// lists none.
func (p *Provider) clientResources(client *Client) []string {
	if len(client.Resources) == 0 {
		return slices.Clone(p.cfg.Resources)
	}
	var out []string
	for _, res := range client.Resources {
		if slices.Contains(p.cfg.Resources, res) {
			out = append(out, res)
		}
	}
	return out
}

func (p *Provider) userinfoURL() string { return p.cfg.Issuer + PathUserinfo }

// tokenError maps an error of the token service to the OAuth error.
func (p *Provider) tokenError(ctx context.Context, err error) *Error {
	msg := sesame.ErrorMessage(err)
	switch {
	case errors.Is(err, token.ErrInvalidScope) || strings.HasPrefix(msg, "invalid_scope"):
		return errorf(http.StatusBadRequest, "invalid_scope", "the requested scope exceeds the granted scope")
	case errors.Is(err, token.ErrInvalidTarget) || strings.HasPrefix(msg, "invalid_target"):
		return errorf(http.StatusBadRequest, "invalid_target", "the requested resource exceeds the granted audience")
	case errors.Is(err, token.ErrInvalidGrant):
		return invalidGrant("the grant is invalid, expired or revoked")
	}
	switch sesame.ErrorCode(err) {
	case sesame.EUnauthenticated, sesame.EForbidden, sesame.ENotFound:
		return invalidGrant("the grant is invalid, expired or revoked")
	case sesame.EInvalid:
		return errorf(http.StatusBadRequest, "invalid_request", msg)
	}
	return p.internal(ctx, "token service", err)
}

// validVerifier reports whether v is a PKCE code_verifier: 43 to 128
// unreserved characters (RFC 7636 §4.1).
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// pkceMatches checks an S256 challenge (RFC 7636 §4.6), in constant time.
// plain is never accepted (SEC-58): the authorization endpoint refuses it
// and a stored challenge is always S256.
func pkceMatches(verifier, challenge string) bool {
	h := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(h[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// canonicalScope sorts and de-duplicates a space-separated scope.
func canonicalScope(scope string) string {
	f := strings.Fields(scope)
	slices.Sort(f)
	return strings.Join(slices.Compact(f), " ")
}

func scopeContains(scope, s string) bool {
	return slices.Contains(strings.Fields(scope), s)
}

func uniq(list []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// unverifiedAccessClaims reads the claims of an access token this process
// has just signed (never one a client sent).
func unverifiedAccessClaims(tok string) (*token.AccessClaims, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	var c token.AccessClaims
	if json.Unmarshal(payload, &c) != nil {
		return nil, false
	}
	return &c, true
}

// checkUser refuses (invalid_grant) tokens for a user who is blocked, gone,
// or whose credentials older than issued were ended (SEC-13): blocking is
// final at the token endpoint even when the block could not end every
// session, and even when the token service has no CheckUser.
func (p *Provider) checkUser(ctx context.Context, userID string, issued time.Time) *Error {
	switch err := p.cfg.Accounts.CheckUser(ctx, userID, issued); sesame.ErrorCode(err) {
	case "":
		return nil
	case sesame.EUnauthenticated, sesame.EForbidden, sesame.ENotFound:
		return invalidGrant("the user may no longer sign in")
	default:
		return p.internal(ctx, "user check", err)
	}
}
