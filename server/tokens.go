package server

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/cookie"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// refreshPath is the path of the refresh-token cookie (token.RefreshCookie):
// only the token endpoints receive it (SEC-34).
const refreshPath = "/api/v1/token"

// tokenAuth is the token middleware (package token) of the server: an
// access token in the Authorization header (Bearer) or, for the cookie
// transport, in the access cookie puts its Principal in the context. A
// request with a bad token in the Authorization header is 401; it never
// falls back to another credential (SEC-20). A dead access cookie
// (expired, or its session ended) is no credential, like a dead session
// cookie: the browser sends it with every request and the page cannot
// remove it (HttpOnly), so refusing the request would lock the user out of
// refresh and login until the browser closes; it is logged (SEC-55) and
// the request goes on without it. Requests without a token go on to the
// session cookie's Principal, if any.
func (s *Server) tokenAuth(next http.Handler) http.Handler {
	if s.tokens == nil {
		return next
	}
	m := token.NewMiddleware(s.tokens)
	m.AcceptCookie(token.AccessCookie)
	m.OnDeadCookie(func(r *http.Request, err error) { s.auditBadToken(r, err) })
	m.SetDenyHandler(http.HandlerFunc(s.badToken))
	withTokens := m.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.oauth.ownAuth(r) {
			// The OAuth token, revocation, introspection and userinfo
			// endpoints read the Authorization header themselves (client
			// credentials, or a token whose audience is not Sesame's API).
			next.ServeHTTP(w, r)
			return
		}
		withTokens.ServeHTTP(w, r)
	})
}

// badToken answers a request whose token was refused (RFC 6750 §3) and
// logs it (SEC-55) without the token; a store that cannot answer is 503.
func (s *Server) badToken(w http.ResponseWriter, r *http.Request) {
	err := token.Rejection(r)
	if sesame.ErrorCode(err) != sesame.EUnauthenticated {
		s.writeError(w, r, err)
		return
	}
	s.auditBadToken(r, token.Rejection(r))
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	s.writeError(w, r, sesame.Errorf(sesame.EUnauthenticated, "invalid access token"))
}

// auditBadToken logs a refused token (SEC-55), without the token.
func (s *Server) auditBadToken(r *http.Request, err error) {
	reason := "invalid token"
	if errors.Is(err, token.ErrMalformedAuthorization) {
		reason = "malformed Authorization header"
	} else if errors.Is(err, session.ErrSessionRevoked) {
		reason = "session revoked"
	} else if inner := errors.Unwrap(err); inner != nil {
		reason = inner.Error()
	}
	s.audit(r, sesame.Event{Type: sesame.EventBadToken, Reason: reason})
}

// The token transports of Config.TokenTransports.
const (
	TransportHeader = "header" // tokens in the JSON body, sent back as Bearer
	TransportCookie = "cookie" // tokens in HttpOnly cookies (a same-site SPA)
)

// transportAllowed refuses a token transport the server does not offer.
func (s *Server) transportAllowed(t string) error {
	if s.tokens == nil {
		return sesame.Errorf(sesame.EInvalid, "token transports are not enabled on this server")
	}
	if s.cfg.TokenTransports == nil || slices.Contains(s.cfg.TokenTransports, t) {
		return nil
	}
	return sesame.Errorf(sesame.EInvalid, "the %s token transport is not enabled on this server (it offers: %s)", t, strings.Join(s.cfg.TokenTransports, ", "))
}

// tokenResponse is the body of a header-transport login or refresh.
type tokenResponse struct {
	*token.Pair
	User *sesame.PublicUser `json:"user,omitempty"`
}

// cookieTokenResponse is the body of a cookie-transport login or refresh:
// the tokens themselves travel only in HttpOnly cookies (SEC-02).
type cookieTokenResponse struct {
	User      *sesame.PublicUser `json:"user,omitempty"`
	ExpiresIn int                `json:"expires_in"`
	Scope     string             `json:"scope,omitempty"`
}

