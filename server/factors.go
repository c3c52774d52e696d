package server

import (
	"encoding/json"
	"errors"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/factor"
	"github.com/sesame-auth/sesame/passkey"
	"github.com/sesame-auth/sesame/session"
)

// Second factors (issue 13): the second step of a sign-in, TOTP enrolment
// and removal, recovery codes, step-up, and the administrators' reset and
// requirement. The codes are checked by package factor under the login
// policy of package account (throttle, per-session limit, audit); the
// pending session that waits for the factor is package session's (SEC-60).

// factorRoutes are the routes of second factors. The second step of a
// sign-in and the step-up are always there (a step-up needs only the
// password when the user has no second factor).
func (s *Server) factorRoutes() []Route {
	r := []Route{
		{"GET", "/login/second-factor", false, s.handleSecondFactorPage},
		{"POST", "/login/second-factor", false, s.handleSecondFactorForm},
		{"POST", "/api/v1/login/second-factor", false, s.apiSecondFactor},
		{"POST", "/api/v1/reauthenticate", false, s.apiReauthenticate},
		{"GET", "/reauthenticate", true, s.handleReauthPage},
		{"POST", "/reauthenticate", true, s.handleReauthForm},
	}
	if s.cfg.Passkeys != nil {
		r = append(r,
			Route{"POST", "/api/v1/login/second-factor/passkey/begin", false, s.apiPasskeySecondBegin},
			Route{"POST", "/api/v1/login/second-factor/passkey/finish", false, s.apiPasskeySecondFinish},
			Route{"POST", "/api/v1/reauthenticate/passkey/begin", false, s.apiReauthPasskeyBegin},
			Route{"POST", "/api/v1/reauthenticate/passkey/finish", false, s.apiReauthPasskeyFinish},
		)
	}
	if s.cfg.Factors != nil {
		r = append(r,
			Route{"GET", "/api/v1/factors", false, s.apiFactors},
			Route{"POST", "/api/v1/factors/totp", false, s.apiTOTPBegin},
			Route{"POST", "/api/v1/factors/totp/confirm", false, s.apiTOTPConfirm},
			Route{"DELETE", "/api/v1/factors/{id}", false, s.apiFactorRemove},
			Route{"POST", "/api/v1/factors/recovery-codes", false, s.apiRecoveryRegenerate},
			Route{"DELETE", "/api/v1/admin/users/{username}/factors", false, s.apiAdminResetFactors},
			Route{"PUT", "/api/v1/admin/users/{username}/factors/required", false, s.apiAdminRequireFactor},
			Route{"GET", "/account/factors/setup", false, s.handleEnrolPage},
			Route{"POST", "/account/factors/totp", false, s.handleTOTPBeginForm},
			Route{"POST", "/account/factors/totp/confirm", false, s.handleTOTPConfirmForm},
			Route{"POST", "/account/factors/{id}/remove", true, s.handleFactorRemoveForm},
			Route{"POST", "/account/recovery-codes", true, s.handleRecoveryForm},
			Route{"POST", "/admin/users/{username}/factors/reset", true, s.handleAdminResetFactorsForm},
			Route{"POST", "/admin/users/{username}/factors/required", true, s.handleAdminRequireFactorForm},
		)
	}
	return r
}

// secondFactorResponse answers a password that was right when a second
// factor is still needed: a pending session cookie and no credential.
type secondFactorResponse struct {
	SecondFactorRequired bool     `json:"second_factor_required"`
	Methods              []string `json:"methods"`
	EnrolmentRequired    bool     `json:"enrolment_required,omitempty"`
}

// errNeedsSecondFactor is what login returns, with the step, when the
// password was right and a pending session was started.
type errNeedsSecondFactor struct{ step *account.LoginStep }

func (e *errNeedsSecondFactor) Error() string { return "a second factor is required" }

// needsSecondFactor returns the step of an error from login.
func needsSecondFactor(err error) (*account.LoginStep, bool) {
	var e *errNeedsSecondFactor
	if errors.As(err, &e) {
		return e.step, true
	}
	return nil, false
}

