package metrics

import (
	"context"
	"strings"

	"github.com/sesame-auth/sesame"
)

// The flow label's values of sesame_auth_attempts_total.
const (
	FlowLogin        = "login"         // a password login (pages, API, token login)
	FlowSignup       = "signup"        // a sign-up
	FlowRefresh      = "refresh"       // a refresh token redeemed
	FlowReauth       = "reauth"        // a signed-in caller's password check (password change, step-up)
	FlowSecondFactor = "second_factor" // a second-factor code or passkey, at sign-in or step-up
)

// The result label's values of sesame_auth_attempts_total.
const (
	ResultSuccess       = "success"
	ResultWrongPassword = "wrong_password" // a known user, a wrong password
	ResultUnknownUser   = "unknown_user"   // no such user (the client is told the same as for a wrong password, SEC-45)
	ResultThrottled     = "throttled"      // refused by the login throttle before any hashing
	ResultBlocked       = "blocked"        // a blocked user
	ResultReuseDetected = "reuse_detected" // a used refresh token presented again: its family ended
	ResultWrongCode     = "wrong_code"     // a wrong, used or unknown second-factor code, or a passkey that did not verify
	ResultInvalidInput  = "invalid_input"  // a malformed request
	ResultUnavailable   = "unavailable"    // a store could not answer
	ResultOther         = "other"          // any reason not listed here
)

// authSeries are the flow and result pairs created at startup (at zero),
// so that a rate() over them is defined before the first event.
var authSeries = map[string][]string{
	FlowLogin:        {ResultSuccess, ResultWrongPassword, ResultUnknownUser, ResultThrottled, ResultBlocked, ResultInvalidInput, ResultUnavailable, ResultOther},
	FlowSignup:       {ResultSuccess},
	FlowRefresh:      {ResultSuccess, ResultReuseDetected},
	FlowReauth:       {ResultWrongPassword, ResultThrottled, ResultUnavailable, ResultOther},
	FlowSecondFactor: {ResultSuccess, ResultWrongCode, ResultThrottled, ResultUnavailable, ResultOther},
}

func (m *Metrics) initAuth() {
	for flow, results := range authSeries {
		for _, r := range results {
			m.auth.WithLabelValues(flow, r)
		}
	}
	for _, c := range sessionCauses {
		m.revok.WithLabelValues("session", c)
	}
	m.revok.WithLabelValues("session", CauseOther)
	for _, c := range expiryCauses {
		m.revok.WithLabelValues("session", c)
	}
	m.revok.WithLabelValues("refresh_token", "api")
	m.revok.WithLabelValues("refresh_token", "client")
	m.revok.WithLabelValues("refresh_token", CauseOther)
}

// CauseOther is the cause of a revocation whose reason is not one of the
// known ones.
const CauseOther = "other"

// sessionCauses maps the reasons Sesame's own code gives a session
// revocation (sesame.EventSessionRevoked's Reason) to the cause label.
var sessionCauses = map[string]string{
	"logout":                        "logout",
	"login":                         "replaced_at_login", // a login in a browser that carried a session
	"revoked by user":               "user",
	"signed out other sessions":     "user_others",
	"revoked by admin":              "admin",
	"user blocked":                  "user_blocked",
	"password changed":              "password_changed",
	"too many wrong passwords":      "reauth_failures",
	"refresh token reuse":           "refresh_reuse",
	"token revoked":                 "token_revoked",
	"code_reuse":                    "code_reuse",
	"revoked from the command line": "command",
	// Second factors: a pending session replaced by its signed-in
	// successor; one ended after too many wrong codes (or passkeys); every
	// session of a user whose factors an administrator reset.
	"second factor given":                      "second_factor_given",
	"too many wrong second-factor codes":       "second_factor_failures",
	"too many failed second factors":           "second_factor_failures",
	"second factors reset by an administrator": "factors_reset",
}

// expiryCauses maps sesame.EventSessionExpired's Reason to the cause label.
var expiryCauses = map[string]string{
	"idle timeout":     "idle_timeout",
	"absolute timeout": "absolute_timeout",
}

