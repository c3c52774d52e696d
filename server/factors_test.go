package server_test

import (
	"context"
	"encoding/base32"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/factor"
)

const alicePW = "correct horse battery"

// totpApp is the authenticator app of a test: the secret of one enrolment.
type totpApp struct {
	id     string
	secret []byte
}

func (a totpApp) code(now time.Time) string { return factor.TOTP(a.secret, now) }

// enrolTOTP adds a confirmed TOTP factor through the API for the signed-in
// client c and returns the app and the recovery codes (if any).
func enrolTOTP(t *testing.T, e *env, c *client, name string) (totpApp, []string) {
	t.Helper()
	var b struct {
		ID, Secret string
		URI        string `json:"otpauth_uri"`
	}
	c.want(c.do("POST", "/api/v1/factors/totp", map[string]string{"name": name}), http.StatusCreated).json(t, &b)
	if !strings.HasPrefix(b.URI, "otpauth://totp/") || !strings.Contains(b.URI, "secret="+b.Secret) {
		t.Fatalf("otpauth_uri %q does not carry the secret", b.URI)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(b.Secret)
	if err != nil {
		t.Fatalf("secret %q: %v", b.Secret, err)
	}
	app := totpApp{id: b.ID, secret: secret}
	var conf struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	c.want(c.do("POST", "/api/v1/factors/totp/confirm", map[string]string{"id": b.ID, "code": app.code(e.clock.Now())}), http.StatusOK).json(t, &conf)
	return app, conf.RecoveryCodes
}

// secondStep is the answer to a password login that needs a second factor.
type secondStep struct {
	Required bool     `json:"second_factor_required"`
	Methods  []string `json:"methods"`
	Enrol    bool     `json:"enrolment_required"`
}

func passwordStep(t *testing.T, c *client, user string, body map[string]any) secondStep {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["username"], body["password"] = user, alicePW
	var st secondStep
	c.want(c.do("POST", "/api/v1/login", body), http.StatusOK).json(t, &st)
	if !st.Required {
		t.Fatalf("a password login of %s with a second factor signed in at once", user)
	}
	return st
}

// TestSEC61_TOTPSignIn: enrol an authenticator app, then sign in with the
// password and a code. The password alone gives a pending session that is
// nobody's sign-in (SEC-60); the code that confirmed the enrolment cannot
// be replayed to sign in, nor can a code once used (SEC-61); the next
// step's code completes the sign-in at level 2 with a new session ID.
func TestSEC61_TOTPSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", alicePW)
	c.login("alice", alicePW, false)
	app, codes := enrolTOTP(t, e, c, "Phone")
	if len(codes) != factor.RecoveryCodeCount {
		t.Fatalf("the first factor came with %d recovery codes, want %d", len(codes), factor.RecoveryCodeCount)
	}
	confirmCode := app.code(e.clock.Now())
	c.want(c.do("POST", "/api/v1/logout", nil), http.StatusNoContent)

	st := passwordStep(t, c, "alice", nil)
	if strings.Join(st.Methods, ",") != "totp,recovery_code" || st.Enrol {
		t.Fatalf("methods %v enrol %v, want totp,recovery_code", st.Methods, st.Enrol)
	}
	pending := c.sessionCookie()
	if pending == "" {
		t.Fatal("no pending session cookie")
	}
	if got := c.me(); got != http.StatusUnauthorized {
		t.Fatalf("a pending session reached /api/v1/me: %d", got)
	}
	// SEC-61: the code that confirmed the enrolment was spent there.
	r := c.do("POST", "/api/v1/login/second-factor", map[string]string{"code": confirmCode})
	if r.StatusCode != http.StatusUnauthorized || c.me() == http.StatusOK {
		t.Fatalf("the confirmation's code signed in again: %d %s", r.StatusCode, r.body)
	}
	e.clock.Add(30 * time.Second)
	code := app.code(e.clock.Now())
	var me struct {
		Session sesame.SessionInfo `json:"session"`
	}
	c.want(c.do("POST", "/api/v1/login/second-factor", map[string]string{"code": code}), http.StatusOK).json(t, &me)
	if c.me() != http.StatusOK {
		t.Fatal("the completed sign-in does not authenticate")
	}
	if c.sessionCookie() == pending {
		t.Fatal("the pending session's token was kept after the second factor (SEC-10)")
	}
	// The completed session is at level 2 with both methods.
	sess, err := e.sessions.LiveSession(context.Background(), me.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Level() != sesame.ACRTwoFactors || strings.Join(sess.Methods(), ",") != "pwd,otp" {
		t.Fatalf("session level %q methods %v, want 2 and pwd,otp", sess.Level(), sess.Methods())
	}
	// The same code again, on a new sign-in: a replay (SEC-61).
	d := e.client()
	passwordStep(t, d, "alice", nil)
	if r := d.do("POST", "/api/v1/login/second-factor", map[string]string{"code": code}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a used code signed in again: %d %s", r.StatusCode, r.body)
	}
	if len(e.events(sesame.EventSecondFactorFailure)) == 0 || len(e.events(sesame.EventSecondFactorSuccess)) != 1 {
		t.Fatal("second-factor attempts are not audited")
	}
	if len(e.events(sesame.EventFactorEnrolled)) != 1 {
		t.Fatal("the enrolment is not audited")
	}
}

// TestSEC61_SecondFactorGuessingEndsPending: a 6-digit code cannot be
// guessed: the fifth wrong code ends the pending session, after which even
// the right code is refused until the password is given again.
func TestSEC61_SecondFactorGuessingEndsPending(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", alicePW)
	c.login("alice", alicePW, false)
	app, _ := enrolTOTP(t, e, c, "Phone")
	c.want(c.do("POST", "/api/v1/logout", nil), http.StatusNoContent)
	e.clock.Add(30 * time.Second)

	attacker := e.client()
	passwordStep(t, attacker, "alice", nil)
	right := app.code(e.clock.Now())
	wrong := "000000"
	if wrong == right {
		wrong = "000001"
	}
	var last *resp
	tries := 0
	for tries = 1; tries <= 20; tries++ {
		last = attacker.do("POST", "/api/v1/login/second-factor", map[string]string{"code": wrong})
		if last.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d %s", tries, last.StatusCode, last.body)
		}
		if strings.Contains(string(last.body), "sign in again") {
			break
		}
	}
	if tries > 5 {
		t.Fatalf("the pending session survived %d wrong codes, want at most 5", tries)
	}
	if r := attacker.do("POST", "/api/v1/login/second-factor", map[string]string{"code": right}); r.StatusCode != http.StatusUnauthorized || attacker.me() == http.StatusOK {
		t.Fatalf("the right code after the limit signed in: %d %s", r.StatusCode, r.body)
	}
	// The failures count against the account too (throttled like
	// passwords). Once the wait is over, a new password step starts
	// afresh and the right code works.
	e.clock.Add(2 * time.Minute)
	passwordStep(t, attacker, "alice", nil)
	attacker.want(attacker.do("POST", "/api/v1/login/second-factor", map[string]string{"code": app.code(e.clock.Now())}), http.StatusOK)
}

