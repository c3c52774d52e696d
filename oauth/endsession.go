package oauth

import (
	"crypto/hmac"
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
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/session"
)

// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), GET or
// POST /oauth2/logout with id_token_hint, client_id,
// post_logout_redirect_uri and state:
//
//   - id_token_hint must be an ID token of this issuer (signature with the
//     provider's keys, iss, typ "JWT"); its expiry is not checked (an RP
//     logs out with the last ID token it has);
//   - the client is client_id, or the hint's audience; with both, the
//     hint must be for that client;
//   - post_logout_redirect_uri must be exactly one of that client's
//     PostLogoutRedirectURIs; without an identified client it is refused.
//     A refused one is an error page, never a redirect (no open redirect);
//   - when the hint names the browser's current session (its sid), or
//     the browser has no session, the session is ended at once (its
//     cookie cleared); otherwise the user is asked to confirm, on a page
//     whose form posts to /oauth2/logout/confirm (CSRF-checked). A logout
//     request never ends a session the browser does not hold: the hint
//     alone, without the session cookie, ends nothing;
//   - a POST without the session cookie (a cross-site POST carries no
//     SameSite=Lax cookie) is asked again as a GET with the same
//     parameters, except that a verified id_token_hint becomes its
//     client_id and a hint_mac (a MAC of the client and the hint's sid
//     and sub, valid 10 minutes) standing for it: the ID token, which the
//     relying party POSTed to keep it out of URLs, does not reach one.
//
// The session's end reaches the relying parties registered for
// back-channel logout through the revocation feed, like any other.

// logoutRequest is the validated logout request, carried through the
// confirmation form.
type logoutRequest struct {
	ClientID    string `json:"client_id,omitempty"`
	RedirectURI string `json:"redirect_uri,omitempty"`
	State       string `json:"state,omitempty"`
}

func (p *Provider) handleEndSession(w http.ResponseWriter, r *http.Request) {
	params, err := authorizeParams(r)
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "The logout request could not be read.")
		return
	}
	for k, v := range params {
		if len(v) > 1 || len(v[0]) > 16<<10 {
			p.errorPage(w, r, http.StatusBadRequest, "The logout request repeats a parameter or has one too long: "+paramNameForError(k)+".")
			return
		}
	}
	req := &logoutRequest{ClientID: params.Get("client_id"), State: params.Get("state")}
	var hint *IDClaims
	if h := params.Get("id_token_hint"); h != "" {
		if hint, err = p.verifyIDTokenHint(h); err != nil {
			p.errorPage(w, r, http.StatusBadRequest, "The logout request's id_token_hint is not a valid ID token from Sesame.")
			return
		}
		switch {
		case req.ClientID == "" && len(hint.Audience) == 1:
			req.ClientID = hint.Audience[0]
		case req.ClientID == "" && hint.AZP != "":
			req.ClientID = hint.AZP
		case req.ClientID != "" && !slices.Contains(hint.Audience, req.ClientID):
			p.errorPage(w, r, http.StatusBadRequest, "The logout request's id_token_hint was not issued to its client_id.")
			return
		}
	}
	var client *Client
	if req.ClientID != "" {
		client, err = p.cfg.Registry.Client(r.Context(), req.ClientID)
		if err != nil && !errors.Is(err, sesame.ErrNotFound) {
			p.cfg.Logger.Error("oauth: read client", "err", err)
			p.errorPage(w, r, http.StatusServiceUnavailable, "Sesame cannot read its client registry now; try again later.")
			return
		}
		if client == nil {
			p.errorPage(w, r, http.StatusBadRequest, "The application is not registered with Sesame (unknown client_id).")
			return
		}
	}
	if uri := params.Get("post_logout_redirect_uri"); uri != "" {
		if client == nil || !client.HasPostLogoutRedirectURI(uri) {
			p.errorPage(w, r, http.StatusBadRequest, "The post_logout_redirect_uri is not registered for this application.")
			return
		}
		req.RedirectURI = uri
	}

	now := p.cfg.Clock.Now()
	sess, signedIn := browserSession(r.Context())
	if !signedIn && r.Method == http.MethodPost {
		// A cross-site POST carries no SameSite=Lax session cookie: ask
		// again as a GET, a top-level navigation that carries it, so that
		// the session is really ended. The ID token stays out of the URL:
		// a verified hint becomes its client_id and a hint_mac.
		again := url.Values{}
		for k, v := range params {
			if k != "id_token_hint" && k != paramLogoutHint {
				again[k] = v
			}
		}
		if hint != nil {
			if req.ClientID != "" {
				again.Set("client_id", req.ClientID)
			}
			if hint.SessionID != "" {
				again.Set(paramLogoutHint, p.newLogoutHint(req.ClientID, hint.SessionID, hint.Subject, now))
			}
		}
		p.authRedirect(w, r, PathEndSession+"?"+again.Encode())
		return
	}
	current := hint != nil && hint.SessionID != "" && hint.SessionID == sess.ID && hint.Subject == sess.UserID ||
		hint == nil && params.Has(paramLogoutHint) && p.logoutHintNames(params.Get(paramLogoutHint), req.ClientID, sess, now)
	if !signedIn || current {
		p.endSession(w, r, req, signedIn)
		return
	}
	username := ""
	if u, err := p.cfg.Accounts.Users.UserByID(r.Context(), sess.UserID); err == nil {
		username = u.Username
	}
	p.renderLogout(w, r, LogoutView{Confirm: true, ClientName: clientName(client), Username: username,
		Request: p.sealLogout(sess.ID, req, now), RedirectURI: req.RedirectURI})
}

