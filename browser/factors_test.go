package browser

import (
	"encoding/base32"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/factor"
	"github.com/sesame-auth/sesame/internal/testclock"
)

// enrolTOTPPage adds an authenticator app from the page the tab is on
// (the account page's form, or the enrolment page), reading the key the
// page shows as text, and returns its secret and the recovery codes shown.
func (tb *tab) enrolTOTPPage(clock *testclock.Clock, startSel string, next string) ([]byte, []string) {
	tb.e.t.Helper()
	tb.fill("totp-name", "Phone")
	tb.page("totp-qr", tb.click(startSel), "Set up an authenticator app", "/account/factors/totp")
	if !eval[bool](tb, `!!document.querySelector("#totp-qr svg path")`) {
		tb.fatalf("the enrolment page shows no QR code")
	}
	if n := eval[int](tb, `document.querySelectorAll("script").length`); n != 0 {
		tb.fatalf("the enrolment page has %d scripts, want none", n)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(tb.text("#totp-secret"))
	if err != nil {
		tb.fatalf("the key shown: %v", err)
	}
	tb.fill("totp-code", factor.TOTP(secret, clock.Now()))
	tb.page("recovery-codes", tb.click("#totp-confirm"), "Your recovery codes", "/account/factors/totp/confirm")
	codes := eval[[]string](tb, `Array.from(document.querySelectorAll("#recovery-codes code")).map(e => e.textContent)`)
	if len(codes) != factor.RecoveryCodeCount {
		tb.fatalf("%d recovery codes shown, want %d", len(codes), factor.RecoveryCodeCount)
	}
	tb.page("after-codes", tb.click("#recovery-done"), "Your account", next)
	return secret, codes
}

// TestTOTPEnrolSignInRecoverStepUpInChromium: in real Chromium, by
// clicking: a user adds an authenticator app from the account page (QR
// code and key, no script), signs out, signs in with the password and a
// code, then with a recovery code (spent: 9 of 10 left), and, once the
// sign-in is older than step_up_max_age, is asked for the password and a
// code again before making new recovery codes (SEC-14, SEC-60, SEC-61).
func TestTOTPEnrolSignInRecoverStepUpInChromium(t *testing.T) {
	clock := testclock.New(time.Now())
	e := newEnvClock(t, nil, clock)
	tb := e.newTab("alice")
	tb.signup("alice", alicePW)
	if got := tb.text("#no-totp"); !strings.Contains(got, "No authenticator app") {
		t.Fatalf("account page before enrolment: %q", got)
	}
	secret, codes := tb.enrolTOTPPage(clock, "#totp-add", "/account")
	if got := tb.text("#totp-factors tbody tr td"); got != "Phone" {
		t.Fatalf("authenticator apps listed: %q", got)
	}

	// Sign out, and in with the password: the second step.
	tb.page("logout", tb.click("#logout"), "Sign in", "/login")
	tb.fill("username", "alice")
	tb.fill("password", alicePW)
	tb.page("second-step", tb.click("#login-submit"), "Second step", "/login/second-factor")
	if st := tb.apiStatus("/api/v1/me"); st != 401 {
		t.Fatalf("the pending session reaches /api/v1/me: %d", st)
	}
	if tb.open("/account"); !strings.HasPrefix(tb.path(), "/login") {
		t.Fatalf("the pending session opened the account page (at %s)", tb.path())
	}
	tb.page("second-step-again", tb.open("/login/second-factor"), "Second step", "/login/second-factor")
	tb.fill("code", "000000")
	if res := tb.click("#second-factor-submit"); res == nil || res.Status != 401 || tb.path() != "/login/second-factor" {
		t.Fatalf("a wrong code: %v at %s, want 401 on the second-factor page", res, tb.path())
	}
	tb.screenshot("wrong-code")
	if got := tb.text(".error"); !strings.Contains(got, "wrong") {
		t.Errorf("a wrong code shows %q", got)
	}
	clock.Add(30 * time.Second)
	tb.fill("code", factor.TOTP(secret, clock.Now()))
	tb.page("signed-in-totp", tb.click("#second-factor-submit"), "Your account", "/account")

	// A recovery code, once.
	tb.page("logout-2", tb.click("#logout"), "Sign in", "/login")
	tb.fill("username", "alice")
	tb.fill("password", alicePW)
	tb.page("second-step-2", tb.click("#login-submit"), "Second step", "/login/second-factor")
	tb.fill("code", codes[0])
	tb.page("signed-in-recovery", tb.click("#second-factor-submit"), "Your account", "/account")
	if got := tb.text("#recovery-state"); !strings.HasPrefix(got, "9 of 10 unused") {
		t.Errorf("recovery state after one use: %q", got)
	}
	if len(e.events(sesame.EventRecoveryCodeUsed)) != 1 {
		t.Error("no recovery_code.used event")
	}

	// Step-up: a stale sign-in is asked again.
	clock.Add(11 * time.Minute)
	tb.page("step-up", tb.click("#recovery-regenerate"), "Confirm it's you", "/reauthenticate")
	tb.fill("reauth-password", alicePW)
	tb.fill("reauth-code", factor.TOTP(secret, clock.Now()))
	tb.page("stepped-up", tb.click("#reauth-submit"), "Your account", "/account")
	tb.page("new-codes", tb.click("#recovery-regenerate"), "Your recovery codes", "/account/recovery-codes")
	fresh := eval[[]string](tb, `Array.from(document.querySelectorAll("#recovery-codes code")).map(e => e.textContent)`)
	if len(fresh) != 10 || fresh[0] == codes[0] {
		t.Fatalf("new recovery codes: %v", fresh)
	}
}

// TestRequiredEnrolmentInChromium: with second_factor: everyone, a new
// user who signs up is sent to enrolment, can reach nothing else, and is
// signed in by confirming the authenticator app.
func TestRequiredEnrolmentInChromium(t *testing.T) {
	clock := testclock.New(time.Now())
	e := newEnvClock(t, func(c *config.Config) { c.SecondFactor = "everyone" }, clock)
	tb := e.newTab("alice")
	tb.page("signup", tb.open("/signup"), "Create an account", "/signup")
	tb.fill("username", "alice")
	tb.fill("password", alicePW)
	tb.page("enrol", tb.click("#signup-submit"), "Set up an authenticator app", "/account/factors/setup")
	if got := tb.text("#enrol-required"); !strings.Contains(got, "needs a second factor") {
		t.Fatalf("enrolment page: %q", got)
	}
	if st := tb.apiStatus("/api/v1/me"); st != 401 {
		t.Fatalf("a user who must enrol reaches /api/v1/me: %d", st)
	}
	if tb.open("/account"); !strings.HasPrefix(tb.path(), "/login") {
		t.Fatalf("a user who must enrol opened the account page (at %s)", tb.path())
	}
	tb.page("enrol-again", tb.open("/account/factors/setup"), "Set up an authenticator app", "/account/factors/setup")
	tb.enrolTOTPPage(clock, "#totp-start", "/account")
	if got := tb.text("#account-username"); got != "alice" {
		t.Fatalf("signed in as %q after the enrolment", got)
	}
	if got := tb.text("#factor-required"); got == "" {
		t.Error("the account page does not say a second factor is required")
	}
}

// TestPasskeySecondFactorInChromium: a user with a passkey who signs in
// with the password is asked for the passkey as the second step and
// completes it with the browser's authenticator.
func TestPasskeySecondFactorInChromium(t *testing.T) {
	e := newEnv(t)
	tb := e.newTab("alice")
	tb.authenticator()
	tb.signup("alice", alicePW)
	tb.fill("passkey-name", "Virtual key")
	tb.clickScript("#passkey-register")
	tb.page("passkey-added", scripted, "Your account", "/account")

	tb.page("logout", tb.click("#logout"), "Sign in", "/login")
	tb.fill("username", "alice")
	tb.fill("password", alicePW)
	tb.page("second-step", tb.click("#login-submit"), "Second step", "/login/second-factor")
	if st := tb.apiStatus("/api/v1/me"); st != 401 {
		t.Fatalf("the pending session reaches /api/v1/me: %d", st)
	}
	tb.clickScript("#passkey-second-factor")
	tb.page("signed-in", scripted, "Your account", "/account")
	if got := tb.text("#account-username"); got != "alice" {
		t.Fatalf("signed in as %q", got)
	}
	if len(e.events(sesame.EventPasskeyUsed)) != 1 {
		t.Errorf("passkey.used events: %v", e.events(sesame.EventPasskeyUsed))
	}
}

// TestPagesSecondFactors: the second-factor pages at 1280 and 390 px,
// light and dark, with the layout checks and axe (no serious or critical
// violation): the enrolment start, the QR code page, the step-up form, and
// the second step of a sign-in.
func TestPagesSecondFactors(t *testing.T) {
	axe := axeSource(t)
	clock := testclock.New(time.Now())
	e := newEnvClock(t, nil, clock)
	tb := e.newTab("alice")
	tb.signup("alice", alicePW)
	tb.checkPage("totp-setup", "/account/factors/setup", 200, axe, nil)
	tb.checkPage("reauth", "/reauthenticate?next=%2Faccount", 200, axe, nil)
	tb.page("setup", tb.open("/account/factors/setup"), "Set up an authenticator app", "/account/factors/setup")
	tb.fill("totp-name", "Phone")
	tb.page("totp-qr", tb.click("#totp-start"), "Set up an authenticator app", "/account/factors/totp")
	for _, v := range viewports {
		tb.emulate(v, "light")
		tb.screenshot("totp-qr-" + v.name)
		for _, p := range eval[[]string](tb, layoutProblems) {
			t.Errorf("QR page at %s: %s", v.name, p)
		}
	}
	tb.emulate(viewport{"default", 1024, 768, false}, "light")
	secret, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(tb.text("#totp-secret"))
	tb.fill("totp-code", factor.TOTP(secret, clock.Now()))
	tb.page("recovery-codes", tb.click("#totp-confirm"), "Your recovery codes", "/account/factors/totp/confirm")
	tb.page("logout", tb.click("#logout"), "Sign in", "/login")
	tb.fill("username", "alice")
	tb.fill("password", alicePW)
	tb.page("second-step", tb.click("#login-submit"), "Second step", "/login/second-factor")
	tb.checkPage("second-factor", "/login/second-factor", 200, axe, nil)
}
