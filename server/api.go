package server

import (
	"net/http"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/session"
)

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Remember bool   `json:"remember"`
	// Transport chooses the carrier: "session" (default: a session
	// cookie), "header" (access and refresh tokens in the body, for
	// mobile and API clients) or "cookie" (the tokens in HttpOnly
	// cookies, for SPAs).
	Transport string `json:"transport"`
	ClientID  string `json:"client_id"`
	Scope     string `json:"scope"`
}

type meResponse struct {
	User    sesame.PublicUser   `json:"user"`
	Session *sesame.SessionInfo `json:"session,omitempty"`
}

// apiSignup is POST /api/v1/signup {"username","password"} → 201.
func (s *Server) apiSignup(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Email    string `json:"email"` // optional unless require_email; needs mail
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.signupWithEmail(r, in.Username, in.Password, in.Email)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, meResponse{User: u.Public()})
}

// apiLogin is POST /api/v1/login {"username","password","remember"} → 200
// with the session cookie; the token is never in the body (SEC-02).
func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) {
	var in credentials
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch in.Transport {
	case "", "session":
	case "header", "cookie":
		if err := s.transportAllowed(in.Transport); err != nil {
			s.writeError(w, r, err)
			return
		}
		u, err := s.authenticate(r, in)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		step, err := s.accounts.NextStep(r.Context(), u)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if step != nil {
			// The second factor is given on a pending session cookie, for
			// every transport; the tokens come with its completion.
			if err := s.startPending(w, r, u, in.Transport != "cookie" || in.Remember && !s.cfg.NoRememberMe, step); err != nil {
				if step, ok := needsSecondFactor(err); ok {
					writeSecondFactorRequired(w, step)
					return
				}
				s.writeError(w, r, err)
			}
			return
		}
		s.loginWithTokens(w, r, in, u)
		return
	default:
		s.writeError(w, r, sesame.Errorf(sesame.EInvalid, `transport must be "session", "header" or "cookie"`))
		return
	}
	u, sess, err := s.login(w, r, in)
	if step, ok := needsSecondFactor(err); ok {
		writeSecondFactorRequired(w, step)
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info := sess.Info(true)
	writeJSON(w, http.StatusOK, meResponse{User: u.Public(), Session: &info})
}

// login authenticates and starts a cookie session; shared by the API and
// the form. When the user must still give (or enrol) a second factor it
// starts a pending session instead and returns an error that
// needsSecondFactor recognises.
func (s *Server) login(w http.ResponseWriter, r *http.Request, in credentials) (*sesame.User, *sesame.Session, error) {
	u, err := s.authenticate(r, in)
	if err != nil {
		return nil, nil, err
	}
	remember := in.Remember && !s.cfg.NoRememberMe
	step, err := s.accounts.NextStep(r.Context(), u)
	if err != nil {
		return nil, nil, err
	}
	if step != nil {
		return u, nil, s.startPending(w, r, u, remember, step)
	}
	sess, err := s.sessions.Login(w, r, u.ID, session.LoginOptions{Remember: remember, Device: s.device(r)})
	if err != nil {
		return nil, nil, err
	}
	s.audit(r, sesame.Event{Type: sesame.EventLoginSuccess, UserID: u.ID, Username: u.Username, SessionID: sess.ID, Reason: "password"})
	s.afterLogin(w, r, u, true)
	return u, sess, nil
}

// authenticate checks the password under the login policy of the account
// service (throttle, hashing gate, equal work, audit); this layer only
// translates its errors (429 and 503 with Retry-After, see writeError).
func (s *Server) authenticate(r *http.Request, in credentials) (*sesame.User, error) {
	name, err := s.loginName(r, in.Username) // login_by_email
	if err != nil {
		return nil, err
	}
	u, err := s.accounts.Login(r.Context(), account.LoginRequest{Username: name, Password: in.Password,
		IP: s.cfg.ClientIPs.ClientIP(r), UserAgent: truncate(r.UserAgent(), 256)})
	if err != nil {
		return nil, err
	}
	if err := s.checkVerified(r, u); err != nil { // require_verified = login
		return nil, err
	}
	return u, nil
}

// setRetryAfter sends Retry-After when err tells the client when to try
// again (a throttled attempt, a busy hashing gate).
func setRetryAfter(w http.ResponseWriter, err error) {
	if wait, ok := account.RetryAfter(err); ok {
		w.Header().Set("Retry-After", guard.RetryAfter(wait))
	}
}

func (s *Server) device(r *http.Request) *sesame.Device {
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return &sesame.Device{UserAgent: ua, IP: s.clientIP(r)}
}

// apiMe is GET /api/v1/me.
func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The session the credential belongs to: the cookie's, or the one a
	// token is bound to.
	sess, err := s.sessions.LiveSession(r.Context(), p.SessionID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info := sess.Info(true)
	writeJSON(w, http.StatusOK, meResponse{User: p.User.Public(), Session: &info})
}

// apiLogout is POST /api/v1/logout → 204; the server state is destroyed,
// the cookie cleared and Clear-Site-Data sent (SEC-12).
func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request) {
	if p := sesame.PrincipalFrom(r.Context()); p != nil && p.Method != sesame.MethodSession {
		// A token caller: end the session its tokens are bound to.
		if _, err := s.sessions.Revoke(r.Context(), p.SessionID, "logout"); err != nil {
			s.writeError(w, r, err)
			return
		}
		if p.Method == sesame.MethodTokenCookie {
			clearTokenCookies(w)
			w.Header().Set("Clear-Site-Data", `"cache", "cookies", "storage"`)
		}
		s.audit(r, sesame.Event{Type: sesame.EventLogout, UserID: p.UserID, SessionID: p.SessionID})
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := s.sessions.Logout(w, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type sessionList struct {
	Sessions []sesame.SessionInfo `json:"sessions"`
}

// apiSessions is GET /api/v1/sessions: the caller's sessions.
func (s *Server) apiSessions(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.sessions.List(r.Context(), p.User.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := sessionList{Sessions: make([]sesame.SessionInfo, 0, len(list))}
	for _, x := range list {
		out.Sessions = append(out.Sessions, x.Info(x.ID == p.SessionID))
	}
	writeJSON(w, http.StatusOK, out)
}

// apiRevokeSession is DELETE /api/v1/sessions/{id}: one of the caller's
// own sessions. Another user's session ID is 404, as if it did not exist.
func (s *Server) apiRevokeSession(w http.ResponseWriter, r *http.Request) {
	if err := s.revokeOwn(r, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) revokeOwn(r *http.Request, id string) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	target, err := s.sessions.Lookup(r.Context(), id)
	if sesame.ErrorCode(err) == sesame.ENotFound || (err == nil && target.UserID != p.User.ID) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	_, err = s.sessions.Revoke(r.Context(), id, "revoked by user")
	return err
}

// apiPassword is POST /api/v1/password {"current_password",
// "new_password", "end_other_sessions"}: 204. The current session gets a
// new token (a credential change is a privilege change, SEC-10); other
// sessions end unless end_other_sessions is false.
func (s *Server) apiPassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Current   string `json:"current_password"`
		New       string `json:"new_password"`
		EndOthers *bool  `json:"end_other_sessions"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.changePassword(r, in.Current, in.New, in.EndOthers == nil || *in.EndOthers); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) changePassword(r *http.Request, current, next string, endOthers bool) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	// The current password is checked below; a user with a second factor
	// must also have given it recently, whatever the session's level
	// (SEC-14: a one-factor session from before the enrolment is no
	// way around it).
	if err := s.factorStepUp(r, p); err != nil {
		return err
	}
	err = s.accounts.ChangePassword(r.Context(), account.PasswordChange{UserID: p.User.ID, SessionID: p.SessionID,
		Current: current, New: next, EndOthers: endOthers, IP: s.cfg.ClientIPs.ClientIP(r)})
	if err != nil {
		return err
	}
	s.users.forget(p.User.ID)
	if p.Method != sesame.MethodSession {
		return nil // a token caller keeps its tokens; its session ID does not change
	}
	return s.sessions.Renew(r)
}

type revokedCount struct {
	Revoked int `json:"revoked"`
}

// apiRevokeOthers is POST /api/v1/sessions/revoke-others.
func (s *Server) apiRevokeOthers(w http.ResponseWriter, r *http.Request) {
	n, err := s.revokeOthers(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, revokedCount{Revoked: n})
}

func (s *Server) revokeOthers(r *http.Request) (int, error) {
	p, err := s.principal(r)
	if err != nil {
		return 0, err
	}
	if err := s.stepUp(p); err != nil {
		return 0, err
	}
	ids, err := s.sessions.RevokeUser(r.Context(), p.User.ID, p.SessionID, "signed out other sessions")
	return len(ids), err
}

// admin returns the calling user if they are an admin.
func (s *Server) admin(r *http.Request) (*sesame.User, error) {
	p, err := s.principal(r)
	if err != nil {
		return nil, err
	}
	if !p.User.Admin {
		s.audit(r, sesame.Event{Type: sesame.EventAccessDenied, UserID: p.UserID, Username: p.User.Username,
			SessionID: p.SessionID, Reason: "admin required"})
		return nil, errForbidden
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if err := s.stepUp(p); err != nil { // every administrator's change (SEC-14)
			return nil, err
		}
	}
	return p.User, nil
}

type userList struct {
	Users []sesame.PublicUser `json:"users"`
}

// apiAdminUsers is GET /api/v1/admin/users.
func (s *Server) apiAdminUsers(w http.ResponseWriter, r *http.Request) {
	if _, err := s.admin(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	users, err := s.accounts.Users.ListUsers(r.Context())
	if err != nil {
		s.writeError(w, r, sesame.Wrap(sesame.EUnavailable, err, "user store unavailable"))
		return
	}
	out := userList{Users: make([]sesame.PublicUser, 0, len(users))}
	for _, u := range users {
		out.Users = append(out.Users, u.Public())
	}
	writeJSON(w, http.StatusOK, out)
}

// apiAdminBlock is POST /api/v1/admin/users/{username}/block (and unblock).
// Blocking ends every session of the user at once.
func (s *Server) apiAdminBlock(block bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.checkBlock(r, block); err != nil {
			s.writeError(w, r, err)
			return
		}
		u, err := s.accounts.SetBlocked(r.Context(), r.PathValue("username"), block)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.users.forget(u.ID)
		writeJSON(w, http.StatusOK, meResponse{User: u.Public()})
	}
}

// apiAdminRevokeSessions is DELETE /api/v1/admin/users/{username}/sessions.
func (s *Server) apiAdminRevokeSessions(w http.ResponseWriter, r *http.Request) {
	if _, err := s.admin(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.accounts.Lookup(r.Context(), r.PathValue("username"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ids, err := s.sessions.RevokeUser(r.Context(), u.ID, "", "revoked by admin")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, revokedCount{Revoked: len(ids)})
}

// handleHealth is GET /healthz (readiness): 200 when the stores answer,
// else 503; 503 {"status":"draining"} at once, without touching a store,
// once the server is draining (Drain: the node is shutting down).
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if s.Draining() {
		drainingHealth(w)
		return
	}
	if err := s.sessions.Health(r.Context()); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.accounts.Users.UserByID(r.Context(), "healthz"); err != nil && sesame.ErrorCode(err) != sesame.ENotFound {
		s.writeError(w, r, sesame.Wrap(sesame.EUnavailable, err, "user store unavailable"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// signup creates an account for a client under the account service's
// policy (sign-up throttle per IP, hashing gate).
func (s *Server) signup(r *http.Request, username, password string) (*sesame.User, error) {
	return s.accounts.Register(r.Context(), account.SignupRequest{Username: username, Password: password,
		IP: s.cfg.ClientIPs.ClientIP(r), UserAgent: truncate(r.UserAgent(), 256)})
}

// checkBlock allows an admin to block or unblock anyone but themselves: an
// admin who blocks their own account would lock the last admin out.
func (s *Server) checkBlock(r *http.Request, block bool) error {
	admin, err := s.admin(r)
	if err != nil {
		return err
	}
	if block {
		if name, err := account.NormalizeUsername(r.PathValue("username")); err == nil && name == admin.Username {
			return sesame.Errorf(sesame.EForbidden, "you cannot block your own account")
		}
	}
	return nil
}

// handleLive is GET /livez: 200 while the process serves HTTP, without
// touching any store (liveness; /healthz is readiness), draining or not.
func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
