package server

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/cookie"
	"github.com/sesame-auth/sesame/passkey"
	"github.com/sesame-auth/sesame/session"
)

// Passkeys (WebAuthn, package passkey): registration from the account
// page, listing and removal, and passwordless sign-in. Each ceremony's
// state stays on the server; the browser holds only a random cookie naming
// it (passkeyCookie), which the finish request must bring back from the
// same session (registration) or browser (sign-in).

//go:embed templates/passkey.js
var passkeyJS []byte

// passkeyCookie names a ceremony in progress: HttpOnly, SameSite=Strict,
// a few minutes long, deleted when the ceremony ends.
const passkeyCookie = "__Host-sesame-webauthn"

// passkeyBeginLimit is how many ceremonies a client IP may begin without a
// quiet minute; more are refused with 429.
const passkeyBeginLimit = 30

// passkeyRoutes are the routes of passkeys, when they are on.
func (s *Server) passkeyRoutes() []Route {
	if s.cfg.Passkeys == nil {
		return nil
	}
	return []Route{
		{"GET", "/static/passkey.js", false, s.handlePasskeyJS},
		{"POST", "/account/passkeys/{id}/remove", true, s.handlePasskeyRemoveForm},
		{"POST", "/api/v1/passkeys/register/begin", false, s.apiPasskeyRegisterBegin},
		{"POST", "/api/v1/passkeys/register/finish", false, s.apiPasskeyRegisterFinish},
		{"GET", "/api/v1/passkeys", false, s.apiPasskeys},
		{"PUT", "/api/v1/passkeys/{id}", false, s.apiPasskeyRename},
		{"DELETE", "/api/v1/passkeys/{id}", false, s.apiPasskeyRemove},
		{"POST", "/api/v1/login/passkey/begin", false, s.apiPasskeyLoginBegin},
		{"POST", "/api/v1/login/passkey/finish", false, s.apiPasskeyLoginFinish},
	}
}

func (s *Server) handlePasskeyJS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(passkeyJS)
}

// PasskeyView is a passkey as its owner sees it.
type PasskeyView struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"` // null: never used
	BackupEligible bool       `json:"backup_eligible"`
	BackupState    bool       `json:"backup_state"`
	Transports     []string   `json:"transports"`
	CloneWarning   bool       `json:"clone_warning"` // refused since a counter went back
}

func passkeyView(c *passkey.Credential) PasskeyView {
	v := PasskeyView{ID: c.ID, Name: c.Name, CreatedAt: c.CreatedAt, BackupEligible: c.BackupEligible,
		BackupState: c.BackupState, Transports: c.Transports, CloneWarning: c.CloneWarning}
	if v.Transports == nil {
		v.Transports = []string{}
	}
	if !c.LastUsedAt.IsZero() {
		t := c.LastUsedAt
		v.LastUsedAt = &t
	}
	return v
}

// setPasskeyCookie names the ceremony just begun.
func (s *Server) setPasskeyCookie(w http.ResponseWriter, value string) error {
	return cookie.Write(w, cookie.Cookie{Name: passkeyCookie, Value: value, MaxAge: 5 * time.Minute, SameSite: http.SameSiteStrictMode})
}

// takePasskeyCookie returns the ceremony cookie's value and deletes the
// cookie: the ceremony ends with this request, whatever its outcome.
func takePasskeyCookie(w http.ResponseWriter, r *http.Request) string {
	v, err := cookie.Get(r, passkeyCookie)
	if err != nil {
		return ""
	}
	cookie.Delete(w, cookie.Cookie{Name: passkeyCookie, SameSite: http.SameSiteStrictMode})
	return v
}

// throttlePasskeyBegin counts a ceremony begun by the client's IP (its
// /64 for IPv6) and refuses it beyond passkeyBeginLimit without a quiet
// minute: a begin stores state, so it must not be free to flood.
func (s *Server) throttlePasskeyBegin(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Throttle == nil {
		return nil
	}
	ip := s.cfg.ClientIPs.ClientIP(r)
	key := "unknown"
	if ip.IsValid() {
		if ip.Is4() || ip.Is4In6() {
			key = ip.Unmap().String()
		} else {
			key = netip.PrefixFrom(ip, 64).Masked().String()
		}
	}
	n, err := s.cfg.Throttle.Strike(r.Context(), "passkey-begin:"+key, time.Minute)
	if err != nil {
		return err
	}
	if n > passkeyBeginLimit {
		w.Header().Set("Retry-After", strconv.Itoa(60))
		return sesame.Errorf(sesame.ETooMany, "too many passkey requests: try again later")
	}
	return nil
}

// passkeyFailed audits a refused ceremony and answers it.
func (s *Server) passkeyFailed(w http.ResponseWriter, r *http.Request, e sesame.Event, err error) {
	if reason := passkey.FailureReason(err); reason != "" {
		e.Type, e.Reason = sesame.EventPasskeyFailure, e.Reason+": "+reason
		s.audit(r, e)
	}
	s.writeError(w, r, err)
}

