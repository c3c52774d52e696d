package oauth_test

import (
	"net/url"
	"testing"

	"github.com/sesame-auth/sesame/oauth"
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