// paramLogoutHint stands for a verified id_token_hint in the GET that
// re-asks a cookie-less POST logout request (it is not the spec's
// logout_hint, a free-form hint an RP may send, which Sesame ignores):
// "<unix time>.<MAC>" of the time, the client, and the hint's sid and
// sub, valid loginMarkerTTL. It
// says no more than the hint did (this session may end without
// confirmation) and reveals neither the token nor its claims.
const paramLogoutHint = "hint_mac"

func (p *Provider) newLogoutHint(clientID, sid, sub string, now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	return ts + "." + p.requestMAC("hint_mac", ts+"\x00"+clientID+"\x00"+sid+"\x00"+sub)
}

// logoutHintNames reports whether v is a fresh hint_mac for the client
// naming the session sess.
func (p *Provider) logoutHintNames(v, clientID string, sess session.Info, now time.Time) bool {
	ts, mac, ok := strings.Cut(v, ".")
	if !ok || len(ts) > 20 || sess.ID == "" {
		return false
	}
	want := p.requestMAC("hint_mac", ts+"\x00"+clientID+"\x00"+sess.ID+"\x00"+sess.UserID)
	if !hmac.Equal([]byte(mac), []byte(want)) {
		return false
	}
	at, err := strconv.ParseInt(ts, 10, 64)
	return err == nil && now.Sub(time.Unix(at, 0)) <= loginMarkerTTL
}

// handleLogoutConfirm is POST /oauth2/logout/confirm (the server checks its
// CSRF token): the user's answer to the confirmation page.
func (p *Provider) handleLogoutConfirm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	sealed := r.PostForm.Get("request")
	if _, err := p.openLogout(sealed, "", p.cfg.Clock.Now()); errors.Is(err, errBadLogoutSeal) {
		p.errorPage(w, r, http.StatusBadRequest, err.Error()+".")
		return
	}
	sess, signedIn := browserSession(r.Context())
	if !signedIn {
		// Already signed out (in another tab): nothing to confirm.
		p.renderLogout(w, r, LogoutView{Done: true})
		return
	}
	req, err := p.openLogout(sealed, sess.ID, p.cfg.Clock.Now())
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, err.Error()+".")
		return
	}
	switch r.PostForm.Get("decision") {
	case "logout":
		p.endSession(w, r, req, true)
	case "stay":
		if req.RedirectURI != "" {
			p.authRedirect(w, r, withState(req.RedirectURI, req.State))
			return
		}
		p.authRedirect(w, r, "/")
	default:
		p.errorPage(w, r, http.StatusBadRequest, "The form has no decision.")
	}
}

