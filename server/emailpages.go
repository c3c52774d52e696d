package server

import (
	"bytes"
	"net/http"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/email"
)

// mailView is what the email pages (mail.html) show.
type mailView struct {
	Form   string // "forgot", "reset", "verify", "confirm", or "" for a message only
	Action string // the form's path
}

// emailInfo is the account page's email section.
type emailInfo struct {
	Email    string
	Verified bool
	// KnownDevices are the devices the user signed in from (SEC-48),
	// most recent first.
	KnownDevices []knownDevice
}

// knownDevice is one row of the account page's "Known devices".
type knownDevice struct {
	UserAgent           string
	FirstSeen, LastSeen time.Time
	Current             bool // the browser showing the page
}

// Device cookie: a random value the browser keeps for 400 days
// (HttpOnly, SameSite=Lax), hashed in the store; a sign-in without it, or
// with one the user has not signed in with before, is a new device
// (docs/email.md).
const deviceCookieMaxAge = 400 * 24 * time.Hour

func (s *Server) secureCookies() bool { return !s.sessions.Config().InsecureCookie }

func (s *Server) cookieName(base string) string {
	if s.secureCookies() {
		return "__Host-" + base
	}
	return base
}

// deviceCookie returns the browser's device cookie, setting a new one
// when it has none (or a malformed one).
func (s *Server) deviceCookie(w http.ResponseWriter, r *http.Request) string {
	name := s.cookieName("sesame-device")
	if c, err := r.Cookie(name); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	v := email.NewDeviceCookie()
	http.SetCookie(w, &http.Cookie{Name: name, Value: v, Path: "/", MaxAge: int(deviceCookieMaxAge / time.Second),
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
	return v
}

// linkLanding is GET /password/reset, /email/verify and /email/confirm: a
// ?token= moves into an HttpOnly cookie for this flow and the browser is
// sent to the same path without it; without one the page's form is
// shown (its POST uses the cookie).
func (s *Server) linkLanding(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if tok := r.URL.Query().Get("token"); tok != "" {
			if len(tok) > 100 {
				tok = ""
			}
			http.SetCookie(w, &http.Cookie{Name: s.cookieName("sesame-" + kind), Value: tok, Path: "/", MaxAge: 3600,
				HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
			http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
			return
		}
		if _, err := r.Cookie(s.cookieName("sesame-" + kind)); err != nil {
			s.renderError(w, r, email.ErrBadLink)
			return
		}
		title := map[string]string{"reset": "Choose a new password", "verify": "Confirm your email address", "confirm": "Confirm your new email address"}[kind]
		s.render(w, r, http.StatusOK, "mail", pageData{Title: title, Mail: &mailView{Form: kind, Action: r.URL.Path}})
	}
}

// linkToken reads and clears the flow's token cookie.
func (s *Server) linkToken(w http.ResponseWriter, r *http.Request, kind string) string {
	name := s.cookieName("sesame-" + kind)
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
	return c.Value
}

func (s *Server) handleForgotPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "mail", pageData{Title: "Forgot your password?", Mail: &mailView{Form: "forgot", Action: "/password/forgot"}})
}

func (s *Server) handleForgotForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.formError(w, r, "mail", "Forgot your password?", err)
		return
	}
	if err := s.forgot(r, r.PostForm.Get("login")); err != nil {
		setRetryAfter(w, err)
		s.render(w, r, sesame.HTTPStatus(sesame.ErrorCode(err)), "mail", pageData{Title: "Forgot your password?",
			Error: sesame.ErrorMessage(err), Mail: &mailView{Form: "forgot", Action: "/password/forgot"}})
		return
	}
	s.render(w, r, http.StatusAccepted, "mail", pageData{Title: "Check your mail", Mail: &mailView{},
		Notice: "If the account exists and has an email address, a link to reset its password is on its way. It works once, for 30 minutes."})
}