// passkeyOwner is the signed-in caller that manages passkeys.
func (s *Server) passkeyOwner(r *http.Request) (*sesame.Principal, error) {
	p, err := s.principal(r)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// apiPasskeyRegisterBegin is POST /api/v1/passkeys/register/begin {}: the
// options for navigator.credentials.create, and the ceremony cookie. It
// needs a signed-in session, whose ID the ceremony is bound to.
func (s *Server) apiPasskeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	var p *sesame.Principal
	s.passkeyBegin(w, r, func() (err error) {
		if p, err = s.passkeyOwner(r); err != nil {
			return err
		}
		return s.stepUp(p) // adding a factor (SEC-14)
	}, func() (json.RawMessage, string, error) {
		return s.cfg.Passkeys.BeginRegistration(r.Context(), p.User, p.SessionID)
	})
}

// apiPasskeyRegisterFinish is POST /api/v1/passkeys/register/finish
// {"name","credential"}: verifies the browser's new credential against the
// ceremony this session began and stores it. 201 {"passkey"}.
func (s *Server) apiPasskeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name       string          `json:"name"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.passkeyOwner(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// passkey.registered is queued with the write that adds the passkey;
	// the store names it (its ID is made there).
	registered := s.filled(r, sesame.Event{Type: sesame.EventPasskeyRegistered, UserID: p.UserID, Username: p.User.Username,
		SessionID: p.SessionID})
	ctx, te := sesame.WithTxEvents(r.Context())
	te.Added = func(id, name string) sesame.Event {
		e := registered
		e.Reason = id + " " + strconv.Quote(name)
		return e
	}
	c, err := s.cfg.Passkeys.FinishRegistration(ctx, p.User, p.SessionID, takePasskeyCookie(w, r), in.Name, in.Credential)
	if err != nil {
		s.passkeyFailed(w, r, sesame.Event{UserID: p.UserID, Username: p.User.Username, SessionID: p.SessionID, Reason: "registration"}, err)
		return
	}
	s.auditIn(ctx, r, te.Added(c.ID, c.Name))
	writeJSON(w, http.StatusCreated, map[string]PasskeyView{"passkey": passkeyView(c)})
}

// apiPasskeys is GET /api/v1/passkeys: the caller's passkeys, oldest
// first.
func (s *Server) apiPasskeys(w http.ResponseWriter, r *http.Request) {
	p, err := s.passkeyOwner(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cs, err := s.cfg.Passkeys.List(r.Context(), p.UserID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]PasskeyView, 0, len(cs))
	for _, c := range cs {
		out = append(out, passkeyView(c))
	}
	writeJSON(w, http.StatusOK, map[string][]PasskeyView{"passkeys": out})
}

// apiPasskeyRename is PUT /api/v1/passkeys/{id} {"name"}: 200 {"passkey"};
// 404 for an ID that is not one of the caller's.
func (s *Server) apiPasskeyRename(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name *string `json:"name"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Name == nil {
		s.writeError(w, r, sesame.Errorf(sesame.EInvalid, "name is required"))
		return
	}
	p, err := s.passkeyOwner(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	if err := s.cfg.Passkeys.Rename(r.Context(), p.UserID, id, *in.Name); err != nil {
		s.writeError(w, r, notFoundAs(err, "no such passkey"))
		return
	}
	cs, err := s.cfg.Passkeys.List(r.Context(), p.UserID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, c := range cs {
		if c.ID == id {
			writeJSON(w, http.StatusOK, map[string]PasskeyView{"passkey": passkeyView(c)})
			return
		}
	}
	s.writeError(w, r, sesame.Errorf(sesame.ENotFound, "no such passkey"))
}

// apiPasskeyRemove is DELETE /api/v1/passkeys/{id}: 204; 404 for an ID
// that is not one of the caller's.
func (s *Server) apiPasskeyRemove(w http.ResponseWriter, r *http.Request) {
	if err := s.removePasskey(r, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handlePasskeyRemoveForm(w http.ResponseWriter, r *http.Request) {
	if err := s.removePasskey(r, r.PathValue("id")); err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?done=passkey-removed", http.StatusSeeOther)
}

func (s *Server) removePasskey(r *http.Request, id string) error {
	p, err := s.passkeyOwner(r)
	if err != nil {
		return err
	}
	if err := s.stepUp(p); err != nil { // removing a factor (SEC-14)
		return err
	}
	defer s.lockRemovals(p.UserID)()
	cs, err := s.cfg.Passkeys.List(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(cs, func(c *passkey.Credential) bool { return c.ID == id }) {
		return sesame.Errorf(sesame.ENotFound, "no such passkey")
	}
	remaining := len(cs) - 1
	if s.cfg.Factors != nil {
		fs, err := s.cfg.Factors.List(r.Context(), p.UserID)
		if err != nil {
			return err
		}
		remaining += len(fs)
	}
	if err := s.accounts.CheckRemoval(r.Context(), p.User, remaining); err != nil {
		return err
	}
	ctx, e := s.withEvent(r, sesame.Event{Type: sesame.EventPasskeyRemoved, UserID: p.UserID, Username: p.User.Username,
		SessionID: p.SessionID, Reason: truncate(id, 64)})
	if err := s.cfg.Passkeys.Remove(ctx, p.UserID, id); err != nil {
		return notFoundAs(err, "no such passkey")
	}
	s.auditIn(ctx, r, e)
	return nil
}

// notFoundAs gives a store's ErrNotFound a client message.
func notFoundAs(err error, msg string) error {
	if sesame.ErrorCode(err) == sesame.ENotFound {
		return sesame.Errorf(sesame.ENotFound, "%s", msg)
	}
	return err
}

// apiPasskeyLoginBegin is POST /api/v1/login/passkey/begin {}: the options
// for navigator.credentials.get of a passwordless sign-in (any
// discoverable passkey of this site, user verification required), and the
// ceremony cookie. Throttled per client IP.
func (s *Server) apiPasskeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	s.passkeyBegin(w, r, nil, func() (json.RawMessage, string, error) {
		return s.cfg.Passkeys.BeginPasswordless(r.Context())
	})
}

// passkeyBegin is the begin request of every ceremony: an empty JSON body,
// the caller's check (nil: none), the per-IP throttle, then begin's
// options for the browser and its ceremony cookie.
func (s *Server) passkeyBegin(w http.ResponseWriter, r *http.Request, caller func() error, begin func() (json.RawMessage, string, error)) {
	var in struct{}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if caller != nil {
		if err := caller(); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if err := s.throttlePasskeyBegin(w, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	opts, c, err := begin()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.setPasskeyCookie(w, c); err != nil {
		s.writeError(w, r, sesame.Wrap(sesame.EInternal, err, "could not set the ceremony cookie"))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, opts)
}

// passkeyLoginResponse is a passkey sign-in's answer: the user, the
// session, and where the page goes next.
type passkeyLoginResponse struct {
	User    sesame.PublicUser   `json:"user"`
	Session *sesame.SessionInfo `json:"session"`
	Next    string              `json:"next"`
}

// apiPasskeyLoginFinish is POST /api/v1/login/passkey/finish
// {"credential","remember","next"}: verifies the assertion against the
// ceremony this browser began and signs the passkey's owner in with a new
// session cookie. 200 {"user","session","next"} (next: the checked return
// target, as the login form's); 401 for any assertion that does not
// verify; 403 for a blocked user.
func (s *Server) apiPasskeyLoginFinish(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Credential json.RawMessage `json:"credential"`
		Remember   bool            `json:"remember"`
		Next       string          `json:"next"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	c, err := s.cfg.Passkeys.FinishPasswordless(ctx, takePasskeyCookie(w, r), in.Credential)
	if err != nil {
		s.passkeyFailed(w, r, sesame.Event{Reason: "passwordless sign-in"}, err)
		return
	}
	u, err := s.accounts.Users.UserByID(ctx, c.UserID)
	if err != nil {
		s.writeError(w, r, notFoundAs(err, "the passkey could not be verified"))
		return
	}
	if u.Blocked {
		s.audit(r, sesame.Event{Type: sesame.EventLoginFailure, UserID: u.ID, Username: u.Username, Reason: "blocked (passkey)"})
		s.writeError(w, r, sesame.Errorf(sesame.EForbidden, "this account is blocked"))
		return
	}
	remember := in.Remember && !s.cfg.NoRememberMe
	sess, err := s.sessions.Login(w, r, u.ID, s.passkeyLoginOptions(session.LoginOptions{Remember: remember, Device: s.device(r)}))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.audit(r, sesame.Event{Type: sesame.EventPasskeyUsed, UserID: u.ID, Username: u.Username, SessionID: sess.ID,
		Reason: c.ID + " passwordless"})
	s.audit(r, sesame.Event{Type: sesame.EventLoginSuccess, UserID: u.ID, Username: u.Username, SessionID: sess.ID, Reason: "passkey"})
	info := sess.Info(true)
	writeJSON(w, http.StatusOK, passkeyLoginResponse{User: u.Public(), Session: &info, Next: s.returnTarget(in.Next)})
}

// passkeyLoginOptions completes the options of a passwordless sign-in:
// amr hwk. Its level is the factors' one-factor level (sesame.ACROneFactor:
// "a password, or a passkey alone"), although user verification was
// required; see docs/passkeys.md.
func (s *Server) passkeyLoginOptions(o session.LoginOptions) session.LoginOptions {
	o.AMR, o.ACR = []string{sesame.AMRHardwareKey}, sesame.ACROneFactor
	return o
}