// Events returns an event sink that counts each event, then passes it on
// to next (nil: none). Only the event's type and a fixed mapping of its
// Reason reach a label: never a user, session, IP or free text. Give it
// to every component in place of next (package app does).
func (m *Metrics) Events(next sesame.EventSink) sesame.EventSink {
	return sesame.EventFunc(func(ctx context.Context, e sesame.Event) {
		m.count(e)
		if next != nil {
			next.Emit(ctx, e)
		}
	})
}

func (m *Metrics) count(e sesame.Event) {
	switch e.Type {
	case sesame.EventSignup:
		m.auth.WithLabelValues(FlowSignup, ResultSuccess).Inc()
	case sesame.EventLoginSuccess:
		m.auth.WithLabelValues(FlowLogin, ResultSuccess).Inc()
	case sesame.EventLoginFailure:
		m.auth.WithLabelValues(FlowLogin, loginResult(e)).Inc()
	case sesame.EventReauthFailure:
		m.auth.WithLabelValues(FlowReauth, loginResult(e)).Inc()
	case sesame.EventSecondFactorSuccess:
		m.auth.WithLabelValues(FlowSecondFactor, ResultSuccess).Inc()
	case sesame.EventSecondFactorFailure:
		m.auth.WithLabelValues(FlowSecondFactor, secondFactorResult(e.Reason)).Inc()
	case sesame.EventRefreshRotated:
		m.auth.WithLabelValues(FlowRefresh, ResultSuccess).Inc()
	case sesame.EventRefreshReuse:
		m.auth.WithLabelValues(FlowRefresh, ResultReuseDetected).Inc()
	case sesame.EventSessionRevoked:
		m.revok.WithLabelValues("session", cause(sessionCauses, e.Reason)).Inc()
	case sesame.EventSessionExpired:
		m.revok.WithLabelValues("session", cause(expiryCauses, e.Reason)).Inc()
	case sesame.EventTokenRevoked:
		c := CauseOther
		switch {
		case e.Reason == "":
			c = "api" // POST /api/v1/token/revoke
		case strings.HasPrefix(e.Reason, "revoked by client "):
			c = "client" // the OAuth revocation endpoint; the client's ID is not a label
		}
		m.revok.WithLabelValues("refresh_token", c).Inc()
	}
}

func cause(known map[string]string, reason string) string {
	if c, ok := known[reason]; ok {
		return c
	}
	return CauseOther
}

// loginResult maps a login or re-authentication failure's Reason (see
// account.Service.Login and Reauthenticate) to a result. A failure
// "(not counted: ...)" keeps its result. An unknown user and a wrong
// password are told apart by the event's UserID, which the account
// service sets only for a known user; the label is a count, not the user.
func loginResult(e sesame.Event) string {
	r := e.Reason
	switch {
	case strings.HasPrefix(r, "throttled"):
		return ResultThrottled
	case strings.HasPrefix(r, "blocked"):
		return ResultBlocked
	case strings.HasPrefix(r, "bad credentials"):
		if e.UserID == "" {
			return ResultUnknownUser
		}
		return ResultWrongPassword
	case strings.HasPrefix(r, "wrong password"):
		return ResultWrongPassword
	case strings.HasPrefix(r, "invalid input"):
		return ResultInvalidInput
	case strings.HasPrefix(r, "store unavailable"):
		return ResultUnavailable
	}
	return ResultOther
}

// secondFactorResult maps a second_factor.failure's Reason (package
// account: "sign-in: wrong code (2 of 5)", "step-up: throttled", "passkey:
// ...") to the result label.
func secondFactorResult(reason string) string {
	switch {
	case strings.Contains(reason, "not counted"):
		return ResultUnavailable
	case strings.Contains(reason, "throttled"):
		return ResultThrottled
	case strings.Contains(reason, "wrong code"), strings.HasPrefix(reason, "passkey:"):
		return ResultWrongCode
	}
	return ResultOther
}