// TestSEC61_RecoveryCodeWorksOnce: a recovery code completes a sign-in
// once, is audited, and is spent.
func TestSEC61_RecoveryCodeWorksOnce(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", alicePW)
	c.login("alice", alicePW, false)
	_, codes := enrolTOTP(t, e, c, "Phone")
	c.want(c.do("POST", "/api/v1/logout", nil), http.StatusNoContent)

	passwordStep(t, c, "alice", nil)
	c.want(c.do("POST", "/api/v1/login/second-factor", map[string]string{"code": strings.ToUpper(codes[3])}), http.StatusOK)
	var v struct {
		RecoveryCodes struct{ Total, Unused int } `json:"recovery_codes"`
	}
	c.want(c.do("GET", "/api/v1/factors", nil), http.StatusOK).json(t, &v)
	if v.RecoveryCodes.Total != 10 || v.RecoveryCodes.Unused != 9 {
		t.Fatalf("recovery codes %+v after one use, want 9 of 10 unused", v.RecoveryCodes)
	}
	c.want(c.do("POST", "/api/v1/logout", nil), http.StatusNoContent)
	passwordStep(t, c, "alice", nil)
	if r := c.do("POST", "/api/v1/login/second-factor", map[string]string{"code": codes[3]}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a spent recovery code signed in again: %d %s", r.StatusCode, r.body)
	}
	if len(e.events(sesame.EventRecoveryCodeUsed)) != 1 {
		t.Fatal("the recovery code's use is not audited")
	}
}

