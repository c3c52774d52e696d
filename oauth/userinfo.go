package oauth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/sesame-auth/sesame"
)

// The userinfo endpoint, GET or POST /oauth2/userinfo (OpenID Connect Core
// §5.3).
//
// The access token comes as a Bearer token (RFC 6750): in the
// Authorization header, or, on a POST, in the form-encoded body's
// access_token; never in the query string, and never both ways at once
// (invalid_request). It must verify for the audience
// <issuer>/oauth2/userinfo (which only tokens issued with the openid scope
// carry), have a session that is still live, and the openid scope. An ID
// token is not an access token (typ JWT, aud the client: SEC-59) and is
// refused like any other invalid token, as is a client_credentials token
// (no user).
//
// Claims, by scope: sub always; profile adds preferred_username, name
// (both the username: Sesame keeps no display name) and updated_at; groups
// adds groups (the user's groups now, [] for none). The email scope adds
// nothing yet: Sesame keeps no e-mail address (issue 15).
//
// Errors carry WWW-Authenticate: Bearer with the RFC 6750 §3.1 error code:
// no token is 401 without an error code, a bad token 401 invalid_token, a
// malformed request 400 invalid_request, a token without openid 403
// insufficient_scope.

func (p *Provider) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	allowAnyOrigin(w)
	tok, e := p.userinfoToken(w, r)
	if e != nil {
		writeBearerError(w, e)
		return
	}
	claims, e := p.userinfoClaims(r.Context(), tok)
	if e != nil {
		writeBearerError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, claims)
}

var (
	errNoBearer      = errorf(http.StatusUnauthorized, "", "")
	errInvalidBearer = errorf(http.StatusUnauthorized, "invalid_token", "the access token is invalid, expired or revoked")
)

// userinfoToken returns the request's access token.
func (p *Provider) userinfoToken(w http.ResponseWriter, r *http.Request) (string, *Error) {
	headers := r.Header.Values("Authorization")
	var fromHeader string
	switch len(headers) {
	case 0:
	case 1:
		tok, err := sesame.ParseBearer(headers[0])
		if errors.Is(err, sesame.ErrNoBearer) {
			break // another scheme: no bearer credentials
		}
		if err != nil {
			return "", errorf(http.StatusBadRequest, "invalid_request", "malformed Authorization header")
		}
		fromHeader = tok
	default:
		return "", errorf(http.StatusBadRequest, "invalid_request", "more than one Authorization header")
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "application/x-www-form-urlencoded") {
		if fromHeader == "" {
			return "", errNoBearer
		}
		return fromHeader, nil
	}
	form, e := readForm(w, r)
	if e != nil {
		return "", e
	}
	fromBody, inBody := form.Get("access_token"), form.Has("access_token")
	switch {
	case inBody && fromHeader != "":
		return "", errorf(http.StatusBadRequest, "invalid_request", "the access token is sent in more than one way")
	case inBody && fromBody == "":
		return "", errorf(http.StatusBadRequest, "invalid_request", "access_token is empty")
	case inBody:
		return fromBody, nil
	case fromHeader == "":
		return "", errNoBearer
	}
	return fromHeader, nil
}

// userinfoClaims verifies tok and returns the claims it may see.
func (p *Provider) userinfoClaims(ctx context.Context, tok string) (map[string]any, *Error) {
	c, err := p.cfg.Tokens.Verify(ctx, tok, []string{p.userinfoURL()})
	if err != nil {
		if sesame.ErrorCode(err) == sesame.EUnavailable {
			return nil, p.internal(ctx, "userinfo token", err)
		}
		return nil, errInvalidBearer
	}
	if c.SessionID == "" || c.Subject == "" {
		return nil, errInvalidBearer // a client's own token: there is no user
	}
	if !c.HasScope("openid") {
		return nil, errorf(http.StatusForbidden, "insufficient_scope", "the access token lacks the openid scope")
	}
	u, err := p.cfg.Accounts.Users.UserByID(ctx, c.Subject)
	if errors.Is(err, sesame.ErrNotFound) || (err == nil && u.Blocked) {
		return nil, errInvalidBearer
	}
	if err != nil {
		return nil, p.internal(ctx, "userinfo user", sesame.Wrap(sesame.EUnavailable, err, "user store"))
	}
	out := map[string]any{"sub": u.ID}
	if c.HasScope("profile") {
		out["preferred_username"] = u.Username
		out["name"] = u.Username
		if !u.UpdatedAt.IsZero() {
			out["updated_at"] = u.UpdatedAt.Unix()
		}
	}
	if c.HasScope("groups") {
		groups := u.Groups
		if groups == nil {
			groups = []string{}
		}
		out["groups"] = groups
	}
	return out, nil
}

// writeBearerError writes e with WWW-Authenticate: Bearer (RFC 6750 §3).
func writeBearerError(w http.ResponseWriter, e *Error) {
	v := `Bearer realm="sesame"`
	if e.Code != "" {
		v += `, error="` + e.Code + `"`
		if e.Code == "insufficient_scope" {
			v += `, scope="openid"`
		}
	}
	h := w.Header()
	h.Set("WWW-Authenticate", v)
	h.Set("Cache-Control", "no-store")
	if e.Code == "" || e.Status >= 500 {
		if e.Status >= 500 {
			h.Del("WWW-Authenticate")
			writeJSONError(w, e)
			return
		}
		w.WriteHeader(e.Status)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(jsonError(e))
}