func (s *Server) handleResetForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.formError(w, r, "mail", "Choose a new password", err)
		return
	}
	tok := s.linkToken(w, r, "reset")
	if err := s.reset(r, tok, r.PostForm.Get("new_password")); err != nil {
		setRetryAfter(w, err)
		view := &mailView{}
		if sesame.ErrorCode(err) == sesame.EInvalid && err != email.ErrBadLink {
			// A refused password: the link is still good; keep it for the next try.
			http.SetCookie(w, &http.Cookie{Name: s.cookieName("sesame-reset"), Value: tok, Path: "/", MaxAge: 3600,
				HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
			view = &mailView{Form: "reset", Action: "/password/reset"}
		}
		s.render(w, r, sesame.HTTPStatus(sesame.ErrorCode(err)), "mail", pageData{Title: "Choose a new password",
			Error: sesame.ErrorMessage(err), Mail: view})
		return
	}
	s.render(w, r, http.StatusOK, "mail", pageData{Title: "Password changed", Mail: &mailView{},
		Notice: "Your password was changed and every session of your account was signed out. Sign in with your new password."})
}

func (s *Server) handleLinkForm(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.useLink(r, kind, s.linkToken(w, r, kind)); err != nil {
			s.renderError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "mail", pageData{Title: "Email address confirmed", Mail: &mailView{},
			Notice: "Thank you: your email address is confirmed."})
	}
}

func (s *Server) handleEmailChangeForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, sesame.Errorf(sesame.EInvalid, "the form could not be read"))
		return
	}
	if err := s.changeEmail(r, r.PostForm.Get("email"), r.PostForm.Get("current_password")); err != nil {
		setRetryAfter(w, err)
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?done=email-sent", http.StatusSeeOther)
}

func (s *Server) handleEmailResendForm(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err == nil {
		err = s.mail.SendVerification(r.Context(), p.User.ID)
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?done=verify-sent", http.StatusSeeOther)
}

func (s *Server) handleAdminEmailForm(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.adminEmail(r, kind); err != nil {
			s.renderError(w, r, err)
			return
		}
		http.Redirect(w, r, adminUserURL(normalizedName(r.PathValue("username")), "email-"+kind), http.StatusSeeOther)
	}
}

// accountEmail is the account page's email section, nil without mail.
func (s *Server) accountEmail(r *http.Request, userID string) *emailInfo {
	if s.mail == nil {
		return nil
	}
	info := &emailInfo{}
	if a, err := s.mail.AddressOf(r.Context(), userID); err == nil && a != nil {
		info.Email, info.Verified = a.Email, a.Verified()
	}
	info.KnownDevices = s.accountDevices(r, userID)
	return info
}

// accountDevices lists the user's known devices for the account page,
// marking the one whose device cookie the request carries. A store that
// cannot answer leaves the list empty (the page still shows).
func (s *Server) accountDevices(r *http.Request, userID string) []knownDevice {
	ds, err := s.mail.Store.Devices(r.Context(), userID)
	if err != nil {
		s.log.Warn("account page: cannot list the known devices", "err", err)
		return nil
	}
	var mine []byte
	if c, err := r.Cookie(s.cookieName("sesame-device")); err == nil && len(c.Value) == 43 {
		mine = email.HashDevice(c.Value)
	}
	out := make([]knownDevice, 0, len(ds))
	for _, d := range ds {
		out = append(out, knownDevice{UserAgent: d.UserAgent, FirstSeen: d.FirstSeen, LastSeen: d.LastSeen,
			Current: mine != nil && bytes.Equal(mine, d.Hash)})
	}
	return out
}

// emailNotice maps the email outcome codes of ?done= to messages.
func emailNotice(code string) string {
	switch code {
	case "email-sent":
		return "A confirmation link was sent to the new address: your address changes when you follow it."
	case "verify-sent":
		return "A new verification link was sent."
	case "email-reset":
		return "A password-reset link was sent to the user's address."
	case "email-verify":
		return "The user's address is marked verified."
	}
	return ""
}

// normalizedName is a username as stored, or the text itself when it is
// not a valid username.
func normalizedName(name string) string {
	if n, err := sesame.NormalizeUsername(name); err == nil {
		return n
	}
	return name
}