// TestSEC60_TokenTransportsWaitForSecondFactor: a token login of a user
// with a second factor gets no token, only the pending cookie; the pending
// cookie cannot be exchanged for tokens; the second step hands out the
// tokens, which carry acr 2 and both methods.
func TestSEC60_TokenTransportsWaitForSecondFactor(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", alicePW)
	c.login("alice", alicePW, false)
	app, _ := enrolTOTP(t, e, c, "Phone")
	c.want(c.do("POST", "/api/v1/logout", nil), http.StatusNoContent)
	e.clock.Add(30 * time.Second)

	d := e.client()
	r := d.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": alicePW, "transport": "header"})
	if r.StatusCode != http.StatusOK || strings.Contains(string(r.body), "access_token") || !strings.Contains(string(r.body), `"second_factor_required":true`) {
		t.Fatalf("a header-transport password login: %d %s", r.StatusCode, r.body)
	}
	if r := d.do("POST", "/api/v1/token/session", map[string]string{}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a pending session was exchanged for tokens: %d %s", r.StatusCode, r.body)
	}
	var pair struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	d.want(d.do("POST", "/api/v1/login/second-factor", map[string]string{"code": app.code(e.clock.Now()), "transport": "header"}), http.StatusOK).json(t, &pair)
	if pair.AccessToken == "" || pair.RefreshToken == "" {
		t.Fatal("the second step gave no tokens")
	}
	if d.sessionCookie() != "" {
		t.Fatal("a token sign-in left a session cookie")
	}
	claims := accessClaims(t, e, pair.AccessToken)
	if claims.ACR != sesame.ACRTwoFactors || strings.Join(claims.AMR, ",") != "pwd,otp" {
		t.Fatalf("access token acr %q amr %v, want 2 and pwd,otp", claims.ACR, claims.AMR)
	}
	if got := e.client().do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+pair.AccessToken); got.StatusCode != http.StatusOK {
		t.Fatalf("the token does not authenticate: %d", got.StatusCode)
	}
}

func accessClaims(t *testing.T, e *env, tok string) *sesame.AccessClaims {
	t.Helper()
	c, err := e.tokens.Authenticate(context.Background(), tok)
	if err != nil {
		t.Fatalf("verify the access token: %v", err)
	}
	return c
}

