package account

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/factor"
)

// Factors is what the login policy needs of the second factors other than
// passkeys; *factor.Service is the one to use.
type Factors interface {
	// Check checks a TOTP or recovery code of the user and spends it.
	Check(ctx context.Context, userID, code string) (method string, f *factor.Factor, err error)
	// HasTOTP reports whether the user has a confirmed TOTP factor.
	HasTOTP(ctx context.Context, userID string) (bool, error)
	// Recovery describes the user's recovery codes.
	Recovery(ctx context.Context, userID string) (factor.RecoveryState, error)
	// Required reports the per-user switch set by an administrator.
	Required(ctx context.Context, userID string) (bool, error)
	// SetRequired sets it.
	SetRequired(ctx context.Context, userID string, on bool) error
	// Reset removes every TOTP factor and recovery code of the user and
	// returns how many factors there were.
	Reset(ctx context.Context, userID string) (int, error)
}

// The values of [Service.FactorPolicy]: who must have a second factor.
const (
	FactorsOptional = "optional" // nobody (the default): those who enrol one are asked for it
	FactorsAdmins   = "admins"   // administrators, and users an administrator requires it of
	FactorsEveryone = "everyone" // every user
)

// The second-factor methods a [LoginStep] may offer.
const (
	MethodTOTP     = "totp"
	MethodPasskey  = "passkey"
	MethodRecovery = "recovery_code"
)

// DefaultSecondFactorLimit is the default of [Service.SecondFactorLimit].
const DefaultSecondFactorLimit = 5

// AccountCodeLimit is how many second-factor codes one account may be
// given, from all clients together, within AccountCodeWindow of each other;
// more are refused (429) until the account has been quiet for the window.
// With about 3 valid codes in a million, 20 tries per quarter hour leave a
// guesser about 0.02 % a hour, however many addresses it uses.
const (
	AccountCodeLimit  = 20
	AccountCodeWindow = 15 * time.Minute
)

// LoginStep is what a user who has just proven their password must still
// do before they are signed in.
type LoginStep struct {
	// Methods are the second factors the user can give: MethodTOTP,
	// MethodPasskey, MethodRecovery. Empty when Enrol is set.
	Methods []string
	// Enrol says the user must have a second factor and has none: they may
	// only enrol one (which then completes the sign-in).
	Enrol bool
}

// ErrFactorEnded is the answer to the SecondFactorLimit-th wrong code of
// one session: the session (pending or not) has been ended.
var ErrFactorEnded = sesame.Errorf(sesame.EUnauthenticated, "too many wrong codes: sign in again")

// ErrLastFactor refuses to remove the last second factor of a user who
// must have one.
var ErrLastFactor = sesame.Errorf(sesame.EConflict, "a second factor is required for this account: add another before removing the last one")

