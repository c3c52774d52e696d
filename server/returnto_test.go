package server_test

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var nextField = regexp.MustCompile(`name="next" value="([^"]*)"`)

// TestSEC57_ReturnTargets: the login page follows a return target only to
// its own paths or an https URL on a protected host (return_domains,
// cookie_domain, its own origin); another host, //evil, /\evil,
// javascript:, CR or LF, user-info, backslashes and their encoded forms
// all lead to the account page (SEC-57: "follows return URLs only to
// configured domains"), on the login form and on the redirect after
// signing in.
func TestSEC57_ReturnTargets(t *testing.T) {
	e := newForwardEnv(t, nil) // return_domains: *.example.com
	own := e.srv.URL           // https://127.0.0.1:PORT
	cases := []struct {
		name, next string
		follow     bool
	}{
		{"local path", "/account?done=x", true},
		{"local path with encoded query", "/wiki?next=%2F%2Fx", true},
		{"protected host", "https://wiki.example.com/page?x=1", true},
		{"protected host, port and upper case", "https://WIKI.example.com:8443/a/b", true},
		{"deeper subdomain", "https://a.b.example.com/", true},
		{"own origin", own + "/account", true},
		{"empty", "", false},
		{"bare parent domain (only *.example.com is listed)", "https://example.com/", false},
		{"other host", "https://evil.com/", false},
		{"protected name as a prefix", "https://wiki.example.com.evil.com/", false},
		{"protected name as a suffix without dot", "https://evilexample.com/", false},
		{"http on an https deployment", "http://wiki.example.com/", false},
		{"scheme-relative", "//evil.com/x", false},
		{"scheme-relative with three slashes", "///evil.com", false},
		{"slash backslash", "/\\evil.com", false},
		{"backslashes", "\\\\evil.com", false},
		{"encoded backslash", "/%5Cevil.com", false},
		{"encoded slashes", "/%2F%2Fevil.com", false},
		{"encoded slashes, no leading slash", "%2F%2Fevil.com", false},
		{"javascript", "javascript:alert(document.cookie)", false},
		{"javascript, mixed case, with a protected host", "JaVaScRiPt://wiki.example.com/%0aalert(1)", false},
		{"data", "data:text/html,<script>alert(1)</script>", false},
		{"user-info", "https://a@evil.com/", false},
		{"user-info with the protected host", "https://wiki.example.com@evil.com/", false},
		{"user-info after a backslash", "https://evil.com\\@wiki.example.com/", false},
		{"CRLF", "https://wiki.example.com/\r\nSet-Cookie: x=1", false},
		{"encoded CRLF", "/page%0d%0aSet-Cookie:x=1", false},
		{"tab", "/\tevil.com", false},
		{"encoded tab", "/%09/evil.com", false},
		{"leading space", " https://evil.com", false},
		{"opaque https", "https:wiki.example.com", false},
		{"one slash", "https:/evil.com", false},
		{"encoded dot in the host", "https://wiki.example.com%2eevil.com/", false},
		{"fragment trick", "https://evil.com#.wiki.example.com", false},
		{"query trick", "https://evil.com?.wiki.example.com", false},
		{"non-ASCII look-alike host", "https://wіki.example.com/", false},
		{"IPv6 literal", "https://[::1]/", false},
		{"ftp", "ftp://wiki.example.com/", false},
	}
	c := e.client()
	c.signup("alice", "correct horse battery")
	for _, tc := range cases {
		want := tc.next
		if !tc.follow {
			want = "/account"
		}
		r := c.want(c.do("GET", "/login?next="+url.QueryEscape(tc.next), nil), 200)
		m := nextField.FindSubmatch(r.body)
		if m == nil || html.UnescapeString(string(m[1])) != want {
			t.Errorf("%s: login form next %q, want %q", tc.name, m, want)
		}
		csp := r.Header.Get("Content-Security-Policy")
		if tc.follow && strings.HasPrefix(want, "https://") && !strings.Contains(csp, "form-action 'self' https://") {
			t.Errorf("%s: CSP %q does not let the form redirect there", tc.name, csp)
		}
		if !tc.follow && !strings.Contains(csp, "form-action 'self'; ") && !strings.HasSuffix(csp, "form-action 'self'") {
			t.Errorf("%s: CSP %q widens form-action", tc.name, csp)
		}
		// After signing in with the target in the form.
		b := e.client()
		res := b.do("POST", "/login", url.Values{"username": {"alice"}, "password": {"correct horse battery"}, "next": {tc.next}})
		if res.StatusCode != 303 || res.Header.Get("Location") != want {
			t.Errorf("%s: after login got %d Location %q, want 303 to %q", tc.name, res.StatusCode, res.Header.Get("Location"), want)
		}
	}
}