// loginWithTokens is POST /api/v1/login with "transport" "header" or
// "cookie": a session for the client, bound tokens, no session cookie.
func (s *Server) loginWithTokens(w http.ResponseWriter, r *http.Request, in credentials, u *sesame.User) {
	if err := s.transportAllowed(in.Transport); err != nil {
		s.writeError(w, r, err)
		return
	}
	// A client holding its tokens itself (header transport: a mobile app,
	// a CLI) keeps a long session; a browser holding them in cookies gets
	// what it asked for, like the session cookie: without "remember me",
	// the shorter timeouts and cookies that end with the browser session.
	remember := in.Transport != "cookie" || in.Remember && !s.cfg.NoRememberMe
	sess, err := s.sessions.StartTokenSession(r.Context(), u.ID, session.LoginOptions{Remember: remember, Device: s.device(r)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.tokens.Issue(r.Context(), sess, in.ClientID, in.Scope)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.audit(r, sesame.Event{Type: sesame.EventLoginSuccess, UserID: u.ID, Username: u.Username, SessionID: sess.ID, Reason: "password, " + in.Transport + " transport"})
	s.afterLogin(w, r, u, false)
	pu := u.Public()
	s.writePair(w, r, in.Transport, p, &pu)
}

// writePair answers with a token pair in the transport's way.
func (s *Server) writePair(w http.ResponseWriter, r *http.Request, transport string, p *token.Pair, u *sesame.PublicUser) {
	if transport != "cookie" {
		writeJSON(w, http.StatusOK, tokenResponse{Pair: p, User: u})
		return
	}
	now := time.Now()
	at := cookie.Cookie{Name: token.AccessCookie, Value: p.AccessToken, SameSite: http.SameSiteLaxMode}
	rt := cookie.Cookie{Name: token.RefreshCookie, Value: p.RefreshToken, Path: refreshPath, SameSite: http.SameSiteStrictMode}
	if p.Persistent {
		// A "remember me" session: the cookies live as long as the tokens.
		// Otherwise they are browser-session cookies, like the session
		// cookie (SEC-05).
		at.MaxAge = max(p.AccessExpiresAt.Sub(now).Truncate(time.Second), time.Second)
		rt.MaxAge = max(p.RefreshExpiresAt.Sub(now).Truncate(time.Second), time.Second)
	}
	if err := cookie.Write(w, at); err != nil {
		s.writeError(w, r, sesame.Wrap(sesame.EInternal, err, "could not set the token cookies"))
		return
	}
	if err := cookie.Write(w, rt); err != nil {
		s.writeError(w, r, sesame.Wrap(sesame.EInternal, err, "could not set the token cookies"))
		return
	}
	writeJSON(w, http.StatusOK, cookieTokenResponse{User: u, ExpiresIn: p.ExpiresIn, Scope: p.Scope})
}

// clearTokenCookies deletes both token cookies.
func clearTokenCookies(w http.ResponseWriter) {
	cookie.Delete(w, cookie.Cookie{Name: token.AccessCookie, SameSite: http.SameSiteLaxMode})
	cookie.Delete(w, cookie.Cookie{Name: token.RefreshCookie, Path: refreshPath, SameSite: http.SameSiteStrictMode})
}

// apiRefresh is POST /api/v1/token/refresh {"refresh_token","client_id",
// "scope"}: a new pair. Without refresh_token in the body, the refresh
// cookie is used and the new pair is set as cookies.
func (s *Server) apiRefresh(w http.ResponseWriter, r *http.Request) {
	var in struct {
		RefreshToken string `json:"refresh_token"`
		ClientID     string `json:"client_id"`
		Scope        string `json:"scope"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	transport := "header"
	if in.RefreshToken == "" {
		tok, err := cookie.Get(r, token.RefreshCookie)
		if err != nil {
			s.writeError(w, r, sesame.Errorf(sesame.EInvalid, "refresh_token is required"))
			return
		}
		in.RefreshToken, transport = tok, "cookie"
	}
	if err := s.transportAllowed(transport); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.tokens.Refresh(r.Context(), in.RefreshToken, in.ClientID, in.Scope)
	if err != nil {
		if transport == "cookie" && sesame.ErrorCode(err) == sesame.EUnauthenticated {
			clearTokenCookies(w)
		}
		s.writeError(w, r, err)
		return
	}
	s.writePair(w, r, transport, p, nil)
}

// apiRevoke is POST /api/v1/token/revoke {"token","token_type_hint"} with
// RFC 7009 semantics: 200 whether or not the token was known. It revokes
// the token's session and refresh family. Without a token in the body, the
// caller's own refresh cookie is revoked and the token cookies cleared.
func (s *Server) apiRevoke(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token string `json:"token"`
		Hint  string `json:"token_type_hint"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Hint != "" && in.Hint != "access_token" && in.Hint != "refresh_token" {
		in.Hint = "" // RFC 7009 §2.1: an unknown hint is ignored
	}
	if in.Token == "" {
		tok, err := cookie.Get(r, token.RefreshCookie)
		if err != nil {
			s.writeError(w, r, sesame.Errorf(sesame.EInvalid, "token is required"))
			return
		}
		in.Token, in.Hint = tok, "refresh_token"
		clearTokenCookies(w)
	}
	if err := s.tokens.Revoke(r.Context(), in.Token, in.Hint); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// handleJWKS is GET /.well-known/jwks.json: the public signing keys.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Write(s.cfg.JWKS())
}

// apiSessionToken is POST /api/v1/token/session: a cookie session gets an
// access and refresh token bound to itself, for a browser app that calls
// other services with a Bearer token. Logging out of the session ends them.
func (s *Server) apiSessionToken(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.Method != sesame.MethodSession {
		s.writeError(w, r, sesame.Errorf(sesame.EForbidden, "only a session cookie can be exchanged for tokens"))
		return
	}
	var in struct {
		ClientID string `json:"client_id"`
		Scope    string `json:"scope"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.transportAllowed(TransportHeader); err != nil {
		s.writeError(w, r, err)
		return
	}
	sess, err := s.sessions.LiveSession(r.Context(), p.SessionID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pair, err := s.tokens.Issue(r.Context(), sess, in.ClientID, in.Scope)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{Pair: pair})
}