// endSession ends the browser's session (when signedIn), clears its
// cookie, and sends the browser to the post-logout redirect URI or the
// signed-out page. A browser without a session is only redirected: its
// cookies (an access-token cookie of a same-site app) are not touched.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request, req *logoutRequest, signedIn bool) {
	if signedIn {
		if err := p.cfg.Sessions.Logout(w, r); err != nil {
			p.cfg.Logger.Error("oauth: end session", "err", err)
			p.errorPage(w, r, http.StatusServiceUnavailable, "Sesame could not sign you out now; try again.")
			return
		}
	}
	if req.RedirectURI != "" {
		p.authRedirect(w, r, withState(req.RedirectURI, req.State))
		return
	}
	p.renderLogout(w, r, LogoutView{Done: true})
}

func withState(uri, state string) string {
	if state == "" {
		return uri
	}
	return withQuery(uri, url.Values{"state": {state}})
}

func clientName(c *Client) string {
	switch {
	case c == nil:
		return ""
	case c.Name != "":
		return c.Name
	}
	return c.ID
}

func (p *Provider) renderLogout(w http.ResponseWriter, r *http.Request, v LogoutView) {
	if p.cfg.RenderLogout == nil {
		if v.Done {
			http.Error(w, "You are signed out.", http.StatusOK)
		} else {
			http.Error(w, "Logout confirmation is not available.", http.StatusInternalServerError)
		}
		return
	}
	p.cfg.RenderLogout(w, r, v)
}

// verifyIDTokenHint verifies an ID token this provider issued: its
// signature with the provider's keys, its iss and its typ "JWT" (an access
// token, typ at+jwt, is refused). Its expiry and times are not checked.
func (p *Provider) verifyIDTokenHint(tok string) (*IDClaims, error) {
	payload, hdr, err := jose.VerifyLimit(tok, p.cfg.Keys, 0)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(strings.TrimPrefix(strings.ToLower(hdr.Type), "application/"), "jwt") {
		return nil, errors.New("not an ID token")
	}
	var c IDClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	if c.Issuer != p.cfg.Issuer || c.Subject == "" || len(c.Audience) == 0 {
		return nil, errors.New("not an ID token of this issuer")
	}
	return &c, nil
}

type sealedLogout struct {
	SessionID string         `json:"sid"`
	Exp       int64          `json:"exp"`
	Req       *logoutRequest `json:"req"`
}

func (p *Provider) sealLogout(sid string, req *logoutRequest, now time.Time) string {
	b, _ := json.Marshal(sealedLogout{SessionID: sid, Exp: now.Add(consentTTL).Unix(), Req: req})
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + p.requestMAC("logout", payload)
}

var errBadLogoutSeal = errors.New("the logout request is not valid")

func (p *Provider) openLogout(v, sid string, now time.Time) (*logoutRequest, error) {
	payload, mac, ok := strings.Cut(v, ".")
	if !ok || len(v) > 64<<10 || !hmac.Equal([]byte(mac), []byte(p.requestMAC("logout", payload))) {
		return nil, errBadLogoutSeal
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	var s sealedLogout
	if err != nil || json.Unmarshal(b, &s) != nil || s.Req == nil {
		return nil, errBadLogoutSeal
	}
	if s.SessionID != sid {
		return nil, errors.New("the logout request was made in another session")
	}
	if now.Unix() >= s.Exp {
		return nil, errors.New("the logout request has expired: return to the application and try again")
	}
	return s.Req, nil
}
