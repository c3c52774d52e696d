package browser

import (
	"context"
	"net/url"
	"testing"

	"github.com/sesame-auth/sesame"
)

const (
	alicePW = "plum-orchard-4172"
	bobPW   = "tidal-lantern-9035"
	rootPW  = "granite-meadow-2268"
)

// TestSignupLoginAccountLogoutByClicking walks the pages as a person would:
// sign up, sign out, sign in with the form, see this session marked "This
// device" on the account page, sign out, and find the account page closed.
func TestSignupLoginAccountLogoutByClicking(t *testing.T) {
	e := newEnv(t)
	tb := e.newTab("alice")

	tb.signup("alice", alicePW)
	tb.page("after-signup-logout", tb.click("#logout"), "Sign in", "/login")

	tb.login("alice", alicePW)
	rows := eval[int](tb, `document.querySelectorAll("#sessions tbody tr").length`)
	if rows != 1 {
		t.Errorf("account page lists %d sessions, want 1 (the sign-up session was signed out)", rows)
	}
	if got := tb.text("#sessions tr.current .badge"); got != "This device" {
		t.Errorf("current session badge %q, want %q", got, "This device")
	}
	if c := tb.cookie(sessionCookie); c == nil {
		t.Fatalf("no %s cookie after login", sessionCookie)
	}

	tb.page("after-logout", tb.click("#logout"), "Sign in", "/login")
	if c := tb.cookie(sessionCookie); c != nil {
		t.Errorf("%s cookie still held after logout: %+v", sessionCookie, c)
	}

	resp := tb.open("/account")
	tb.page("account-after-logout", resp, "Sign in", "/login")
	if u, _ := url.Parse(resp.URL); u.Query().Get("next") != "/account" {
		t.Errorf("account page after logout landed on %s, want /login?next=/account", resp.URL)
	}
	if got := len(e.events(sesame.EventLogout)); got != 2 {
		t.Errorf("%d logout events, want 2", got)
	}
}

// TestRevokingAnotherSessionFromAccountPageEndsIt signs one user in on two
// browsers, signs the second out from the first one's account page, and
// checks that the second one's next request is refused and its account page
// sends it to the login page.
func TestRevokingAnotherSessionFromAccountPageEndsIt(t *testing.T) {
	e := newEnv(t)
	if _, err := e.accounts.Signup(context.Background(), "alice", alicePW, false); err != nil {
		t.Fatal(err)
	}
	laptop, phone := e.newTab("laptop"), e.newTab("phone")
	phone.login("alice", alicePW)
	laptop.login("alice", alicePW)
	phoneCookie := phone.cookie(sessionCookie).Value

	if n := eval[int](laptop, `document.querySelectorAll("#sessions tbody tr").length`); n != 2 {
		t.Fatalf("laptop's account page lists %d sessions, want 2", n)
	}
	if st := phone.apiStatus("/api/v1/me"); st != 200 {
		t.Fatalf("phone before revoke: GET /api/v1/me = %d, want 200", st)
	}

	laptop.page("account-after-revoke", laptop.click("#sessions tr:not(.current) button.revoke"), "Your account", "/account")
	if got := laptop.text("#notice"); got != "The session was signed out." {
		t.Errorf("notice %q, want %q", got, "The session was signed out.")
	}
	if n := eval[int](laptop, `document.querySelectorAll("#sessions tbody tr").length`); n != 1 {
		t.Errorf("after revoke the account page lists %d sessions, want 1", n)
	}

	if st := phone.apiStatus("/api/v1/me"); st != 401 {
		t.Errorf("phone's next request after revoke: GET /api/v1/me = %d, want 401", st)
	}
	phone.page("account-after-revoke", phone.open("/account"), "Sign in", "/login")
	if st := e.me(phoneCookie); st != 401 {
		t.Errorf("revoked phone cookie replayed from Go: GET /api/v1/me = %d, want 401", st)
	}
	if st := laptop.apiStatus("/api/v1/me"); st != 200 {
		t.Errorf("laptop after revoking the phone: GET /api/v1/me = %d, want 200", st)
	}
}

// TestAdminBlockEndsUserSessionsInOtherBrowser has an administrator block a
// user by clicking on the admin page, and checks that the user's browser is
// signed out at once.
func TestAdminBlockEndsUserSessionsInOtherBrowser(t *testing.T) {
	e := newEnv(t)
	if _, err := e.accounts.Signup(context.Background(), "root", rootPW, true); err != nil {
		t.Fatal(err)
	}
	admin, user := e.newTab("admin"), e.newTab("bob")
	user.signup("bob", bobPW)
	bobCookie := user.cookie(sessionCookie).Value
	if st := user.apiStatus("/api/v1/me"); st != 200 {
		t.Fatalf("bob before the block: GET /api/v1/me = %d, want 200", st)
	}

	admin.login("root", rootPW)
	admin.page("admin", admin.open("/admin"), "Users", "/admin")
	admin.page("admin-confirm-block", admin.click(`#users tr[data-user="bob"] a.danger`), "Block bob?", "/admin/users/bob/confirm/block")
	if st := user.apiStatus("/api/v1/me"); st != 200 {
		t.Fatalf("bob after the confirm page (nothing done yet): GET /api/v1/me = %d, want 200", st)
	}
	admin.page("admin-after-block", admin.click(`#confirm`), "User bob", "/admin/users/bob")
	if got := admin.text("#notice"); got != "The user was blocked and all of their sessions ended." {
		t.Errorf("notice %q after block", got)
	}
	if got := admin.text(`#user-status .badge.blocked`); got != "blocked" {
		t.Errorf("bob's status %q, want blocked", got)
	}
	admin.page("admin-list-after-block", admin.open("/admin"), "Users", "/admin")
	if got := admin.text(`#users tr[data-user="bob"] .badge.blocked`); got != "blocked" {
		t.Errorf("bob's status in the list %q, want blocked", got)
	}

	if st := user.apiStatus("/api/v1/me"); st != 401 {
		t.Errorf("blocked user's next request: GET /api/v1/me = %d, want 401", st)
	}
	user.page("account-after-block", user.open("/account"), "Sign in", "/login")
	if st := e.me(bobCookie); st != 401 {
		t.Errorf("blocked user's cookie replayed from Go: GET /api/v1/me = %d, want 401", st)
	}
	if got := len(e.events(sesame.EventUserBlocked)); got != 1 {
		t.Errorf("%d user.blocked events, want 1", got)
	}
	if st := admin.apiStatus("/api/v1/me"); st != 200 {
		t.Errorf("admin after blocking bob: GET /api/v1/me = %d, want 200", st)
	}
}
