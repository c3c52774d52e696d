package server

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/factor"
	"github.com/sesame-auth/sesame/session"
)

// The pages of second factors: the second step of a sign-in, enrolment
// (from the account page, or required after the password), recovery codes
// shown once, and the step-up form that sensitive actions send the
// browser to. Like every page, without inline script or style; the QR code
// is inline SVG (the CSP forbids data: images).

// factorPage is what the second-factor pages and the account page's
// section see.
type factorPage struct {
	Methods       []string      // the second-factor page's methods
	TOTP          bool          // the second-factor page offers a code
	Passkey       bool          // ... and a passkey
	Enrol         bool          // the enrolment is required to finish signing in
	Enrollment    *factorEnrol  // a TOTP enrolment in progress
	RecoveryCodes []string      // shown once
	View          *factorsView  // the account page's section
	NeedCode      bool          // the step-up form asks for a code
	PasskeyStepUp bool          // the step-up form offers a passkey
	QR            template.HTML // inline SVG of the otpauth URI
}

type factorEnrol struct {
	ID, Secret, URI string
}

// handleSecondFactorPage is GET /login/second-factor: the code form (and
// passkey button) of a pending session; without one, the login page.
func (s *Server) handleSecondFactorPage(w http.ResponseWriter, r *http.Request) {
	next := s.returnTarget(r.URL.Query().Get("next"))
	p, ok := session.PendingSession(r.Context())
	if !ok {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	s.renderSecondFactor(w, r, p, http.StatusOK, next, "")
}

func (s *Server) renderSecondFactor(w http.ResponseWriter, r *http.Request, p *sesame.Session, status int, next, msg string) {
	methods, err := s.accounts.SecondFactors(r.Context(), p.UserID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if len(methods) == 0 {
		// Nothing to give: the user must enrol one.
		http.Redirect(w, r, "/account/factors/setup?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	fp := &factorPage{Methods: methods}
	for _, m := range methods {
		fp.TOTP = fp.TOTP || m == account.MethodTOTP || m == account.MethodRecovery
		fp.Passkey = fp.Passkey || m == account.MethodPasskey && s.cfg.Passkeys != nil
	}
	s.allowFormRedirect(w, next)
	s.render(w, r, status, "second_factor", pageData{Title: "Second step", Next: next, Error: msg, Factor: fp})
}

// handleSecondFactorForm is POST /login/second-factor: the code.
func (s *Server) handleSecondFactorForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, sesame.Errorf(sesame.EInvalid, "the form could not be read"))
		return
	}
	next := s.returnTarget(r.PostForm.Get("next"))
	p, ok := session.PendingSession(r.Context())
	if !ok {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	if _, _, err := s.completeWithCode(w, r, r.PostForm.Get("code"), "session"); err != nil {
		setRetryAfter(w, err)
		if errors.Is(err, account.ErrFactorEnded) || errors.Is(err, session.ErrNoPending) {
			s.render(w, r, sesame.HTTPStatus(sesame.ErrorCode(err)), "login", pageData{Title: "Sign in", Error: sesame.ErrorMessage(err), Next: next})
			return
		}
		s.renderSecondFactor(w, r, p, sesame.HTTPStatus(sesame.ErrorCode(err)), next, sesame.ErrorMessage(err))
		return
	}
	s.allowFormRedirect(w, next)
	s.allowOAuthFormRedirect(w, r, next)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// handleEnrolPage is GET /account/factors/setup: the TOTP enrolment's
// first page, for a signed-in user or a pending one who must enrol.
func (s *Server) handleEnrolPage(w http.ResponseWriter, r *http.Request) {
	next := s.returnTarget(r.URL.Query().Get("next"))
	o, err := s.factorOwnerFor(r, true)
	if err != nil {
		if errors.Is(err, errUnauthenticated) {
			http.Redirect(w, r, "/login?next="+url.QueryEscape("/account/factors/setup"), http.StatusSeeOther)
			return
		}
		s.renderError(w, r, err)
		return
	}
	fp := &factorPage{Enrol: o.Pending != nil}
	s.render(w, r, http.StatusOK, "totp", pageData{Title: "Set up an authenticator app", Next: next, Factor: fp, User: publicOf(o.User)})
}

func publicOf(u *sesame.User) *sesame.PublicUser {
	pu := u.Public()
	return &pu
}

// handleTOTPBeginForm is POST /account/factors/totp {name}: a new
// enrolment, shown as a QR code and as text, with the confirmation form.
func (s *Server) handleTOTPBeginForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, sesame.Errorf(sesame.EInvalid, "the form could not be read"))
		return
	}
	next := s.returnTarget(r.PostForm.Get("next"))
	e, err := s.beginTOTP(r, r.PostForm.Get("name"))
	if err != nil {
		s.formStepUp(w, r, err, "/account")
		return
	}
	s.renderEnrolment(w, r, http.StatusOK, e.ID, e.Secret, e.URI, next, "")
}