// startPending starts the pending session of a user who proved their
// password and must still give (or enrol) a second factor.
func (s *Server) startPending(w http.ResponseWriter, r *http.Request, u *sesame.User, remember bool, step *account.LoginStep) error {
	sess, err := s.sessions.Login(w, r, u.ID, session.LoginOptions{Remember: remember, Device: s.device(r), Pending: true})
	if err != nil {
		return err
	}
	reason := "second factor"
	if step.Enrol {
		reason = "enrolment of a second factor"
	}
	s.log.Info("password accepted, waiting for a second factor", "user", u.ID, "session", sess.ID, "step", reason)
	return &errNeedsSecondFactor{step: step}
}

func writeSecondFactorRequired(w http.ResponseWriter, step *account.LoginStep) {
	methods := step.Methods
	if methods == nil {
		methods = []string{}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, secondFactorResponse{SecondFactorRequired: true, Methods: methods, EnrolmentRequired: step.Enrol})
}

// secondFactorIn is the body of POST /api/v1/login/second-factor: the code
// and, for a token client, the transport and client as in the login.
type secondFactorIn struct {
	Code      string `json:"code"`
	Transport string `json:"transport"`
	ClientID  string `json:"client_id"`
	Scope     string `json:"scope"`
}

// pendingFor returns the request's pending session, or ErrNoPending.
func pendingFor(r *http.Request) (*sesame.Session, error) {
	p, ok := session.PendingSession(r.Context())
	if !ok {
		return nil, session.ErrNoPending
	}
	return p, nil
}

// checkTransport validates a second-factor request's transport before any
// code is spent.
func (s *Server) checkTransport(t string) error {
	switch t {
	case "", "session":
		return nil
	case "header", "cookie":
		if s.tokens == nil {
			return sesame.Errorf(sesame.EInvalid, "token transports are off on this server")
		}
		return s.transportAllowed(t)
	}
	return sesame.Errorf(sesame.EInvalid, `transport must be "session", "header" or "cookie"`)
}

// apiSecondFactor is POST /api/v1/login/second-factor {"code",
// "transport","client_id","scope"}: completes the pending session with a
// TOTP or recovery code. The answer is the login's for the transport: the
// user and session (a new session cookie), or the tokens.
func (s *Server) apiSecondFactor(w http.ResponseWriter, r *http.Request) {
	var in secondFactorIn
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.checkTransport(in.Transport); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, sess, err := s.completeWithCode(w, r, in.Code, in.Transport)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.answerLogin(w, r, u, sess, in.Transport, in.ClientID, in.Scope)
}

// completeWithCode checks a code for the request's pending session and
// completes it.
func (s *Server) completeWithCode(w http.ResponseWriter, r *http.Request, code, transport string) (*sesame.User, *sesame.Session, error) {
	p, err := pendingFor(r)
	if err != nil {
		return nil, nil, err
	}
	if s.cfg.Factors == nil {
		return nil, nil, factor.ErrWrongCode
	}
	method, err := s.accounts.SecondFactor(r.Context(), account.SecondFactorRequest{UserID: p.UserID, SessionID: p.ID,
		Code: code, IP: s.cfg.ClientIPs.ClientIP(r), UserAgent: truncate(r.UserAgent(), 256)})
	if err != nil {
		if errors.Is(err, account.ErrFactorEnded) {
			s.sessions.Logout(w, r) // the pending cookie names an ended session: drop it
		}
		return nil, nil, err
	}
	return s.completePending(w, r, p, method, transport)
}

// completePending replaces the pending session p by a signed-in one after
// its second factor (method) was checked.
func (s *Server) completePending(w http.ResponseWriter, r *http.Request, p *sesame.Session, method, transport string) (*sesame.User, *sesame.Session, error) {
	u, err := s.accounts.Users.UserByID(r.Context(), p.UserID)
	if err != nil {
		return nil, nil, notFoundAs(err, "sign in again")
	}
	if u.Blocked {
		return nil, nil, account.ErrBlocked
	}
	tokens := transport == "header" || transport == "cookie"
	opts := session.CompleteOptions{Method: method, Tokens: tokens}
	if transport == "header" {
		on := true // a client that holds its tokens keeps a long session, as in loginWithTokens
		opts.Remember = &on
	}
	sess, err := s.sessions.CompletePending(w, r, opts)
	if err != nil {
		return nil, nil, err
	}
	s.audit(r, sesame.Event{Type: sesame.EventLoginSuccess, UserID: u.ID, Username: u.Username, SessionID: sess.ID,
		Reason: "password + " + method})
	s.afterLogin(w, r, u, !tokens)
	return u, sess, nil
}

