package csrf_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/csrf"
)

// FuzzCheck feeds Check arbitrary headers, bodies and cookies (SEC-38 F).
// Check must never panic, its error must never contain the token, and
// whenever it lets an unsafe request through, the rules must hold, checked
// against an independent computation of the token's HMAC.
func FuzzCheck(f *testing.F) {
	p := newProtection(f, func(c *csrf.Config) { c.TrustedOrigins = []string{"https://app.example"} })
	valid := sessionToken(f, p, "sid")
	cookie, preTok := preSession(f, p)
	type seed struct{ method, site, origin, ctype, body, token, cookie, sid string }
	for _, s := range []seed{
		{"POST", "same-origin", "", "", "", valid, "", "sid"},
		{"POST", "", selfOrigin, "application/x-www-form-urlencoded", "csrf_token=" + valid, "", "", "sid"},
		{"POST", "cross-site", "https://app.example", "", "", valid, "", "sid"},
		{"POST", "same-origin", "", "application/x-www-form-urlencoded", "csrf_token=" + preTok, "", cookie.Value, ""},
		{"PUT", "none", "null", "", "", valid, "", "sid"},
		{"DELETE", "", "https://sesame.example.attacker.com", "", "", valid, "", "sid"},
		{"PATCH", "same-site", "https://sesame.example:443", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n" + valid + "\r\n--x--\r\n", "", "", "sid"},
		{"POST", "same-origin", "", "application/x-www-form-urlencoded", "csrf_token=%zz", "", "", "sid"},
		{"post", "same-origin", "", "", "", valid[:85] + "=", "", "sid"},
		{"GET", "cross-site", "null", "", "", "", "", ""},
		{"POST", "same-origin", "", "", "", cookie.Value, cookie.Value, ""},
	} {
		f.Add(s.method, s.site, s.origin, s.ctype, s.body, s.token, s.cookie, s.sid)
	}
	f.Fuzz(func(t *testing.T, method, fetchSite, origin, ctype, body, token, cookieValue, sid string) {
		if !validMethod(method) {
			return
		}
		r := httptest.NewRequest("POST", selfOrigin+"/account", strings.NewReader(body))
		r.Method = method
		set := func(k, v string) {
			if v != "" {
				r.Header[k] = []string{v}
			}
		}
		set("Sec-Fetch-Site", fetchSite)
		set("Origin", origin)
		set("Content-Type", ctype)
		set("X-Csrf-Token", token)
		set("Cookie", csrf.DefaultPreSessionCookie+"="+cookieValue)
		r = withSession(r, sid)
		err := p.Check(r)
		if err != nil {
			if len(token) >= 8 && strings.Contains(err.Error(), token) {
				t.Fatalf("error %q contains the token", err)
			}
			return
		}
		switch method {
		case "GET", "HEAD", "OPTIONS":
			return
		}
		if fetchSite != "same-origin" && origin != selfOrigin && origin != "https://app.example" {
			t.Fatalf("passed with Sec-Fetch-Site %q and Origin %q", fetchSite, origin)
		}
		tok := token
		if tok == "" {
			tok = r.PostForm.Get(csrf.DefaultFormField)
		}
		label, bound := "session\x00", sid
		if sid == "" {
			label, bound = "pre-session\x00", r.CookiesNamed(csrf.DefaultPreSessionCookie)[0].Value
		}
		if !tokenFor(tok, "sesame-csrf-v1\x00"+label+bound) {
			t.Fatalf("passed with token %q not bound to %q", tok, bound)
		}
	})
}

// tokenFor is the token format, restated: base64url(mask || mask^HMAC).
func tokenFor(tok, msg string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 64 {
		return false
	}
	m := hmac.New(sha256.New, testKey)
	m.Write([]byte(msg))
	want := m.Sum(nil)
	for i := range 32 {
		if raw[i]^raw[32+i] != want[i] {
			return false
		}
	}
	return true
}

// validMethod mirrors net/http's rule that a method is a token.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}
