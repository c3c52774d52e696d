package oauth_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
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

// A relying party that POSTs its logout request keeps the ID token out of
// URLs (browser history, Sesame's and its proxies' access logs). The
// cookie-less POST's re-ask as a GET must not put it there: it carries a
// short-lived MACed stand-in for the verified hint instead, which ends
// only the session the hint named, in the browser that holds it, and
// nothing once edited, moved to another session or expired. Before, the
// 303 Location held the id_token_hint itself.
func TestSEC54_LogoutPostReaskKeepsIDTokenOutOfURL(t *testing.T) {
	h, alice := logoutHarness(t)
	b := h.browser()
	b.login(alice)
	sid := h.lastSession(alice)
	hint := h.hIDToken(alice, sid, "rp", h.clock.Now().Add(time.Hour), "JWT")
	q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {hPostLogout}, "state": {"s"}}
	r := h.browser().do("POST", oauth.PathEndSession, q) // cross-site: no cookie
	loc := r.location(t)
	if r.StatusCode != http.StatusSeeOther || loc.Path != oauth.PathEndSession {
		t.Fatalf("cookie-less POST: %d %s", r.StatusCode, loc)
	}
	payload := strings.Split(hint, ".")[1]
	if strings.Contains(loc.String(), payload) || loc.Query().Has("id_token_hint") {
		t.Fatalf("the re-ask puts the ID token in the URL: %s", loc)
	}
	if !h.live(sid) {
		t.Fatal("the cookie-less POST ended the session")
	}

	// Another session (another browser of alice) following the same URL:
	// asked to confirm, nothing ended.
	b2 := h.browser()
	b2.login(alice)
	if r := b2.do("GET", loc.String(), nil); r.page() != "logout" || r.Header.Get("Location") != "" {
		t.Fatalf("another session: %d %q %q", r.StatusCode, r.page(), r.Header.Get("Location"))
	}
	// An edited stand-in counts for nothing.
	for _, p := range []string{"hint_mac"} {
		if loc.Query().Get(p) == "" {
			t.Fatalf("no %s in %s", p, loc)
		}
		edited := loc.Query()
		edited.Set(p, edited.Get(p)+"x")
		if r := b.do("GET", oauth.PathEndSession+"?"+edited.Encode(), nil); r.page() != "logout" || !h.live(sid) {
			t.Fatalf("edited %s: %d %q live=%v", p, r.StatusCode, r.page(), h.live(sid))
		}
	}
	// The spec's free-form logout_hint (an RP's) is no stand-in.
	free := url.Values{"client_id": {"rp"}, "logout_hint": {"alice"}, "post_logout_redirect_uri": {hPostLogout}}
	if r := b.do("GET", oauth.PathEndSession+"?"+free.Encode(), nil); r.page() != "logout" || !h.live(sid) {
		t.Fatalf("logout_hint: %d %q live=%v", r.StatusCode, r.page(), h.live(sid))
	}
	// The browser that holds the session follows: ended at once, back to
	// the client with state, as with the hint itself.
	r = b.do("GET", loc.String(), nil)
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != hPostLogout+"?state=s" || h.live(sid) {
		t.Fatalf("the GET: %d %q live=%v", r.StatusCode, r.Header.Get("Location"), h.live(sid))
	}

	// Expired (the re-ask is followed at once; 10 minutes is plenty):
	// confirmation.
	b.login(alice)
	sid = h.lastSession(alice)
	hint = h.hIDToken(alice, sid, "rp", h.clock.Now().Add(time.Hour), "JWT")
	q.Set("id_token_hint", hint)
	loc = h.browser().do("POST", oauth.PathEndSession, q).location(t)
	h.clock.Add(11 * time.Minute)
	if r := b.do("GET", loc.String(), nil); r.page() != "logout" || !h.live(sid) {
		t.Fatalf("expired stand-in: %d %q live=%v", r.StatusCode, r.page(), h.live(sid))
	}
}

// The user is switched between showing the consent page and submitting
// it (bob signs in in the same browser, replacing alice's session): alice's
// form gives bob no code and records no consent for either.
func TestSEC58_ConsentFormAfterUserSwitch(t *testing.T) {
	h := newHarness(t, nil)
	h.client(&oauth.Client{ID: "rp"})
	alice, bob := h.user("alice"), h.user("bob")
	b := h.browser()
	b.login(alice)
	q, _ := hAuthQuery("rp", hRedirect)
	v := b.authorize(q).consent(t)
	b.login(bob)
	r := b.do("POST", oauth.PathConsent, url.Values{"request": {v.Request}, "decision": {"allow"}})
	if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" {
		t.Fatalf("alice's form in bob's session: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	for _, u := range []*sesame.User{alice, bob} {
		if _, err := h.store.Consent(h.ctx, u.ID, "rp"); err == nil {
			t.Fatalf("a consent was saved for %s", u.Username)
		}
	}
}