func (s *Server) renderEnrolment(w http.ResponseWriter, r *http.Request, status int, id, secret, uri, next, msg string) {
	qr, err := factor.QRCodeSVG(uri)
	if err != nil {
		s.renderError(w, r, sesame.Wrap(sesame.EInternal, err, "could not draw the QR code"))
		return
	}
	_, pending := session.PendingSession(r.Context())
	fp := &factorPage{Enrollment: &factorEnrol{ID: id, Secret: secret, URI: uri}, QR: template.HTML(qr), Enrol: pending}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "totp", pageData{Title: "Set up an authenticator app", Next: next, Error: msg, Factor: fp})
}

// handleTOTPConfirmForm is POST /account/factors/totp/confirm {id, code}:
// the recovery codes page (the first time), or the account page.
func (s *Server) handleTOTPConfirmForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, sesame.Errorf(sesame.EInvalid, "the form could not be read"))
		return
	}
	next := s.returnTarget(r.PostForm.Get("next"))
	out, err := s.confirmTOTP(w, r, r.PostForm.Get("id"), r.PostForm.Get("code"))
	if err != nil {
		if sesame.ErrorCode(err) == sesame.EUnauthenticated && errors.Is(err, factor.ErrWrongCode) {
			// Show the same enrolment again: the secret is the user's to see
			// until confirmed; the form carries it back.
			secret, uri := r.PostForm.Get("secret"), r.PostForm.Get("uri")
			if len(secret) <= 64 && len(uri) <= 512 && secret != "" {
				s.renderEnrolment(w, r, http.StatusUnauthorized, r.PostForm.Get("id"), secret, uri, next, sesame.ErrorMessage(err))
				return
			}
		}
		s.formStepUp(w, r, err, "/account")
		return
	}
	if len(out.RecoveryCodes) > 0 {
		s.renderRecovery(w, r, out.RecoveryCodes, next)
		return
	}
	if out.Session != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account?done=totp", http.StatusSeeOther)
}

func (s *Server) renderRecovery(w http.ResponseWriter, r *http.Request, codes []string, next string) {
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "recovery", pageData{Title: "Your recovery codes", Next: next, Factor: &factorPage{RecoveryCodes: codes}})
}

// handleFactorRemoveForm is POST /account/factors/{id}/remove.
func (s *Server) handleFactorRemoveForm(w http.ResponseWriter, r *http.Request) {
	if err := s.removeFactor(r, r.PathValue("id")); err != nil {
		s.formStepUp(w, r, err, "/account")
		return
	}
	http.Redirect(w, r, "/account?done=totp-removed", http.StatusSeeOther)
}

// handleRecoveryForm is POST /account/recovery-codes: a new set, shown
// once.
func (s *Server) handleRecoveryForm(w http.ResponseWriter, r *http.Request) {
	codes, err := s.regenerateRecovery(r)
	if err != nil {
		s.formStepUp(w, r, err, "/account")
		return
	}
	s.renderRecovery(w, r, codes, "/account")
}

func (s *Server) handleAdminResetFactorsForm(w http.ResponseWriter, r *http.Request) {
	if _, err := s.resetFactors(r); err != nil {
		s.formStepUp(w, r, err, "/admin")
		return
	}
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(r.PathValue("username"))+"?done=factors-reset", http.StatusSeeOther)
}

func (s *Server) handleAdminRequireFactorForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, sesame.Errorf(sesame.EInvalid, "the form could not be read"))
		return
	}
	if err := s.requireFactor(r, r.PostForm.Get("required") == "1"); err != nil {
		s.formStepUp(w, r, err, "/admin")
		return
	}
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(r.PathValue("username"))+"?done=factors-required", http.StatusSeeOther)
}

// formStepUp answers a form's error: no caller goes to the login page; a
// step-up refusal to the step-up form (renderError), which returns to the
// page (the user then submits the form again); any other error is the
// error page.
func (s *Server) formStepUp(w http.ResponseWriter, r *http.Request, err error, _ string) {
	if errors.Is(err, errUnauthenticated) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.renderError(w, r, err) // a step-up refusal: the step-up form
}

// handleReauthPage is GET /reauthenticate: the step-up form.
func (s *Server) handleReauthPage(w http.ResponseWriter, r *http.Request) {
	s.renderReauth(w, r, http.StatusOK, s.returnTarget(r.URL.Query().Get("next")), "")
}

