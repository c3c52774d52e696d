package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestForwardKeys: cookie_domain, return_domains, forward_headers and
// forward_assertion load from every layer and refuse what cannot work.
func TestForwardKeys(t *testing.T) {
	file := writeFile(t, "sesame.yaml", `public_url: https://auth.example.com
cookie_domain: example.com
return_domains: [wiki.example.org, "*.apps.example.net"]
forward_headers: [user=X-Auth-User, email=]
forward_assertion: true
`)
	c := mustLoad(t, nil, file)
	if c.CookieDomain != "example.com" || !c.ForwardAssertion || len(c.ReturnDomains) != 2 {
		t.Fatalf("got %+v", c)
	}
	if got := c.EffectiveReturnDomains(); !slices.Equal(got, []string{"wiki.example.org", "*.apps.example.net", ".example.com"}) {
		t.Errorf("EffectiveReturnDomains: got %q", got)
	}
	for field, want := range map[string]string{"user": "X-Auth-User", "email": "-", "groups": "", "name": ""} {
		if got := c.ForwardHeader(field); got != want {
			t.Errorf("ForwardHeader(%s): got %q, want %q", field, got, want)
		}
	}
	c = mustLoad(t, env{"SESAME_RETURN_DOMAINS": ".example.com"}, "", "--forward-assertion", "--cookie-domain", "localhost")
	if !c.ForwardAssertion || c.CookieDomain != "localhost" || !slices.Equal(c.ReturnDomains, []string{".example.com"}) {
		t.Errorf("flags and env: got %q %v %q", c.CookieDomain, c.ForwardAssertion, c.ReturnDomains)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"cookie domain not covering public_url", []string{"--public-url", "https://auth.example.com", "--cookie-domain", "example.org"}, `"example.org" does not cover public_url's host auth.example.com`},
		{"cookie domain suffix without a dot boundary", []string{"--public-url", "https://auth.myexample.com", "--cookie-domain", "example.com"}, "does not cover"},
		{"cookie domain with a scheme", []string{"--cookie-domain", "https://example.com"}, "want a domain name"},
		{"cookie domain with a port", []string{"--cookie-domain", "example.com:443"}, "want a domain name"},
		{"return domain with a path", []string{"--return-domains", "wiki.example.com/x"}, "--return-domains: \"wiki.example.com/x\": want a host name"},
		{"return domain wildcard inside", []string{"--return-domains", "wiki.*.example.com"}, "want a host name"},
		{"forward header unknown field", []string{"--forward-headers", "role=X-Role"}, "FIELD one of user, groups, name, email"},
		{"forward header without =", []string{"--forward-headers", "X-User"}, "FIELD=Header-Name"},
		{"forward header bad name", []string{"--forward-headers", "user=X User"}, "is not a header name"},
		{"forward header twice", []string{"--forward-headers", "user=A,user=B"}, "renamed twice"},
	} {
		_, err := load(t, nil, "", tc.args...)
		var ps *Problems
		if !errors.As(err, &ps) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a problem containing %q", tc.name, err, tc.want)
		}
	}
	// A cookie domain covering public_url's host, or equal to it, passes.
	for _, d := range []string{"example.com", ".example.com", "auth.example.com"} {
		if _, err := load(t, nil, "", "--public-url", "https://auth.example.com", "--cookie-domain", d); err != nil {
			t.Errorf("cookie domain %q: %v", d, err)
		}
	}
}

// TestRuleAssertionField: access_rules take assertion: true or false, and
// nothing else.
func TestRuleAssertionField(t *testing.T) {
	file := writeFile(t, "sesame.yaml", `access_rules:
  - domain: grafana.example.com
    policy: authenticated
    assertion: true
  - domain: "*"
    policy: deny
`)
	c := mustLoad(t, nil, file)
	if !c.AccessRules[0].Assertion || c.AccessRules[1].Assertion {
		t.Errorf("got %+v", c.AccessRules)
	}
	if s := c.AccessRules[0].String(); !strings.HasSuffix(s, " assertion=true") {
		t.Errorf("String: %q", s)
	}
	bad := writeFile(t, "sesame.yaml", "access_rules:\n  - domain: a.example.com\n    policy: authenticated\n    assertion: \"yes\"\n")
	if _, err := load(t, nil, bad); err == nil || !strings.Contains(err.Error(), "access_rules[0].assertion: wrong type: want true or false") {
		t.Errorf("quoted assertion: got %v", err)
	}
}