// TestSEC14_StepUpRequired: sensitive actions need a recent proof of every
// factor of the session's level: past step_up_max_age they answer 401
// step_up_required, through the API and the pages; the step-up asks for
// the code as well as the password of a user with a TOTP factor; it
// refreshes only the session that made it (another session of the user,
// an old cookie, stays stale), and a token issued before the step-up does
// not carry it: a refreshed one does.
func TestSEC14_StepUpRequired(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", alicePW)
	c.login("alice", alicePW, false)
	app, _ := enrolTOTP(t, e, c, "Phone")

	// A second session of alice's, and a token pair, both signed in now.
	e.clock.Add(30 * time.Second)
	other := e.client()
	passwordStep(t, other, "alice", nil)
	other.want(other.do("POST", "/api/v1/login/second-factor", map[string]string{"code": app.code(e.clock.Now())}), http.StatusOK)
	e.clock.Add(30 * time.Second)
	tc := e.client()
	passwordStep(t, tc, "alice", map[string]any{"transport": "header"})
	var pair struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	tc.want(tc.do("POST", "/api/v1/login/second-factor", map[string]string{"code": app.code(e.clock.Now()), "transport": "header"}), http.StatusOK).json(t, &pair)

	e.clock.Add(11 * time.Minute)
	for _, rq := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/factors/totp", map[string]string{"name": "Tablet"}},
		{"DELETE", "/api/v1/factors/" + app.id, nil},
		{"POST", "/api/v1/factors/recovery-codes", map[string]string{}},
		{"POST", "/api/v1/sessions/revoke-others", nil},
	} {
		r := c.do(rq.method, rq.path, rq.body)
		if r.StatusCode != http.StatusUnauthorized || r.errCode(t) != "step_up_required" {
			t.Fatalf("%s %s with a stale sign-in: %d %s, want 401 step_up_required", rq.method, rq.path, r.StatusCode, r.body)
		}
	}
	// The page sends the browser to the step-up form.
	r := c.do("POST", "/account/recovery-codes", url.Values{})
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/reauthenticate") {
		t.Fatalf("the page's stale action: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	oldCookie := c.sessionCookie()
	// The password alone is not enough for a user with a TOTP factor.
	if r := c.do("POST", "/api/v1/reauthenticate", map[string]string{"password": alicePW}); r.StatusCode != http.StatusUnauthorized || r.errCode(t) != "step_up_required" {
		t.Fatalf("a step-up without the code: %d %s", r.StatusCode, r.body)
	}
	c.want(c.do("POST", "/api/v1/reauthenticate", map[string]string{"password": alicePW, "code": app.code(e.clock.Now())}), http.StatusOK)
	c.want(c.do("POST", "/api/v1/factors/recovery-codes", map[string]string{}), http.StatusOK)
	if len(e.events(sesame.EventStepUp)) != 1 {
		t.Fatal("the step-up is not audited")
	}
	// The other session, and the old token, are still stale. At level 2
	// even a password change, which asks for the current password, needs
	// the second factor to be recent.
	if r := other.do("POST", "/api/v1/factors/recovery-codes", map[string]string{}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("another session of the user passed without a step-up: %d", r.StatusCode)
	}
	if r := other.do("POST", "/api/v1/password", map[string]any{"current_password": alicePW, "new_password": "another long password"}); r.StatusCode != http.StatusUnauthorized || r.errCode(t) != "step_up_required" {
		t.Fatalf("a stale level-2 session changed the password: %d %s", r.StatusCode, r.body)
	}
	_ = oldCookie
	api := e.client()
	api.origin = "" // an API client: no browser Origin, no CSRF token
	bearer := func(tok string) *resp {
		return api.do("POST", "/api/v1/factors/recovery-codes", map[string]string{}, "Authorization", "Bearer "+tok)
	}
	if r := bearer(pair.AccessToken); r.StatusCode != http.StatusUnauthorized || r.errCode(t) != "step_up_required" {
		t.Fatalf("a stale token passed: %d %s", r.StatusCode, r.body)
	}
	e.clock.Add(30 * time.Second)
	tcr := api.do("POST", "/api/v1/reauthenticate", map[string]string{"password": alicePW, "code": app.code(e.clock.Now())}, "Authorization", "Bearer "+pair.AccessToken)
	if tcr.StatusCode != http.StatusOK || !strings.Contains(string(tcr.body), `"refresh":true`) {
		t.Fatalf("a token caller's step-up: %d %s", tcr.StatusCode, tcr.body)
	}
	if r := bearer(pair.AccessToken); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a token issued before the step-up passed: %d %s", r.StatusCode, r.body)
	}
	var fresh struct {
		AccessToken string `json:"access_token"`
	}
	api.want(api.do("POST", "/api/v1/token/refresh", map[string]string{"refresh_token": pair.RefreshToken}), http.StatusOK).json(t, &fresh)
	if r := bearer(fresh.AccessToken); r.StatusCode != http.StatusOK {
		t.Fatalf("a token refreshed after the step-up: %d %s", r.StatusCode, r.body)
	}
}

