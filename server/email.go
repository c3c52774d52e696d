package server

import (
	"net/http"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/email"
)

// The email routes (package email; docs/email.md): mounted only when
// Config.Email is set (smtp_url configured). Link tokens arrive in a
// URL (?token=) and leave it at once: the GET moves the token into an
// HttpOnly cookie scoped to the flow and redirects to the same path
// without it, so the token is in no history entry, no Referer (the
// server sends Referrer-Policy: no-referrer anyway) and no later log of
// the page; the token is used only by the POST of the page's form
// (GET never changes state, SEC-35, and a mail scanner that fetches the
// link uses nothing).
func (s *Server) emailRoutes() []Route {
	if s.mail == nil {
		return nil
	}
	return []Route{
		{"GET", "/password/forgot", false, s.handleForgotPage},
		{"POST", "/password/forgot", false, s.handleForgotForm},
		{"GET", "/password/reset", false, s.linkLanding("reset")},
		{"POST", "/password/reset", false, s.handleResetForm},
		{"GET", "/email/verify", false, s.linkLanding("verify")},
		{"POST", "/email/verify", false, s.handleLinkForm("verify")},
		{"GET", "/email/confirm", false, s.linkLanding("confirm")},
		{"POST", "/email/confirm", false, s.handleLinkForm("confirm")},
		{"POST", "/account/email", true, s.handleEmailChangeForm},
		{"POST", "/account/email/resend", true, s.handleEmailResendForm},
		{"POST", "/admin/users/{username}/email/reset-link", true, s.handleAdminEmailForm("reset")},
		{"POST", "/admin/users/{username}/email/verify", true, s.handleAdminEmailForm("verify")},

		{"POST", "/api/v1/password/forgot", false, s.apiForgot},
		{"POST", "/api/v1/password/reset", false, s.apiReset},
		{"POST", "/api/v1/email/verify", false, s.apiLinkToken("verify")},
		{"POST", "/api/v1/email/confirm", false, s.apiLinkToken("confirm")},
		{"GET", "/api/v1/email", false, s.apiEmail},
		{"PUT", "/api/v1/email", false, s.apiEmailChange},
		{"POST", "/api/v1/email/resend", false, s.apiEmailResend},
		{"POST", "/api/v1/admin/users/{username}/email/reset-link", false, s.apiAdminEmail("reset")},
		{"POST", "/api/v1/admin/users/{username}/email/verify", false, s.apiAdminEmail("verify")},
		{"PUT", "/api/v1/admin/users/{username}/email", false, s.apiAdminSetEmail},
	}
}

// emailFor returns the server's email service: a copy of cfg.Email with
// the server's account service, throttle, events and logger where it
// has none.
func emailFor(cfg Config, accounts *account.Service) *email.Service {
	if cfg.Email == nil {
		return nil
	}
	e := *cfg.Email
	e.Accounts = accounts
	if e.Throttle == nil {
		e.Throttle = cfg.Throttle
	}
	if e.Events == nil {
		e.Events = cfg.Events
	}
	if e.Logger == nil {
		e.Logger = cfg.Logger
	}
	return &e
}

// --- JSON API ---

// apiForgot is POST /api/v1/password/forgot {"login"} → 202, whether or
// not the login names an account (SEC-62); 429 when throttled.
func (s *Server) apiForgot(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Login string `json:"login"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.forgot(r, in.Login); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "if the account exists and has an address, a reset link is on its way"})
}

func (s *Server) forgot(r *http.Request, login string) error {
	if len(login) > email.MaxEmailBytes {
		login = login[:email.MaxEmailBytes] // names no account; counted like any other
	}
	return s.mail.Forgot(r.Context(), login, s.cfg.ClientIPs.ClientIP(r))
}

// apiReset is POST /api/v1/password/reset {"token","new_password"} → 204;
// every session and refresh token of the user ends.
func (s *Server) apiReset(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token       string `json:"token"`
		NewPassword string `json:"new_password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.reset(r, in.Token, in.NewPassword); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) reset(r *http.Request, tok, pw string) error {
	u, err := s.mail.Reset(r.Context(), tok, pw, s.cfg.ClientIPs.ClientIP(r), truncate(r.UserAgent(), 256))
	if err != nil {
		return err
	}
	s.users.forget(u.ID)
	return nil
}

// apiLinkToken is POST /api/v1/email/verify or /api/v1/email/confirm
// {"token"} → 204.
func (s *Server) apiLinkToken(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Token string `json:"token"`
		}
		if err := decodeJSON(r, &in); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.useLink(r, kind, in.Token); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) useLink(r *http.Request, kind, tok string) error {
	if kind == "confirm" {
		return s.mail.ConfirmChange(r.Context(), tok)
	}
	return s.mail.Verify(r.Context(), tok)
}

