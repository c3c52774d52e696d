package server_test

import (
	"html"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/config"
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

// FuzzReturnTarget: whatever next the login page is given, the target it
// renders is the account page, a local path that browsers cannot read as
// another host, or an https URL whose host (as net/url reads it) is under
// example.com, without user-info (SEC-57).
func FuzzReturnTarget(f *testing.F) {
	for _, s := range []string{"/account", "https://wiki.example.com/x", "//evil.com", "/\\evil.com", "https://a@evil.com",
		"javascript:alert(1)", "https://evil.com\\@wiki.example.com", "/%5Cevil", "https://wiki.example.com%2F@evil.com",
		"HTTPS://WIKI.EXAMPLE.COM:443/", "https://wiki.example.com.evil.com/", "/x?y=//evil"} {
		f.Add(s)
	}
	a := newForwardHandler(f, func(c *config.Config) { c.ReturnDomains = []string{"*.example.com"} })
	f.Fuzz(func(t *testing.T, next string) {
		req := httptest.NewRequest("GET", "https://sesame.test/login?next="+url.QueryEscape(next), nil)
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%q: got %d", next, rec.Code)
		}
		m := nextField.FindSubmatch(rec.Body.Bytes())
		if m == nil {
			t.Fatalf("%q: no next field", next)
		}
		got := html.UnescapeString(string(m[1]))
		switch {
		case got == "/account":
		case strings.HasPrefix(got, "/"):
			if strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n\t ") {
				t.Fatalf("%q: local target %q can leave the site", next, got)
			}
		default:
			u, err := url.Parse(got)
			host := ""
			if err == nil {
				host = strings.ToLower(u.Hostname())
			}
			if err != nil || !strings.EqualFold(u.Scheme, "https") || u.User != nil ||
				!strings.HasSuffix(host, ".example.com") && host != "sesame.test" || strings.ContainsAny(got, "\\\r\n\t ") {
				t.Fatalf("%q: followed to %q (host %q, err %v)", next, got, host, err)
			}
		}
	})
}