// TestSEC14_AdminActionsNeedStepUp: every administrator's change asks for
// a recent sign-in; reading does not.
func TestSEC14_AdminActionsNeedStepUp(t *testing.T) {
	e := newEnv(t)
	root := e.admin()
	e.client().signup("bob", alicePW)
	e.clock.Add(11 * time.Minute)
	root.want(root.do("GET", "/api/v1/admin/users", nil), http.StatusOK)
	for _, rq := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/admin/users/bob/block", nil},
		{"DELETE", "/api/v1/admin/users/bob/sessions", nil},
		{"PUT", "/api/v1/admin/users/bob/groups", map[string]any{"groups": []string{"ops"}}},
		{"DELETE", "/api/v1/admin/users/bob/factors", nil},
		{"PUT", "/api/v1/admin/users/bob/factors/required", map[string]any{"required": true}},
	} {
		r := root.do(rq.method, rq.path, rq.body)
		if r.StatusCode != http.StatusUnauthorized || r.errCode(t) != "step_up_required" {
			t.Fatalf("%s %s with a stale sign-in: %d %s", rq.method, rq.path, r.StatusCode, r.body)
		}
	}
	root.want(root.do("POST", "/api/v1/reauthenticate", map[string]string{"password": "correct horse battery"}), http.StatusOK)
	root.want(root.do("POST", "/api/v1/admin/users/bob/block", nil), http.StatusOK)
}

// TestRequiredEnrolment: a user an administrator requires a second factor
// of is sent to enrolment after the password; the pending session can
// only enrol (nothing else), and the confirmation completes the sign-in.
// The last factor of such a user cannot be removed. A pending session of
// a user who has a factor cannot enrol another (a way around it).
func TestRequiredEnrolment(t *testing.T) {
	e := newEnv(t)
	root := e.admin()
	c := e.client()
	c.signup("alice", alicePW)
	root.want(root.do("PUT", "/api/v1/admin/users/alice/factors/required", map[string]any{"required": true}), http.StatusOK)

	st := passwordStep(t, c, "alice", nil)
	if !st.Enrol || len(st.Methods) != 0 {
		t.Fatalf("a required user without a factor: %+v, want enrolment_required", st)
	}
	for _, path := range []string{"/api/v1/me", "/api/v1/factors", "/api/v1/sessions"} {
		if r := c.do("GET", path, nil); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a pending session that must enrol reached %s: %d", path, r.StatusCode)
		}
	}
	var b struct{ ID, Secret string }
	c.want(c.do("POST", "/api/v1/factors/totp", map[string]string{"name": "Phone"}), http.StatusCreated).json(t, &b)
	secret, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(b.Secret)
	app := totpApp{id: b.ID, secret: secret}
	var done struct {
		RecoveryCodes []string            `json:"recovery_codes"`
		Session       *sesame.SessionInfo `json:"session"`
	}
	c.want(c.do("POST", "/api/v1/factors/totp/confirm", map[string]string{"id": b.ID, "code": app.code(e.clock.Now())}), http.StatusOK).json(t, &done)
	if done.Session == nil || len(done.RecoveryCodes) != 10 || c.me() != http.StatusOK {
		t.Fatalf("the enrolment did not complete the sign-in: %+v", done)
	}
	// The last factor of a required user stays.
	if r := c.do("DELETE", "/api/v1/factors/"+app.id, nil); r.StatusCode != http.StatusConflict {
		t.Fatalf("removing the last required factor: %d %s", r.StatusCode, r.body)
	}
	e.clock.Add(30 * time.Second)
	second, _ := enrolTOTP(t, e, c, "Tablet")
	c.want(c.do("DELETE", "/api/v1/factors/"+app.id, nil), http.StatusNoContent)

	// A pending session of a user with a factor cannot enrol one.
	d := e.client()
	passwordStep(t, d, "alice", nil)
	if r := d.do("POST", "/api/v1/factors/totp", map[string]string{"name": "Attacker"}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a pending session enrolled a new factor around the existing one: %d %s", r.StatusCode, r.body)
	}
	_ = second
}