// NextStep says what u, who has just proven their password, must do
// before being signed in: nil when nothing (no second factor, none
// required), else a second factor ([LoginStep.Methods]) or an enrolment
// ([LoginStep.Enrol]). A store that cannot answer is EUnavailable: the
// caller must not sign the user in on a guess.
func (s *Service) NextStep(ctx context.Context, u *sesame.User) (*LoginStep, error) {
	methods, err := s.SecondFactors(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if len(methods) > 0 {
		return &LoginStep{Methods: methods}, nil
	}
	required, err := s.FactorRequired(ctx, u)
	if err != nil {
		return nil, err
	}
	if required {
		return &LoginStep{Enrol: true}, nil
	}
	return nil, nil
}

// SecondFactors lists the second factors the user can give, in the order
// MethodPasskey, MethodTOTP, MethodRecovery; empty when the user has
// neither a TOTP factor nor a passkey (recovery codes alone are no second
// factor: they recover one).
func (s *Service) SecondFactors(ctx context.Context, userID string) ([]string, error) {
	var methods []string
	if s.HasPasskey != nil {
		ok, err := s.HasPasskey(ctx, userID)
		if err != nil {
			return nil, storeError(err)
		}
		if ok {
			methods = append(methods, MethodPasskey)
		}
	}
	if s.Factors != nil {
		ok, err := s.Factors.HasTOTP(ctx, userID)
		if err != nil {
			return nil, storeError(err)
		}
		if ok {
			methods = append(methods, MethodTOTP)
		}
	}
	if len(methods) == 0 || s.Factors == nil {
		return methods, nil
	}
	rs, err := s.Factors.Recovery(ctx, userID)
	if err != nil {
		return nil, storeError(err)
	}
	if rs.Unused > 0 {
		methods = append(methods, MethodRecovery)
	}
	return methods, nil
}

// FactorRequired reports whether u must have a second factor: by the
// deployment's FactorPolicy, or by an administrator's switch on the user.
func (s *Service) FactorRequired(ctx context.Context, u *sesame.User) (bool, error) {
	switch s.FactorPolicy {
	case FactorsEveryone:
		return true, nil
	case FactorsAdmins:
		if u.Admin {
			return true, nil
		}
	}
	if s.Factors == nil {
		return false, nil
	}
	on, err := s.Factors.Required(ctx, u.ID)
	if err != nil {
		return false, storeError(err)
	}
	return on, nil
}

// CheckRemoval refuses to remove one of u's second factors when it is the
// last and u must have one ([ErrLastFactor]). remaining is how many
// second factors (TOTP factors and passkeys) u would keep.
func (s *Service) CheckRemoval(ctx context.Context, u *sesame.User, remaining int) error {
	if remaining > 0 {
		return nil
	}
	required, err := s.FactorRequired(ctx, u)
	if err != nil {
		return err
	}
	if required {
		return ErrLastFactor
	}
	return nil
}

// SecondFactorRequest is one second-factor code given by a session: the
// pending session of a sign-in, or a signed-in session stepping up.
type SecondFactorRequest struct {
	UserID    string
	SessionID string // the session giving the code: it is ended after SecondFactorLimit wrong codes
	Code      string // a TOTP code or a recovery code
	IP        netip.Addr
	UserAgent string // for the audit record only
	StepUp    bool   // a step-up of a signed-in session, not a sign-in (audit)
}

// SecondFactor checks a second-factor code under the login policy and
// returns the method it proved (sesame.AMROTP or sesame.AMRRecoveryCode):
//
//   - the throttle is asked first, per client IP and per account, like
//     passwords (SEC-46): a wait is a [*WaitError] with ETooMany;
//   - a wrong, replayed or unknown code is [factor.ErrWrongCode] after the
//     same work (SEC-61), and counts as a failure in the throttle and
//     against the session: the SecondFactorLimit-th wrong code ends the
//     session and answers [ErrFactorEnded], so that a 6-digit code cannot
//     be guessed (at most a few tries per password proven);
//   - every failure is a second_factor.failure audit event and every
//     success a second_factor.success one (a recovery code also
//     recovery_code.used).
func (s *Service) SecondFactor(ctx context.Context, req SecondFactorRequest) (string, error) {
	if s.Factors == nil || req.UserID == "" || req.SessionID == "" {
		return "", ErrNoCaller
	}
	u, err := s.Users.UserByID(ctx, req.UserID)
	if errors.Is(err, sesame.ErrNotFound) {
		return "", ErrNoCaller
	}
	if err != nil {
		return "", storeError(err)
	}
	if u.Blocked {
		return "", ErrBlocked
	}
	what := "sign-in"
	if req.StepUp {
		what = "step-up"
	}
	failed := func(reason string) {
		s.emit(ctx, sesame.Event{Type: sesame.EventSecondFactorFailure, UserID: u.ID, Username: u.Username,
			SessionID: req.SessionID, IP: ipText(req.IP), UserAgent: req.UserAgent, Reason: what + ": " + reason})
	}
	if err := s.allow(ctx, req.IP, u.Username, "too many wrong codes: try again later"); err != nil {
		if _, ok := RetryAfter(err); ok {
			failed("throttled")
		}
		return "", err
	}
	// Every code given for the account counts, from any client, so that
	// guessing spread over many addresses (each with its own pending
	// session) is bounded too: past AccountCodeLimit attempts in
	// AccountCodeWindow, codes are refused until the account has been
	// quiet that long (SEC-61).
	if n, err := s.strikeWindow(ctx, "2fa-acct:"+u.ID, AccountCodeWindow); err != nil {
		failed("not checked: throttle store unavailable")
		return "", err
	} else if n > AccountCodeLimit {
		failed("throttled (too many codes for the account)")
		return "", &WaitError{Wait: AccountCodeWindow, Err: sesame.Errorf(sesame.ETooMany, "too many codes were tried for this account: try again later")}
	}
	// recovery_code.used is queued with the write that spends the code.
	cctx := ctx
	if factor.IsRecoveryCode(req.Code) {
		cctx = s.withEvent(ctx, sesame.Event{Type: sesame.EventRecoveryCodeUsed, UserID: u.ID, Username: u.Username,
			SessionID: req.SessionID, IP: ipText(req.IP), UserAgent: req.UserAgent, Reason: what})
	}
	method, f, err := s.Factors.Check(cctx, u.ID, req.Code)
	if err == nil {
		s.throttleSuccess(ctx, req.IP, u.Username)
		reason := what + ": " + method
		if f != nil {
			reason += " (" + f.Name + ")"
		}
		s.emit(ctx, sesame.Event{Type: sesame.EventSecondFactorSuccess, UserID: u.ID, Username: u.Username,
			SessionID: req.SessionID, IP: ipText(req.IP), UserAgent: req.UserAgent, Reason: reason})
		if method == sesame.AMRRecoveryCode {
			s.emit(cctx, sesame.Event{Type: sesame.EventRecoveryCodeUsed, UserID: u.ID, Username: u.Username,
				SessionID: req.SessionID, IP: ipText(req.IP), UserAgent: req.UserAgent, Reason: what})
		}
		return method, nil
	}
	if sesame.ErrorCode(err) != sesame.EUnauthenticated {
		return "", storeError(err)
	}
	if err := s.countFailure(ctx, req.IP, u.Username); err != nil {
		failed("wrong code (not counted: throttle store unavailable)")
		return "", err
	}
	n, err := s.strikeKey(ctx, "2fa:"+req.SessionID)
	if err != nil {
		failed("wrong code (not counted: throttle store unavailable)")
		return "", err
	}
	limit := s.SecondFactorLimit
	if limit <= 0 {
		limit = DefaultSecondFactorLimit
	}
	if n < limit {
		failed(fmt.Sprintf("wrong code (%d of %d)", n, limit))
		return "", factor.ErrWrongCode
	}
	failed(fmt.Sprintf("wrong code (%d of %d): session ended", n, limit))
	if _, err := s.Sessions.Revoke(ctx, req.SessionID, "too many wrong second-factor codes"); err != nil {
		return "", err
	}
	return "", ErrFactorEnded
}

// FactorFailure counts a failed second factor that is not a code (a
// passkey ceremony that did not verify) against the session, like a wrong
// code: the SecondFactorLimit-th ends the session ([ErrFactorEnded]).
func (s *Service) FactorFailure(ctx context.Context, userID, sessionID string, ip netip.Addr, reason string) error {
	s.emit(ctx, sesame.Event{Type: sesame.EventSecondFactorFailure, UserID: userID, SessionID: sessionID, IP: ipText(ip), Reason: reason})
	n, err := s.strikeKey(ctx, "2fa:"+sessionID)
	if err != nil {
		return err
	}
	limit := s.SecondFactorLimit
	if limit <= 0 {
		limit = DefaultSecondFactorLimit
	}
	if n < limit {
		return nil
	}
	if _, err := s.Sessions.Revoke(ctx, sessionID, "too many failed second factors"); err != nil {
		return err
	}
	return ErrFactorEnded
}

// StepUpFresh reports whether a caller whose every factor was last given
// at stepUp may perform a sensitive action now (SEC-14): within maxAge
// ([DefaultStepUpMaxAge] when 0).
func (s *Service) StepUpFresh(stepUp time.Time, maxAge time.Duration) bool {
	if maxAge <= 0 {
		maxAge = DefaultStepUpMaxAge
	}
	return !stepUp.IsZero() && s.now().Sub(stepUp) < maxAge
}

// DefaultStepUpMaxAge is how recent a re-authentication sensitive actions
// require by default.
const DefaultStepUpMaxAge = 10 * time.Minute

// ErrStepUpRequired refuses a sensitive action to a caller who has not
// proven their factors recently: re-authenticate (POST
// /api/v1/reauthenticate) and try again.
var ErrStepUpRequired = sesame.Errorf(sesame.EStepUp, "this action needs a recent sign-in: confirm your password (and second factor) and try again")

// ErrNoFactors is the answer to an administrator's factor change on a
// deployment that keeps no second factors.
var ErrNoFactors = sesame.Errorf(sesame.EInvalid, "this deployment keeps no second factors")

// ResetFactors removes every second factor of the user named username
// (TOTP factors, recovery codes and, with RemovePasskeys, passkeys) and
// ends every session of theirs: an administrator's answer to a lost phone.
// by names the administrator for the audit event (factor.reset). It
// returns the user and how many factors were removed.
func (s *Service) ResetFactors(ctx context.Context, username, by string) (*sesame.User, int, error) {
	if s.Factors == nil {
		return nil, 0, ErrNoFactors
	}
	u, err := s.lookup(ctx, username)
	if err != nil {
		return nil, 0, err
	}
	// Passkeys first: factor.reset, which counts them with the factors,
	// is queued with the write that removes the factors (the store counts
	// those).
	k := 0
	if s.RemovePasskeys != nil {
		k, err = s.RemovePasskeys(ctx, u.ID)
		if err != nil {
			return nil, k, storeError(err)
		}
	}
	reset := func(n int) sesame.Event {
		return sesame.Event{Type: sesame.EventFactorsReset, UserID: u.ID, Username: u.Username, Time: s.now(),
			Reason: fmt.Sprintf("by %s: %d removed", by, n+k)}
	}
	rctx, te := sesame.WithTxEvents(ctx)
	te.Removed = reset
	n, err := s.Factors.Reset(rctx, u.ID)
	if err != nil {
		return nil, k, storeError(err)
	}
	if _, err := s.Sessions.RevokeUser(ctx, u.ID, "", "second factors reset by an administrator"); err != nil {
		return nil, n + k, err
	}
	if s.Events != nil {
		s.Events.Emit(rctx, reset(n))
	}
	n += k
	return u, n, nil
}

// SetFactorRequired sets the per-user switch that requires a second factor
// of the user named username (audited factor.requirement, by naming the
// administrator).
func (s *Service) SetFactorRequired(ctx context.Context, username string, on bool, by string) (*sesame.User, error) {
	if s.Factors == nil {
		return nil, ErrNoFactors
	}
	u, err := s.lookup(ctx, username)
	if err != nil {
		return nil, err
	}
	e := sesame.Event{Type: sesame.EventFactorRequirement, UserID: u.ID, Username: u.Username,
		Reason: fmt.Sprintf("by %s: required=%t", by, on)}
	ctx = s.withEvent(ctx, e)
	if err := s.Factors.SetRequired(ctx, u.ID, on); err != nil {
		return nil, storeError(err)
	}
	s.emit(ctx, e)
	return u, nil
}
