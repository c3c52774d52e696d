package browser

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/sesame-auth/sesame"
)

// authenticator gives the tab a virtual platform authenticator through the
// DevTools WebAuthn domain: CTAP2, internal transport, discoverable
// credentials, user verification that succeeds, presence confirmed at once.
func (tb *tab) authenticator() webauthn.AuthenticatorID {
	tb.e.t.Helper()
	if _, err := chromedp.Call(tb.ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: new(false)}); err != nil {
		tb.fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(tb.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true,
		}})
	if err != nil {
		tb.fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return res.AuthenticatorID
}

// credentials returns the credentials the virtual authenticator holds.
func (tb *tab) credentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	tb.e.t.Helper()
	res, err := chromedp.Call(tb.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		tb.fatalf("WebAuthn.getCredentials: %v", err)
	}
	return res.Credentials
}

// clickScript clicks a button whose script ends in a navigation and waits
// for the page it leads to.
func (tb *tab) clickScript(sel string) {
	tb.e.t.Helper()
	tb.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	before := tb.path()
	tb.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if p := tb.path(); p != before && eval[string](tb, `document.readyState`) == "complete" {
			return
		}
		if msg := eval[string](tb, `(document.getElementById("passkey-error")||{}).textContent||""`); msg != "" {
			tb.fatalf("click %s: the page shows %q", sel, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.fatalf("click %s: no navigation from %s", sel, before)
}

// passkeyError clicks a passkey button that must fail and returns the
// error the page shows.
func (tb *tab) passkeyError(sel string) string {
	tb.e.t.Helper()
	tb.do("click "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)),
		chromedp.WaitVisible(chromedp.ID("passkey-error")))
	return tb.text("#passkey-error")
}

// TestPasskeyRegisterSignInRemoveInChromium: in real Chromium with a
// virtual authenticator, a user adds a passkey from the account page (the
// browser's navigator.credentials.create through /static/passkey.js),
// signs out, signs in with "Sign in with a passkey" and no password
// (passwordless: a discoverable credential, user verified), removes the
// passkey with the page's form, and is then refused a passkey sign-in.
func TestPasskeyRegisterSignInRemoveInChromium(t *testing.T) {
	e := newEnv(t)
	tb := e.newTab("alice")
	auth := tb.authenticator()

	tb.signup("alice", alicePW)
	if n := eval[int](tb, `document.querySelectorAll("script").length`); n != 1 {
		t.Fatalf("account page has %d scripts, want the one passkey.js", n)
	}
	tb.fill("passkey-name", "Virtual key")
	tb.clickScript("#passkey-register")
	tb.page("passkey-added", scripted, "Your account", "/account")
	if got := tb.text("#notice"); got != "Your passkey was added." {
		t.Errorf("notice %q", got)
	}
	if got := tb.text("#passkeys tbody tr td"); !strings.Contains(got, "Virtual key") {
		t.Fatalf("passkeys table: %q", got)
	}
	creds := tb.credentials(auth)
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" || len(creds[0].UserHandle) != 64 ||
		strings.Contains(string(creds[0].UserHandle), "alice") {
		t.Fatalf("authenticator credentials: %+v", creds)
	}

	tb.page("after-logout", tb.click("#logout"), "Sign in", "/login")
	tb.clickScript("#passkey-login")
	tb.page("passkey-signed-in", scripted, "Your account", "/account")
	if got := tb.text("#account-username"); got != "alice" {
		t.Fatalf("signed in as %q", got)
	}
	if got := tb.text("#passkeys tbody tr td:nth-child(3)"); got == "never" {
		t.Errorf("last used not shown after a sign-in")
	}
	if len(e.events(sesame.EventPasskeyUsed)) != 1 {
		t.Errorf("passkey.used events: %v", e.events(sesame.EventPasskeyUsed))
	}

	tb.page("passkey-removed", tb.click(".passkey-remove"), "Your account", "/account")
	if n := eval[int](tb, `document.querySelectorAll("#passkeys tbody tr").length`); n != 0 {
		t.Fatalf("%d passkeys listed after removal", n)
	}
	tb.page("after-logout-2", tb.click("#logout"), "Sign in", "/login")
	// The authenticator still holds the credential; the server no longer
	// knows it.
	if msg := tb.passkeyError("#passkey-login"); msg != "the passkey could not be verified" {
		t.Errorf("refused sign-in shows %q", msg)
	}
	tb.screenshot("passkey-refused")
	if got := tb.path(); got != "/login" {
		t.Errorf("after a refused passkey at %s", got)
	}
	if st := tb.apiStatus("/api/v1/me"); st != 401 {
		t.Errorf("after a refused passkey /api/v1/me is %d", st)
	}
	if len(e.events(sesame.EventPasskeyFailure)) == 0 {
		t.Error("no passkey.failure event")
	}
}

// TestPasskeyPasswordlessNeedsUserVerificationInChromium: an
// authenticator whose user verification fails (no PIN, no biometric)
// cannot sign in passwordless: the server asks for verification, the
// browser cannot give it, nobody is signed in.
func TestPasskeyPasswordlessNeedsUserVerificationInChromium(t *testing.T) {
	e := newEnv(t)
	tb := e.newTab("alice")
	auth := tb.authenticator()
	tb.signup("alice", alicePW)
	tb.clickScript("#passkey-register")
	tb.page("logout", tb.click("#logout"), "Sign in", "/login")
	if _, err := chromedp.Call(tb.ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: auth, IsUserVerified: false}); err != nil {
		t.Fatal(err)
	}
	if msg := tb.passkeyError("#passkey-login"); msg == "" {
		t.Fatal("no error shown")
	}
	if st := tb.apiStatus("/api/v1/me"); st != 401 {
		t.Fatalf("/api/v1/me is %d after an unverified passkey", st)
	}
}

// scripted stands for the response of a navigation the page's script
// made (clickScript does not capture it): tb.page still checks the title,
// the path and that no error is shown.
var scripted = &network.Response{Status: 200}