// TestAdminResetsFactors: an administrator's reset removes the user's
// factors and ends their sessions; the password alone then signs in.
func TestAdminResetsFactors(t *testing.T) {
	e := newEnv(t)
	root := e.admin()
	c := e.client()
	c.signup("alice", alicePW)
	c.login("alice", alicePW, false)
	enrolTOTP(t, e, c, "Phone")
	var n struct{ Removed int }
	root.want(root.do("DELETE", "/api/v1/admin/users/alice/factors", nil), http.StatusOK).json(t, &n)
	if n.Removed != 1 {
		t.Fatalf("reset removed %d factors, want 1", n.Removed)
	}
	if c.me() != http.StatusUnauthorized {
		t.Fatal("the user's session survived the reset")
	}
	c.login("alice", alicePW, false) // 200 and signed in: no second factor left
	if c.me() != http.StatusOK {
		t.Fatal("the password alone does not sign in after a reset")
	}
	if len(e.events(sesame.EventFactorsReset)) != 1 {
		t.Fatal("the reset is not audited")
	}
}

// TestAdminFactorPages: the admin's user page shows the user's second
// factors; requiring one and resetting them go through a confirm step
// (a GET that changes nothing) and its form.
func TestAdminFactorPages(t *testing.T) {
	e := newEnv(t)
	root := e.admin()
	c := e.client()
	c.signup("alice", alicePW)
	c.login("alice", alicePW, false)
	enrolTOTP(t, e, c, "Phone")

	page := root.want(root.do("GET", "/admin/users/alice", nil, "Accept", "text/html"), http.StatusOK)
	if !strings.Contains(string(page.body), `id="user-totp">1<`) || !strings.Contains(string(page.body), "/confirm/factors-reset") {
		t.Fatalf("the admin's user page does not show the factors: %.2000s", page.body)
	}
	confirm := root.want(root.do("GET", "/admin/users/alice/confirm/factors-require", nil, "Accept", "text/html"), http.StatusOK)
	if !strings.Contains(string(confirm.body), `name="required" value="1"`) {
		t.Fatalf("the confirm step has no required field: %.2000s", confirm.body)
	}
	if req, _ := e.app.Factors().Required(context.Background(), mustUserID(t, e, "alice")); req {
		t.Fatal("the confirm step changed something")
	}
	r := root.do("POST", "/admin/users/alice/factors/required", url.Values{"required": {"1"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("require form: %d %s", r.StatusCode, r.body)
	}
	if req, _ := e.app.Factors().Required(context.Background(), mustUserID(t, e, "alice")); !req {
		t.Fatal("the form did not require a second factor")
	}
	root.want(root.do("GET", "/admin/users/alice/confirm/factors-reset", nil, "Accept", "text/html"), http.StatusOK)
	if r := root.do("POST", "/admin/users/alice/factors/reset", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset form: %d %s", r.StatusCode, r.body)
	}
	if c.me() != http.StatusUnauthorized {
		t.Fatal("the reset did not end the user's session")
	}
	if has, _ := e.app.Factors().HasTOTP(context.Background(), mustUserID(t, e, "alice")); has {
		t.Fatal("the reset left a factor")
	}
}

func mustUserID(t *testing.T, e *env, name string) string {
	t.Helper()
	u, err := e.accounts.Lookup(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}