func (s *Server) renderReauth(w http.ResponseWriter, r *http.Request, status int, next, msg string) {
	p, err := s.principal(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	methods, err := s.accounts.SecondFactors(r.Context(), p.UserID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	fp := &factorPage{NeedCode: slices.Contains(methods, account.MethodTOTP)}
	fp.PasskeyStepUp = !fp.NeedCode && slices.Contains(methods, account.MethodPasskey) && s.cfg.Passkeys != nil
	s.render(w, r, status, "reauth", pageData{Title: "Confirm it's you", Next: next, Error: msg, Factor: fp})
}

// handleReauthForm is POST /reauthenticate {password, code, next}.
func (s *Server) handleReauthForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, sesame.Errorf(sesame.EInvalid, "the form could not be read"))
		return
	}
	next := s.returnTarget(r.PostForm.Get("next"))
	p, err := s.principal(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if _, err := s.reauthenticate(w, r, p, r.PostForm.Get("password"), r.PostForm.Get("code")); err != nil {
		setRetryAfter(w, err)
		if errors.Is(err, account.ErrSessionEnded) || errors.Is(err, account.ErrFactorEnded) {
			s.render(w, r, http.StatusUnauthorized, "login", pageData{Title: "Sign in", Error: sesame.ErrorMessage(err), Next: next})
			return
		}
		s.renderReauth(w, r, sesame.HTTPStatus(sesame.ErrorCode(err)), next, sesame.ErrorMessage(err))
		return
	}
	s.allowFormRedirect(w, next)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// apiReauthPasskeyBegin is POST /api/v1/reauthenticate/passkey/begin {}:
// the options of a passkey step-up, bound to the caller's session.
func (s *Server) apiReauthPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	var p *sesame.Principal
	s.passkeyBegin(w, r, func() (err error) {
		p, err = s.principal(r)
		return err
	}, func() (json.RawMessage, string, error) {
		return s.cfg.Passkeys.BeginSecondFactor(r.Context(), p.UserID, p.SessionID)
	})
}

// apiReauthPasskeyFinish is POST /api/v1/reauthenticate/passkey/finish
// {"password","credential","next"}: the step-up of a user whose second
// factor is a passkey: the password (account.Reauthenticate) and an
// assertion of one of their passkeys.
func (s *Server) apiReauthPasskeyFinish(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Password   string          `json:"password"`
		Credential json.RawMessage `json:"credential"`
		Next       string          `json:"next"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.principal(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	ip := s.cfg.ClientIPs.ClientIP(r)
	cookieValue := takePasskeyCookie(w, r)
	u, err := s.accounts.Reauthenticate(ctx, p.UserID, p.SessionID, in.Password, ip)
	if err != nil {
		if errors.Is(err, account.ErrSessionEnded) && p.Method == sesame.MethodSession {
			s.sessions.Logout(w, r)
		}
		s.writeError(w, r, err)
		return
	}
	c, err := s.cfg.Passkeys.FinishSecondFactor(ctx, p.UserID, p.SessionID, cookieValue, in.Credential)
	if err != nil {
		s.passkeyFailed(w, r, sesame.Event{UserID: p.UserID, SessionID: p.SessionID, Reason: "step-up"}, err)
		return
	}
	sess, err := s.sessions.StepUp(ctx, p.SessionID, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.audit(r, sesame.Event{Type: sesame.EventPasskeyUsed, UserID: u.ID, Username: u.Username, SessionID: p.SessionID, Reason: c.ID + " step-up"})
	s.audit(r, sesame.Event{Type: sesame.EventStepUp, UserID: u.ID, Username: u.Username, SessionID: p.SessionID, Reason: "password + passkey"})
	if p.Method == sesame.MethodSession {
		if err := s.sessions.Renew(r); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, struct {
		reauthResponse
		Next string `json:"next"`
	}{reauthResponse{StepUpTime: sess.StepUpTime(), ACR: sess.Level(), Refresh: p.Method != sesame.MethodSession}, s.returnTarget(in.Next)})
}

// redirectSecondStep sends a browser whose password was right to the
// second step: the code (or passkey) form, or the enrolment it must do.
func (s *Server) redirectSecondStep(w http.ResponseWriter, r *http.Request, step *account.LoginStep, next string) {
	to := "/login/second-factor"
	if step.Enrol {
		to = "/account/factors/setup"
	}
	http.Redirect(w, r, to+"?next="+url.QueryEscape(next), http.StatusSeeOther)
}
