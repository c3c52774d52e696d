package browser

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/internal/mailpit"
)

// TestSEC62_ForgotPasswordInChromium: from the login page, "forgot your
// password?" → the mail (through a real SMTP server) → the link in
// Chromium: the token leaves the address bar at once → a new password →
// every earlier session is dead (one in this browser, one over the API),
// and the new password signs in.
func TestSEC62_ForgotPasswordInChromium(t *testing.T) {
	mp := mailpit.FromEnv(t)
	e := newEnvWith(t, func(c *config.Config) {
		c.SMTPURL, c.MailFrom = mp.SMTPURL(), "auth@sesame.test"
	})
	var b [6]byte
	rand.Read(b[:])
	addr := "heidi-" + hex.EncodeToString(b[:]) + "@example.test"
	if _, err := e.accounts.Signup(context.Background(), "heidi", "correct horse battery", false); err != nil {
		t.Fatal(err)
	}
	if err := e.app.EmailService().SetAddress(context.Background(), "heidi", addr); err != nil {
		t.Fatal(err)
	}
	apiCookie := e.apiLogin("heidi", "correct horse battery")

	old := e.newTab("old-session")
	old.login("heidi", "correct horse battery")

	tb := e.newTab("reset")
	tb.page("login", tb.open("/login"), "Sign in", "/login")
	tb.page("forgot", tb.click("#forgot-link"), "Forgot your password?", "/password/forgot")
	tb.fill("login", "heidi")
	resp := tb.click("#forgot-submit")
	if resp.Status != 202 || !strings.Contains(tb.text("#notice"), "reset its password is on its way") {
		t.Fatalf("forgot: got %d %q", resp.Status, tb.text("#notice"))
	}
	// Two messages: the old tab's sign-in was a new device (SEC-48), then
	// the reset link.
	ms := mp.Wait(t, addr, 2, 15*time.Second)
	link := ""
	for _, m := range ms {
		if m.Subject == "Reset your password" {
			link = mailpit.Link(m.Text, "/password/reset")
		}
	}
	if link == "" {
		t.Fatalf("no reset link in %d messages", len(ms))
	}
	tb.page("reset", tb.navigate(link), "Choose a new password", "/password/reset")
	if got := tb.path(); got != "/password/reset" {
		t.Fatalf("the address bar still holds the token: %s", got)
	}
	if c := tb.cookie("__Host-sesame-reset"); c == nil || !c.HTTPOnly {
		t.Fatal("the token is not in an HttpOnly cookie")
	}
	if strings.Contains(eval[string](tb, `document.documentElement.outerHTML`), mailpit.Token(link)) {
		t.Fatal("the page holds the token")
	}
	tb.fill("new-password", "a brand new passphrase")
	tb.page("reset-done", tb.click("#reset-submit"), "Password changed", "/password/reset")
	if c := tb.cookie("__Host-sesame-reset"); c != nil {
		t.Fatal("the reset cookie outlived the reset")
	}

	if got := e.me(apiCookie); got != 401 {
		t.Fatalf("the API session after the reset: got %d, want 401", got)
	}
	old.open("/account")
	if got := old.path(); !strings.HasPrefix(got, "/login") {
		t.Fatalf("the old browser session after the reset: at %s, want the login page", got)
	}
	// The link is single use: following it again fails.
	tb.navigate(link)
	tb.fill("new-password", "yet another passphrase")
	if r := tb.click("#reset-submit"); r.Status != 400 {
		t.Fatalf("a used link: got %d, want 400", r.Status)
	}
	tb.login("heidi", "a brand new passphrase")
}
