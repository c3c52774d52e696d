package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/token"
)

// The revocation endpoint, POST /oauth2/revoke (RFC 7009).
//
// The client authenticates as at the token endpoint (a public client with
// its client_id). What a revocation ends:
//
//   - a refresh token issued to the calling client: its whole refresh
//     family (every token rotated from the same code exchange), so that
//     the client's grant cannot be refreshed any more. The SSO session and
//     the other clients' tokens are left alone: ending the user's session
//     is RP-initiated logout's job (/oauth2/logout), which reaches every
//     client. The access tokens already issued from the family stay valid
//     until they expire (minutes: the token service's AccessTTL); a
//     resource server that must know sooner introspects them.
//   - an access token: nothing. Access tokens are short-lived JWTs bound to
//     the session; RFC 7009 §2 lets the server choose not to revoke them,
//     and revoking the session instead would sign the user out of every
//     client.
//
// The answer is 200 with an empty body for every token, valid or not,
// known or not, issued to this client or another (RFC 7009 §2.2): it tells
// the caller nothing about tokens it does not hold. A missing token
// parameter is invalid_request.

func (p *Provider) handleRevoke(w http.ResponseWriter, r *http.Request) {
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
	tok := form.Get("token")
	if tok == "" {
		writeJSONError(w, errorf(http.StatusBadRequest, "invalid_request", "token is required"))
		return
	}
	if err := p.revokeRefresh(r.Context(), client, tok); err != nil {
		writeJSONError(w, p.internal(r.Context(), "revoke", err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// revokeRefresh ends the refresh family of tok when tok is a refresh token
// issued to client; anything else is not an error.
func (p *Provider) revokeRefresh(ctx context.Context, client *Client, tok string) error {
	rec, err := p.refreshRecord(ctx, tok)
	if err != nil || rec == nil || rec.ClientID != client.ID {
		return err
	}
	if err := p.cfg.Tokens.Config().Store.DeleteFamily(ctx, rec.FamilyID); err != nil {
		return sesame.Wrap(sesame.EUnavailable, err, "could not revoke the token")
	}
	if p.cfg.Events != nil {
		p.cfg.Events.Emit(ctx, sesame.Event{
			Type: sesame.EventTokenRevoked, Time: p.cfg.Clock.Now().UTC(),
			UserID: rec.UserID, SessionID: rec.SessionID, Reason: "revoked by client " + client.ID,
		})
	}
	return nil
}

// refreshLen is the length of a refresh token's text: 32 random bytes,
// base64url without padding (package token's format).
var refreshLen = base64.RawURLEncoding.EncodedLen(32)

// refreshRecord returns the stored record of refresh token tok, or nil
// when tok is not the text of a refresh token or none is stored.
func (p *Provider) refreshRecord(ctx context.Context, tok string) (*token.Refresh, error) {
	if len(tok) != refreshLen {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(raw) != 32 {
		return nil, nil
	}
	rec, err := p.cfg.Tokens.Config().Store.RefreshByHash(ctx, sha256.Sum256(raw))
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, sesame.Wrap(sesame.EUnavailable, err, "could not read the token")
	}
	return rec, nil
}
