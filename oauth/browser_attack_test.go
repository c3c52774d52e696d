package oauth_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// Attacks on the browser side of the provider (the authorization
// endpoint, the consent form, RP-initiated logout), from a malicious
// registered client, a malicious unregistered site and a network
// observer.

// SEC-58 (consent step): the consent page lists the resources a request
// asks for ("It will be able to call: ..."), so a consent covers them: a
// client the user allowed to sign them in (no resource) gets no access
// token for an API the user was never asked about. Before, only the
// scopes were remembered, and the same client's next request, adding
// resource=billing, got a code at once (prompt=none too).
func TestSEC58_ConsentDoesNotCoverUnaskedResources(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "rp"}) // lists no resources: may ask for any registered one
	b := h.browser()
	b.login(h.user("alice"))

	q, _ := hAuthQuery("rp", hRedirect)
	v := b.authorize(q).consent(t)
	if len(v.Resources) != 0 {
		t.Fatalf("consent view %+v", v)
	}
	h.codeFrom(b.do("POST", oauth.PathConsent, url.Values{"request": {v.Request}, "decision": {"allow"}}), hRedirect, "st-123")
	// Remembered for what was shown.
	h.codeFrom(b.authorize(q), hRedirect, "st-123")

	// The same scopes, plus an API: the user must be asked.
	q.Add("resource", "https://billing.example.test")
	r := b.authorize(q)
	v = r.consent(t)
	if len(v.Resources) != 1 || v.Resources[0] != "https://billing.example.test" {
		t.Fatalf("consent view %+v", v)
	}
	q.Set("prompt", "none")
	if got := h.errorFrom(b.authorize(q), hRedirect); got != "consent_required" {
		t.Fatalf("prompt=none with an unconsented resource: %q, want consent_required", got)
	}

	// Allowed once, the resource is remembered too; another is asked again.
	h.codeFrom(b.do("POST", oauth.PathConsent, url.Values{"request": {v.Request}, "decision": {"allow"}}), hRedirect, "st-123")
	h.codeFrom(b.authorize(q), hRedirect, "st-123")
	q.Set("resource", "https://api.example.test")
	if got := h.errorFrom(b.authorize(q), hRedirect); got != "consent_required" {
		t.Fatalf("a second resource: %q, want consent_required", got)
	}
	q.Del("resource")
	h.codeFrom(b.authorize(q), hRedirect, "st-123")
}

// accessCookie gives the browser a first-party access-token cookie (the
// cookie transport of a same-site app on Sesame's host) of a token
// session of u, beside whatever session cookie it has.
func (b *hBrowser) accessCookie(u *sesame.User) (tokenSession string) {
	b.h.t.Helper()
	sess, err := b.h.sessions.StartTokenSession(b.h.ctx, u.ID, session.LoginOptions{})
	if err != nil {
		b.h.t.Fatal(err)
	}
	pair, err := b.h.tokens.Issue(b.h.ctx, sess, "", "")
	if err != nil {
		b.h.t.Fatal(err)
	}
	iss, _ := url.Parse(b.h.issuer)
	b.c.Jar.SetCookies(iss, []*http.Cookie{{Name: token.AccessCookie, Value: pair.AccessToken, Path: "/", Secure: true, HttpOnly: true}})
	return sess.ID
}

// RP-initiated logout from a browser that holds the Sesame session cookie
// and also an access-token cookie: the logout is about the browser's
// cookie session. Before, the access cookie's Principal made the request
// look signed out, so the logout redirected to the relying party as if it
// had signed the user out, without confirmation and without ending the
// session; once the access cookie expired the surviving session gave
// every client codes again (single sign-on after a logout).
func TestSEC58_LogoutEndsCookieSessionBesideAccessCookie(t *testing.T) {
	h, alice := logoutHarness(t)
	b := h.browser()
	b.login(alice)
	sid := h.lastSession(alice)
	tsid := b.accessCookie(alice)

	q := url.Values{"client_id": {"rp"}, "post_logout_redirect_uri": {hPostLogout}, "state": {"s1"}}
	r := b.do("GET", oauth.PathEndSession+"?"+q.Encode(), nil)
	if r.page() != "logout" || r.Header.Get("Location") != "" {
		t.Fatalf("logout without a hint: %d %q Location %q, want the confirmation page", r.StatusCode, r.page(), r.Header.Get("Location"))
	}
	var v oauth.LogoutView
	if err := json.Unmarshal(r.body, &v); err != nil || !v.Confirm || v.Request == "" {
		t.Fatalf("logout view %s", r.body)
	}
	r = b.do("POST", oauth.PathLogoutConfirm, url.Values{"request": {v.Request}, "decision": {"logout"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != hPostLogout+"?state=s1" {
		t.Fatalf("confirm: %d %q %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if h.live(sid) {
		t.Fatal("the cookie session outlived the confirmed logout")
	}

	// With a hint of the cookie session: ended at once.
	b.login(alice)
	list, err := h.sessions.List(h.ctx, alice.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("sessions %v %v", list, err)
	}
	sid = list[0].ID
	if sid == tsid {
		sid = list[1].ID
	}
	hint := h.hIDToken(alice, sid, "rp", h.clock.Now().Add(time.Minute), "JWT")
	r = b.do("GET", oauth.PathEndSession+"?"+url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {hPostLogout}}.Encode(), nil)
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != hPostLogout {
		t.Fatalf("logout with a hint: %d %q %q %s", r.StatusCode, r.page(), r.Header.Get("Location"), r.body)
	}
	if h.live(sid) {
		t.Fatal("the cookie session outlived the logout")
	}
}

// The authorization endpoint from the same browser (both cookies) uses
// its cookie session: before, the access cookie sent the signed-in user
// to the login page, and after signing in back to it again, for ever.
func TestAuthorizeUsesCookieSessionBesideAccessCookie(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "fp", FirstParty: true})
	alice := h.user("alice")
	b := h.browser()
	b.login(alice)
	b.accessCookie(alice)
	q, _ := hAuthQuery("fp", hRedirect)
	h.codeFrom(b.authorize(q), hRedirect, "st-123")
}