type emailResponse struct {
	Email    string `json:"email"`
	Verified bool   `json:"verified"`
}

// apiEmail is GET /api/v1/email: the caller's address ("" for none).
func (s *Server) apiEmail(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.mail.AddressOf(r.Context(), p.User.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := emailResponse{}
	if a != nil {
		out = emailResponse{Email: a.Email, Verified: a.Verified()}
	}
	writeJSON(w, http.StatusOK, out)
}

// apiEmailChange is PUT /api/v1/email {"email","password"} → 202: the
// caller's password is asked again (SEC-56), then a confirmation link
// goes to the new address; the address changes when it is followed.
func (s *Server) apiEmailChange(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.changeEmail(r, in.Email, in.Password); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "a confirmation link was sent to the new address"})
}

func (s *Server) changeEmail(r *http.Request, addr, pw string) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	// The password is asked below; a user with a second factor must also
	// have given it recently (SEC-14), as for a password change.
	if err := s.factorStepUp(r, p); err != nil {
		return err
	}
	if _, err := s.accounts.Reauthenticate(r.Context(), p.User.ID, p.SessionID, pw, s.cfg.ClientIPs.ClientIP(r)); err != nil {
		return err
	}
	return s.mail.RequestChange(r.Context(), p.User.ID, addr)
}

// apiEmailResend is POST /api/v1/email/resend → 202: a new verification
// link (the older ones die).
func (s *Server) apiEmailResend(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err == nil {
		err = s.mail.SendVerification(r.Context(), p.User.ID)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "a verification link was sent"})
}

// apiAdminEmail is POST /api/v1/admin/users/{username}/email/reset-link
// (→ 202) or .../email/verify (→ 204), audited.
func (s *Server) apiAdminEmail(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.adminEmail(r, kind); err != nil {
			s.writeError(w, r, err)
			return
		}
		if kind == "reset" {
			writeJSON(w, http.StatusAccepted, map[string]string{"status": "a reset link was sent"})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) adminEmail(r *http.Request, kind string) error {
	admin, err := s.admin(r)
	if err != nil {
		return err
	}
	if kind == "reset" {
		return s.mail.SendReset(r.Context(), r.PathValue("username"), admin.Username)
	}
	return s.mail.MarkVerified(r.Context(), r.PathValue("username"), admin.Username)
}

// apiAdminSetEmail is PUT /api/v1/admin/users/{username}/email {"email"}
// → 204: sets (unverified) or, with "", removes the user's address.
func (s *Server) apiAdminSetEmail(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.admin(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.mail.SetAddress(r.Context(), r.PathValue("username"), in.Email); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- hooks into sign-up and sign-in ---

// signupWithEmail is sign-up with an optional (or, with RequireEmail,
// required) address, checked before the account is created.
func (s *Server) signupWithEmail(r *http.Request, username, pw, addr string) (*sesame.User, error) {
	if s.mail == nil {
		if addr != "" {
			return nil, sesame.Errorf(sesame.EInvalid, "this server takes no email addresses (no mail is configured)")
		}
		return s.signup(r, username, pw)
	}
	norm, err := s.mail.CheckSignupAddress(r.Context(), addr)
	if err != nil {
		return nil, err
	}
	u, err := s.signup(r, username, pw)
	if err != nil {
		return nil, err
	}
	if err := s.mail.AttachAddress(r.Context(), u, norm); err != nil {
		s.log.Warn("email: the new account's address could not be saved", "err", err)
		return u, nil // the account exists; the address can be set from the account page
	}
	return u, nil
}

// loginName is the username a sign-in name designates (login_by_email).
func (s *Server) loginName(r *http.Request, name string) (string, error) {
	if s.mail == nil {
		return name, nil
	}
	return s.mail.LoginName(r.Context(), name)
}

// checkVerified refuses, under require_verified = login, a user whose
// address is not verified.
func (s *Server) checkVerified(r *http.Request, u *sesame.User) error {
	if s.mail == nil {
		return nil
	}
	return s.mail.CheckLogin(r.Context(), u)
}

// afterLogin voids the user's reset links and, for a browser (which
// carries the device cookie), sends the new-device notice (SEC-48).
func (s *Server) afterLogin(w http.ResponseWriter, r *http.Request, u *sesame.User, browser bool) {
	if s.mail == nil {
		return
	}
	device := ""
	if browser {
		device = s.deviceCookie(w, r)
	}
	s.mail.Login(r.Context(), u, device, truncate(r.UserAgent(), 256), s.cfg.ClientIPs.ClientIP(r))
}