// answerLogin writes the answer of a completed sign-in for its transport.
func (s *Server) answerLogin(w http.ResponseWriter, r *http.Request, u *sesame.User, sess *sesame.Session, transport, clientID, scope string) {
	if transport != "header" && transport != "cookie" {
		info := sess.Info(true)
		writeJSON(w, http.StatusOK, meResponse{User: u.Public(), Session: &info})
		return
	}
	p, err := s.tokens.Issue(r.Context(), sess, clientID, scope)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pu := u.Public()
	s.writePair(w, r, transport, p, &pu)
}

// apiPasskeySecondBegin is POST /api/v1/login/second-factor/passkey/begin
// {}: the options for navigator.credentials.get with the pending user's
// passkeys, bound to the pending session.
func (s *Server) apiPasskeySecondBegin(w http.ResponseWriter, r *http.Request) {
	var p *sesame.Session
	s.passkeyBegin(w, r, func() (err error) {
		p, err = pendingFor(r)
		return err
	}, func() (json.RawMessage, string, error) {
		return s.cfg.Passkeys.BeginSecondFactor(r.Context(), p.UserID, p.ID)
	})
}

// apiPasskeySecondFinish is POST /api/v1/login/second-factor/passkey/finish
// {"credential","transport","client_id","scope","next"}: verifies the
// assertion of one of the pending user's passkeys and completes the
// sign-in, as apiSecondFactor does with a code. A failed assertion counts
// against the pending session like a wrong code.
func (s *Server) apiPasskeySecondFinish(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Credential json.RawMessage `json:"credential"`
		Transport  string          `json:"transport"`
		ClientID   string          `json:"client_id"`
		Scope      string          `json:"scope"`
		Next       string          `json:"next"`
		Remember   bool            `json:"remember"` // sent by passkey.js; the pending session's choice stands
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.checkTransport(in.Transport); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := pendingFor(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	c, err := s.cfg.Passkeys.FinishSecondFactor(ctx, p.UserID, p.ID, takePasskeyCookie(w, r), in.Credential)
	if err != nil {
		if reason := passkey.FailureReason(err); reason != "" {
			if ferr := s.accounts.FactorFailure(ctx, p.UserID, p.ID, s.cfg.ClientIPs.ClientIP(r), "passkey: "+reason); ferr != nil {
				if errors.Is(ferr, account.ErrFactorEnded) {
					s.sessions.Logout(w, r)
				}
				s.writeError(w, r, ferr)
				return
			}
		}
		s.passkeyFailed(w, r, sesame.Event{UserID: p.UserID, SessionID: p.ID, Reason: "second factor"}, err)
		return
	}
	s.audit(r, sesame.Event{Type: sesame.EventPasskeyUsed, UserID: p.UserID, SessionID: p.ID, Reason: c.ID + " second factor"})
	u, sess, err := s.completePending(w, r, p, sesame.AMRHardwareKey, in.Transport)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Transport == "header" || in.Transport == "cookie" {
		s.answerLogin(w, r, u, sess, in.Transport, in.ClientID, in.Scope)
		return
	}
	info := sess.Info(true)
	writeJSON(w, http.StatusOK, passkeyLoginResponse{User: u.Public(), Session: &info, Next: s.returnTarget(in.Next)})
}

// stepUp refuses a sensitive action to a caller who has not given every
// factor of their session's level recently (SEC-14): 401
// step_up_required. A session cookie's time is its session's; a token's is
// its auth_time claim, so a token issued before a step-up does not pass.
func (s *Server) stepUp(p *sesame.Principal) error {
	if s.accounts.StepUpFresh(p.StepUpTime, s.cfg.StepUpMaxAge) {
		return nil
	}
	return account.ErrStepUpRequired
}

// factorStepUp is the step-up of an action that checks the password
// itself (a password or address change): a user who has a second factor
// must have given it recently, whatever the level of the session asking
// (SEC-14); a user without one needs nothing more than the password.
func (s *Server) factorStepUp(r *http.Request, p *sesame.Principal) error {
	methods, err := s.accounts.SecondFactors(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	if len(methods) == 0 {
		return nil
	}
	return s.stepUp(p)
}

// reauthIn is the body of POST /api/v1/reauthenticate.
type reauthIn struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

// reauthResponse is its answer: the new step-up time; a token caller gets
// a token carrying it by refreshing.
type reauthResponse struct {
	StepUpTime time.Time `json:"step_up_time"`
	ACR        string    `json:"acr"`
	Refresh    bool      `json:"refresh,omitempty"` // a token caller: refresh to carry the new auth_time
}

// apiReauthenticate is POST /api/v1/reauthenticate {"password","code"}:
// the step-up. The password is checked by account.Reauthenticate
// (throttled, audited, the session ends after too many wrong ones); a
// session at the two-factor level, or of a user who has a TOTP factor,
// must also give a code (account.SecondFactor).
func (s *Server) apiReauthenticate(w http.ResponseWriter, r *http.Request) {
	var in reauthIn
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.principal(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sess, err := s.reauthenticate(w, r, p, in.Password, in.Code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reauthResponse{StepUpTime: sess.StepUpTime(), ACR: sess.Level(), Refresh: p.Method != sesame.MethodSession})
}

// errPasskeyStepUp sends a passkey-only user to the passkey step-up.
var errPasskeyStepUp = sesame.Errorf(sesame.EStepUp, "confirm with your passkey as well as your password (POST /api/v1/reauthenticate/passkey/begin)")

// errCodeRequired asks for the second factor of a step-up.
var errCodeRequired = sesame.Errorf(sesame.EStepUp, "give the code of your authenticator app (or a recovery code) as well as your password")

func (s *Server) reauthenticate(w http.ResponseWriter, r *http.Request, p *sesame.Principal, pw, code string) (*sesame.Session, error) {
	ctx := r.Context()
	ip := s.cfg.ClientIPs.ClientIP(r)
	// A user with an authenticator app gives a code; a user whose only
	// second factor is a passkey uses the passkey step-up; a user with no
	// second factor left has nothing more to prove than the password.
	methods, err := s.accounts.SecondFactors(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	needCode := slices.Contains(methods, account.MethodTOTP)
	if !needCode && slices.Contains(methods, account.MethodPasskey) {
		// Whatever the session's level: a one-factor session from before
		// the passkey was added must not step up with the password alone.
		return nil, errPasskeyStepUp
	}
	factorProven := needCode || len(methods) == 0
	if needCode && code == "" {
		return nil, errCodeRequired
	}
	u, err := s.accounts.Reauthenticate(ctx, p.UserID, p.SessionID, pw, ip)
	if err != nil {
		if errors.Is(err, account.ErrSessionEnded) && p.Method == sesame.MethodSession {
			s.sessions.Logout(w, r)
		}
		return nil, err
	}
	if needCode {
		if _, err := s.accounts.SecondFactor(ctx, account.SecondFactorRequest{UserID: p.UserID, SessionID: p.SessionID,
			Code: code, IP: ip, UserAgent: truncate(r.UserAgent(), 256), StepUp: true}); err != nil {
			if errors.Is(err, account.ErrFactorEnded) && p.Method == sesame.MethodSession {
				s.sessions.Logout(w, r)
			}
			return nil, err
		}
	}
	sess, err := s.sessions.StepUp(ctx, p.SessionID, factorProven)
	if err != nil {
		return nil, err
	}
	reason := "password"
	if needCode {
		reason = "password + code"
	}
	s.audit(r, sesame.Event{Type: sesame.EventStepUp, UserID: u.ID, Username: u.Username, SessionID: p.SessionID, Reason: reason})
	if p.Method == sesame.MethodSession {
		if err := s.sessions.Renew(r); err != nil {
			return nil, err
		}
	}
	return sess, nil
}

// factorOwner is the caller who manages second factors: a signed-in
// caller, or, for an enrolment, a pending session whose user has no second
// factor yet (one required to enrol after the password). A pending session
// of a user who has a factor can do nothing here: enrolling a new factor
// must not be a way around the existing one.
type factorOwner struct {
	User      *sesame.User
	SessionID string
	Principal *sesame.Principal // nil for a pending session
	Pending   *sesame.Session
}

func (s *Server) factorOwnerFor(r *http.Request, enrol bool) (*factorOwner, error) {
	if p, err := s.principal(r); err == nil {
		return &factorOwner{User: p.User, SessionID: p.SessionID, Principal: p}, nil
	} else if !enrol {
		return nil, err
	}
	ps, ok := session.PendingSession(r.Context())
	if !ok {
		return nil, errUnauthenticated
	}
	ctx := r.Context()
	u, err := s.accounts.Users.UserByID(ctx, ps.UserID)
	if err != nil {
		return nil, notFoundAs(err, "sign in again")
	}
	if u.Blocked {
		return nil, errUnauthenticated
	}
	methods, err := s.accounts.SecondFactors(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if len(methods) > 0 {
		return nil, sesame.Errorf(sesame.EUnauthenticated, "give your second factor to sign in first")
	}
	return &factorOwner{User: u, SessionID: ps.ID, Pending: ps}, nil
}

// TOTPView is a TOTP factor as its owner sees it.
type TOTPView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// RecoveryView is the state of the caller's recovery codes (never the
// codes).
type RecoveryView struct {
	Total      int        `json:"total"`
	Unused     int        `json:"unused"`
	CreatedAt  *time.Time `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// factorsView is GET /api/v1/factors's answer.
type factorsView struct {
	TOTP          []TOTPView   `json:"totp"`
	Passkeys      int          `json:"passkeys"`
	RecoveryCodes RecoveryView `json:"recovery_codes"`
	Required      bool         `json:"required"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// factorsOf gathers u's factors.
func (s *Server) factorsOf(r *http.Request, u *sesame.User) (*factorsView, error) {
	ctx := r.Context()
	fs, err := s.cfg.Factors.List(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	v := &factorsView{TOTP: []TOTPView{}}
	for _, f := range fs {
		v.TOTP = append(v.TOTP, TOTPView{ID: f.ID, Name: f.Name, CreatedAt: f.CreatedAt, LastUsedAt: timePtr(f.LastUsedAt)})
	}
	rs, err := s.cfg.Factors.Recovery(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	v.RecoveryCodes = RecoveryView{Total: rs.Total, Unused: rs.Unused, CreatedAt: timePtr(rs.CreatedAt), LastUsedAt: timePtr(rs.LastUsedAt)}
	if s.cfg.Passkeys != nil {
		cs, err := s.cfg.Passkeys.List(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		v.Passkeys = len(cs)
	}
	if v.Required, err = s.accounts.FactorRequired(ctx, u); err != nil {
		return nil, err
	}
	return v, nil
}

// apiFactors is GET /api/v1/factors: the caller's TOTP factors, passkey
// count, recovery-code state and whether a second factor is required.
func (s *Server) apiFactors(w http.ResponseWriter, r *http.Request) {
	o, err := s.factorOwnerFor(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.factorsOf(r, o.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// totpBeginResponse is POST /api/v1/factors/totp's answer.
type totpBeginResponse struct {
	ID         string `json:"id"`
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
}

// beginTOTP starts an enrolment for the caller: step-up for a signed-in
// caller (adding a factor is sensitive), none for a pending session that
// must enrol (it has just proven the password).
func (s *Server) beginTOTP(r *http.Request, name string) (*factor.Enrollment, error) {
	o, err := s.factorOwnerFor(r, true)
	if err != nil {
		return nil, err
	}
	if o.Principal != nil {
		if err := s.stepUp(o.Principal); err != nil {
			return nil, err
		}
	}
	return s.cfg.Factors.BeginTOTP(r.Context(), o.User.ID, o.User.Username, name)
}

// apiTOTPBegin is POST /api/v1/factors/totp {"name"}: a new, unconfirmed
// TOTP factor: 201 {"id","secret","otpauth_uri"}. The secret is shown
// this once; the factor counts when confirmed by its first code.
func (s *Server) apiTOTPBegin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.beginTOTP(r, in.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, totpBeginResponse{ID: e.ID, Secret: e.Secret, OTPAuthURI: e.URI})
}

// totpConfirmResponse is POST /api/v1/factors/totp/confirm's answer:
// the recovery codes the first time (shown once), and, when the
// confirmation completed a sign-in that required an enrolment, the user
// and new session.
type totpConfirmResponse struct {
	Factor        TOTPView            `json:"factor"`
	RecoveryCodes []string            `json:"recovery_codes"`
	User          *sesame.PublicUser  `json:"user,omitempty"`
	Session       *sesame.SessionInfo `json:"session,omitempty"`
}

// confirmTOTP confirms an enrolment with its first code. For a pending
// session that had to enrol, the code is the second factor of its sign-in,
// which it then completes.
func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request, id, code string) (*totpConfirmResponse, error) {
	o, err := s.factorOwnerFor(r, true)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	// factor.enrolled is queued with the write that confirms the factor.
	tctx := ctx
	var enrolled sesame.Event
	if f, err := s.cfg.Factors.Factor(ctx, o.User.ID, id); err == nil && f.Kind == factor.KindTOTP {
		tctx, enrolled = s.withEvent(r, sesame.Event{Type: sesame.EventFactorEnrolled, UserID: o.User.ID, Username: o.User.Username,
			SessionID: o.SessionID, Reason: "totp " + f.ID + " " + strconv.Quote(f.Name)})
	}
	codes, err := s.cfg.Factors.ConfirmTOTP(tctx, o.User.ID, id, code)
	if err != nil {
		if errors.Is(err, factor.ErrWrongCode) {
			if ferr := s.accounts.FactorFailure(ctx, o.User.ID, o.SessionID, s.cfg.ClientIPs.ClientIP(r), "enrolment: wrong code"); ferr != nil {
				if errors.Is(ferr, account.ErrFactorEnded) && (o.Pending != nil || o.Principal.Method == sesame.MethodSession) {
					s.sessions.Logout(w, r)
				}
				return nil, ferr
			}
		}
		return nil, err
	}
	out := &totpConfirmResponse{RecoveryCodes: codes}
	if out.RecoveryCodes == nil {
		out.RecoveryCodes = []string{}
	}
	fs, err := s.cfg.Factors.List(ctx, o.User.ID)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if f.ID == id {
			out.Factor = TOTPView{ID: f.ID, Name: f.Name, CreatedAt: f.CreatedAt, LastUsedAt: timePtr(f.LastUsedAt)}
			e := sesame.Event{Type: sesame.EventFactorEnrolled, UserID: o.User.ID, Username: o.User.Username,
				SessionID: o.SessionID, Reason: "totp " + f.ID + " " + strconv.Quote(f.Name)}
			if enrolled.Reason == e.Reason {
				e = enrolled
			}
			s.auditIn(tctx, r, e)
		}
	}
	if len(codes) > 0 {
		s.audit(r, sesame.Event{Type: sesame.EventRecoveryCodesGenerated, UserID: o.User.ID, Username: o.User.Username,
			SessionID: o.SessionID, Reason: "with the first factor"})
	}
	if o.Pending != nil {
		u, sess, err := s.completePending(w, r, o.Pending, sesame.AMROTP, "session")
		if err != nil {
			return nil, err
		}
		pu := u.Public()
		info := sess.Info(true)
		out.User, out.Session = &pu, &info
	}
	return out, nil
}

// apiTOTPConfirm is POST /api/v1/factors/totp/confirm {"id","code"}.
func (s *Server) apiTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ID   string `json:"id"`
		Code string `json:"code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.confirmTOTP(w, r, in.ID, in.Code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// removeFactor removes one of the caller's TOTP factors: step-up, and
// refused when it is the last second factor of a user who must have one.
func (s *Server) removeFactor(r *http.Request, id string) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	if err := s.stepUp(p); err != nil {
		return err
	}
	defer s.lockRemovals(p.UserID)()
	v, err := s.factorsOf(r, p.User)
	if err != nil {
		return err
	}
	found := false
	for _, f := range v.TOTP {
		found = found || f.ID == id
	}
	if !found {
		return sesame.Errorf(sesame.ENotFound, "no such factor")
	}
	if err := s.accounts.CheckRemoval(r.Context(), p.User, len(v.TOTP)-1+v.Passkeys); err != nil {
		return err
	}
	ctx, e := s.withEvent(r, sesame.Event{Type: sesame.EventFactorRemoved, UserID: p.UserID, Username: p.User.Username,
		SessionID: p.SessionID, Reason: "totp " + truncate(id, 64)})
	if err := s.cfg.Factors.Remove(ctx, p.UserID, id); err != nil {
		return notFoundAs(err, "no such factor")
	}
	s.auditIn(ctx, r, e)
	return nil
}

// apiFactorRemove is DELETE /api/v1/factors/{id}: 204.
func (s *Server) apiFactorRemove(w http.ResponseWriter, r *http.Request) {
	if err := s.removeFactor(r, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// regenerateRecovery makes a new set of recovery codes (step-up); the
// old set is void.
func (s *Server) regenerateRecovery(r *http.Request) ([]string, error) {
	p, err := s.principal(r)
	if err != nil {
		return nil, err
	}
	if err := s.stepUp(p); err != nil {
		return nil, err
	}
	has, err := s.accounts.SecondFactors(r.Context(), p.UserID)
	if err != nil {
		return nil, err
	}
	if len(has) == 0 {
		return nil, sesame.Errorf(sesame.EConflict, "add a second factor first: recovery codes replace one")
	}
	ctx, e := s.withEvent(r, sesame.Event{Type: sesame.EventRecoveryCodesGenerated, UserID: p.UserID, Username: p.User.Username,
		SessionID: p.SessionID, Reason: "regenerated"})
	codes, err := s.cfg.Factors.Regenerate(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	s.auditIn(ctx, r, e)
	return codes, nil
}

// apiRecoveryRegenerate is POST /api/v1/factors/recovery-codes {}: 200
// {"recovery_codes":[...]}, shown this once.
func (s *Server) apiRecoveryRegenerate(w http.ResponseWriter, r *http.Request) {
	var in struct{}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	codes, err := s.regenerateRecovery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string][]string{"recovery_codes": codes})
}

// resetFactors removes every second factor of a user (TOTP, recovery
// codes and passkeys) and ends their sessions (account.ResetFactors).
func (s *Server) resetFactors(r *http.Request) (int, error) {
	admin, err := s.admin(r)
	if err != nil {
		return 0, err
	}
	_, n, err := s.accounts.ResetFactors(r.Context(), r.PathValue("username"), admin.Username)
	return n, err
}

// apiAdminResetFactors is DELETE /api/v1/admin/users/{username}/factors:
// 200 {"removed":N}.
func (s *Server) apiAdminResetFactors(w http.ResponseWriter, r *http.Request) {
	n, err := s.resetFactors(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"removed": n})
}

// requireFactor sets the per-user switch that requires a second factor.
func (s *Server) requireFactor(r *http.Request, on bool) error {
	admin, err := s.admin(r)
	if err != nil {
		return err
	}
	_, err = s.accounts.SetFactorRequired(r.Context(), r.PathValue("username"), on, admin.Username)
	return err
}

// apiAdminRequireFactor is PUT /api/v1/admin/users/{username}/factors/required
// {"required":true|false}: 200 {"required":...}.
func (s *Server) apiAdminRequireFactor(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Required *bool `json:"required"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Required == nil {
		s.writeError(w, r, sesame.Errorf(sesame.EInvalid, "required (true or false) is required"))
		return
	}
	if err := s.requireFactor(r, *in.Required); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"required": *in.Required})
}

// removalLocks serialise the removals of one user's factors in this
// process, so that two concurrent removals cannot both see the other
// factor and leave a user who must have one with none. (Two nodes can
// still race; the check and the delete are not one store transaction.)
type removalLocks [64]sync.Mutex

// lockRemovals locks userID's removals and returns the unlock.
func (s *Server) lockRemovals(userID string) func() {
	h := fnv.New32a()
	h.Write([]byte(userID))
	m := &s.removals[h.Sum32()%uint32(len(s.removals))]
	m.Lock()
	return m.Unlock
}
