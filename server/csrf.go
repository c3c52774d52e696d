package server

import (
	"errors"
	"net/http"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/csrf"
)

// newCSRF builds the CSRF defence (SEC-35 to SEC-40) for the server:
//
//   - every unsafe request carrying a cookie, an Origin or Sec-Fetch-Site
//     header, or a form body must come from this origin (the public URL's
//     when one is configured, else the request's own scheme and Host) (Sec-Fetch-Site
//     same-origin, or an exactly matching Origin) and carry a token bound to
//     its session (hidden form field csrf_token, or the X-CSRF-Token header
//     from GET /api/v1/csrf); without a session, to the pre-session cookie
//     (the login and sign-up forms, SEC-39);
//   - the JSON login and sign-up endpoints, and the cookie-transport refresh
//     (whose cookie is SameSite=Strict and path-scoped) need the origin
//     stage only: a cross-site page can send neither JSON nor that cookie;
//   - a request with no cookie, no Origin, no Sec-Fetch-Site and no form body
//     is a non-browser client with no ambient credential to abuse (a mobile
//     app, curl with a Bearer token): exempt.
func (s *Server) newCSRF() (*csrf.Protection, error) {
	return csrf.New(csrf.Config{
		Key:            csrf.Key(s.cfg.CSRFKey),
		SessionID:      s.csrfSessionID,
		TrustedOrigins: s.cfg.AllowedOrigins,
		Scheme: func(r *http.Request) string {
			if s.public != nil {
				return s.public.scheme // with the Host set to the public host by hostCheck
			}
			if s.cfg.TLS || r.TLS != nil {
				return "https"
			}
			return "http"
		},
		TokenExempt: func(r *http.Request) bool {
			switch r.URL.Path {
			case "/api/v1/login", "/api/v1/signup", "/api/v1/token/refresh",
				"/api/v1/login/passkey/begin", "/api/v1/login/passkey/finish": // a passwordless login (passkeys.go)
				return !isForm(r)
			}
			return false
		},
		Exempt: func(r *http.Request) bool {
			if s.oauth.csrfExempt(r) {
				return true // a client-authenticated endpoint, or a navigation (oauth.go)
			}
			h := r.Header
			return len(h.Values("Cookie")) == 0 && h.Get("Origin") == "" && h.Get("Sec-Fetch-Site") == "" && !isForm(r)
		},
		OnReject: func(r *http.Request, err error) { s.emitCSRF(r, err.Error()) },
		DenyHandler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err := csrf.Rejection(r)
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.writeError(w, r, errBodyTooLarge)
				return
			}
			s.writeError(w, r, sesame.Wrap(sesame.Code(csrf.DenyCode(err)), err, csrf.DenyMessage(err)))
		}),
	})
}

// csrfSessionID is the session a CSRF token is bound to: the session of
// the request's Principal (a token caller's, else the signed-in cookie
// session's), else none.
func (s *Server) csrfSessionID(r *http.Request) string {
	if p := sesame.PrincipalFrom(r.Context()); p != nil {
		return p.SessionID
	}
	return ""
}

// apiCSRF is GET /api/v1/csrf: {"csrf_token":"..."} for the X-CSRF-Token
// header of a cookie-authenticated SPA. Fetch it again after login.
func (s *Server) apiCSRF(w http.ResponseWriter, r *http.Request) {
	tok, err := s.csrf.Token(w, r)
	if err != nil {
		s.writeError(w, r, sesame.Wrap(sesame.EInternal, err, "could not make a CSRF token"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"csrf_token": tok})
}

func (s *Server) emitCSRF(r *http.Request, reason string) {
	s.audit(r, sesame.Event{Type: sesame.EventCSRFRejected, Reason: reason})
}
