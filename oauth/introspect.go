package oauth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// The introspection endpoint, POST /oauth2/introspect (RFC 7662), for
// resource servers that cannot verify JWTs.
//
// The caller is a confidential client authenticated as at the token
// endpoint; a public client cannot introspect (it proves nothing about
// itself), and gets invalid_client.
//
// Who may learn what (RFC 7662 §4 leaves it to the server): a client sees
// a token as active only when the token was issued to it (its client_id)
// or, for an access token, when the token's aud holds one of the resources
// the client lists in its own registration (Client.Resources, a resource
// server registered as a client; the default "every registered resource"
// of an empty list does not count here). Any other token is
// {"active":false}, as is every token that is not valid now: expired,
// badly signed, of an ended session, a used or revoked refresh token, an
// ID token (typ JWT, not at+jwt: SEC-59), or not a token at all.
//
// An active access token shows scope, client_id, sub, aud, iss, exp, iat,
// sid (absent for a client_credentials token) and token_type "Bearer"; an
// active refresh token (to its own client only) the same without
// token_type, its exp being its idle expiry. The answer is never cached.
// A store that cannot answer is 503, never a guess.

// introspection is the answer (RFC 7662 §2.2).
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	Audience  []string `json:"aud,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	ExpiresAt int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	SessionID string   `json:"sid,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
}

func (p *Provider) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	form, e := readForm(w, r)
	if e != nil {
		writeJSONError(w, e)
		return
	}
	client, e := p.authenticateClient(r, form)
	if e == nil && client.Public {
		e = errorf(http.StatusUnauthorized, "invalid_client", "a public client may not introspect tokens")
	}
	if e != nil {
		writeJSONError(w, e)
		return
	}
	tok := form.Get("token")
	if tok == "" {
		writeJSONError(w, errorf(http.StatusBadRequest, "invalid_request", "token is required"))
		return
	}
	var out *introspection
	var err error
	if strings.Count(tok, ".") == 2 {
		out, err = p.introspectAccess(r.Context(), client, tok)
	} else {
		out, err = p.introspectRefresh(r.Context(), client, tok)
	}
	if err != nil {
		writeJSONError(w, p.internal(r.Context(), "introspect", err))
		return
	}
	if out == nil {
		out = &introspection{}
	}
	writeJSON(w, http.StatusOK, out)
}

// introspectAccess returns the answer for an access token, nil for an
// inactive one, or an error when a store could not answer.
func (p *Provider) introspectAccess(ctx context.Context, client *Client, tok string) (*introspection, error) {
	// Not the issuer: a first-party token (Sesame's own API) is no OAuth
	// client's business, even when its client_id names one.
	audiences := append([]string{p.userinfoURL()}, p.cfg.Resources...)
	c, err := p.cfg.Tokens.Verify(ctx, tok, audiences)
	if err != nil {
		if sesame.ErrorCode(err) == sesame.EUnavailable {
			return nil, err
		}
		return nil, nil
	}
	if c.ClientID != client.ID && !slices.ContainsFunc(client.Resources, c.Audience.Contains) {
		return nil, nil
	}
	return &introspection{
		Active: true, Scope: c.Scope, ClientID: c.ClientID, Subject: c.Subject, Audience: c.Audience,
		Issuer: c.Issuer, ExpiresAt: c.ExpiresAt.Unix(), IssuedAt: unixOrZero(c.IssuedAt.Time),
		SessionID: c.SessionID, TokenType: "Bearer",
	}, nil
}

// introspectRefresh returns the answer for a refresh token issued to
// client, nil for any other token.
func (p *Provider) introspectRefresh(ctx context.Context, client *Client, tok string) (*introspection, error) {
	rec, err := p.refreshRecord(ctx, tok)
	if err != nil || rec == nil || rec.ClientID != client.ID || len(rec.Audience) == 0 || !refreshUsable(rec, p.cfg.Clock.Now()) {
		return nil, err
	}
	switch _, err := p.cfg.Sessions.LiveSession(ctx, rec.SessionID); {
	case errors.Is(err, session.ErrSessionRevoked):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &introspection{
		Active: true, Scope: rec.Scope, ClientID: rec.ClientID, Subject: rec.UserID, Audience: rec.Audience,
		Issuer: p.cfg.Issuer, ExpiresAt: rec.ExpiresAt.Unix(), IssuedAt: rec.CreatedAt.Unix(), SessionID: rec.SessionID,
	}, nil
}

func refreshUsable(rec *token.Refresh, now time.Time) bool {
	return rec.UsedAt.IsZero() && now.Before(rec.ExpiresAt) && now.Before(rec.FamilyExpiresAt)
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
