package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

// The explainer, GET /how-it-works (Config.Explainer): the visitor's own
// session cookie (attributes, never its value), session record and this
// node's in-process view, an access token decoded on request, and a
// revocation made as another node would make it, timed until this node's
// view sees it.

// explainerView is what explainer.html shows.
type explainerView struct {
	Cookie     []cookieFact
	CookieName string
	Session    *sessionFacts
	View       viewFacts
	Token      *tokenFacts
	TokensOff  bool
	Revoked    *revokeFacts
}

type cookieFact struct{ Name, Value, Why string }

type sessionFacts struct {
	ID, Device, Method, Level string
	Created, LastSeen         time.Time
	IdleDeadline, Absolute    time.Time
	IdleIn, AbsoluteIn        string
	Remember                  bool
}

type viewFacts struct {
	Trusted   bool
	SinceSync string
	Cached    int
}

type tokenFacts struct {
	Header, Claims string // indented JSON
	ExpiresAt      time.Time
	ExpiresIn      string
}

type revokeFacts struct {
	Took string
	Seen bool
}

// explainerRoutes are the explainer's routes, when it is on.
func (s *Server) explainerRoutes() []Route {
	if !s.cfg.Explainer {
		return nil
	}
	return []Route{
		{"GET", "/how-it-works", false, s.handleExplainer},
		{"POST", "/how-it-works/token", true, s.handleExplainerToken},
		{"POST", "/how-it-works/revoke", true, s.handleExplainerRevoke},
	}
}

func (s *Server) handleExplainer(w http.ResponseWriter, r *http.Request) {
	s.renderExplainer(w, r, &explainerView{})
}

// renderExplainer fills in the cookie, the session and the view, and
// renders the page.
func (s *Server) renderExplainer(w http.ResponseWriter, r *http.Request, v *explainerView) {
	cfg := s.sessions.Config()
	now := sesame.ClockOrSystem(s.accounts.Clock).Now()
	v.CookieName = cfg.CookieName
	v.TokensOff = s.tokens == nil
	secure := "yes"
	if cfg.InsecureCookie {
		secure = "no (insecure_cookie: development over plain HTTP only)"
	}
	domain := "none: only this host receives it"
	if cfg.CookieDomain != "" {
		domain = cfg.CookieDomain + " and every subdomain"
	}
	sameSite := map[http.SameSite]string{http.SameSiteStrictMode: "Strict", http.SameSiteNoneMode: "None", http.SameSiteLaxMode: "Lax"}[cfg.SameSite]
	if sameSite == "" {
		sameSite = "Lax"
	}
	v.Cookie = []cookieFact{
		{"HttpOnly", "yes", "Scripts on the page cannot read the cookie, so a cross-site scripting bug cannot steal the session."},
		{"Secure", secure, "The browser sends it over HTTPS only, never in clear text on the network."},
		{"SameSite", sameSite, "Requests started by other sites do not carry it (Lax: except top-level links), a first defence against cross-site request forgery; the CSRF token is the second."},
		{"Path", "/", "Every page of this server receives it."},
		{"Domain", domain, "Without a Domain (and with the __Host- prefix) a sibling subdomain can neither read nor overwrite it."},
		{"Expires", "when the browser closes, or later with “remember me”", "A session cookie dies with the browser; a remembered one lives until the session's absolute deadline. Either way the server decides: the cookie holds only a random token whose hash is looked up."},
	}
	if p, err := s.principal(r); err == nil {
		if sess, err := s.sessions.LiveSession(r.Context(), p.SessionID); err == nil {
			v.Session = &sessionFacts{ID: sess.ID, Device: deviceName(sess.Device.UserAgent), Method: string(p.Method),
				Level: sess.Level(), Created: sess.CreatedAt, LastSeen: sess.LastSeen, IdleDeadline: sess.IdleDeadline(),
				Absolute: sess.ExpiresAt, IdleIn: roughDuration(sess.IdleDeadline().Sub(now)), AbsoluteIn: roughDuration(sess.ExpiresAt.Sub(now)),
				Remember: sess.Remember}
		}
	}
	st := s.sessions.ViewStats()
	v.View = viewFacts{Trusted: st.Trusted, SinceSync: st.SinceSync.Round(time.Millisecond).String(), Cached: st.Cached}
	s.render(w, r, http.StatusOK, "explainer", pageData{Title: "How your session works", Nav: "explainer", Explainer: v})
}

// handleExplainerToken is POST /how-it-works/token: an access token for
// the visitor's session, shown decoded (header and claims), never the
// token itself. Its refresh token is never sent: its family ends with the
// session (revoking it would end the session: token.Service.Revoke).
func (s *Server) handleExplainerToken(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v := &explainerView{}
	if s.tokens != nil {
		sess, err := s.sessions.LiveSession(r.Context(), p.SessionID)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		pair, err := s.tokens.Issue(r.Context(), sess, "", "")
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		t := &tokenFacts{ExpiresAt: pair.AccessExpiresAt}
		parts := strings.Split(pair.AccessToken, ".")
		if len(parts) == 3 {
			t.Header, t.Claims = prettySegment(parts[0]), prettySegment(parts[1])
		}
		t.ExpiresIn = roughDuration(time.Until(pair.AccessExpiresAt))
		v.Token = t
	}
	s.renderExplainer(w, r, v)
}

// prettySegment is a JWT segment's JSON, indented.
func prettySegment(seg string) string {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return ""
	}
	var out bytes.Buffer
	if json.Indent(&out, raw, "", "  ") != nil {
		return ""
	}
	return out.String()
}

// explainerRevokeWait bounds the wait for this node's view.
const explainerRevokeWait = 10 * time.Second

// handleExplainerRevoke is POST /how-it-works/revoke: the visitor's
// session is revoked as another node would revoke it (the store and the
// change feed or notifier; session.Manager.RevokeAsPeer), and the page
// says how long this node's in-process view took to see it. The visitor's
// next request is refused.
func (s *Server) handleExplainerRevoke(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	took, seen, err := s.sessions.RevokeAsPeer(r.Context(), p.SessionID, "explainer: revoked as another node would", explainerRevokeWait)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v := &explainerView{Revoked: &revokeFacts{Took: took.Round(100 * time.Microsecond).String(), Seen: seen}}
	s.renderExplainer(w, r, v)
}
