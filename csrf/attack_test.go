package csrf_test

import (
	"bytes"
	"encoding/base64"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/csrf"
)

// SEC-38, attacks 19-20: the Origin must equal the own origin or a trusted
// one exactly, on scheme, host and port. Each case carries a valid token so
// that only the origin stage can refuse it.
func TestSEC38_OriginExactMatch(t *testing.T) {
	p := newProtection(t, func(c *csrf.Config) {
		c.TrustedOrigins = []string{"https://app.example", "http://localhost:5173"}
	})
	tok := sessionToken(t, p, "sid")
	cases := []struct {
		name    string
		origins []string // Origin header lines
		site    string   // Sec-Fetch-Site
		want    error
	}{
		{"own origin", []string{selfOrigin}, "", nil},
		{"trusted origin cross-site", []string{"https://app.example"}, "cross-site", nil},
		{"trusted origin with port", []string{"http://localhost:5173"}, "same-site", nil},
		{"suffix trick attacker domain", []string{"https://sesame.example.attacker.com"}, "", csrf.ErrOriginMismatch},
		{"suffix trick trusted", []string{"https://app.example.attacker.com"}, "cross-site", csrf.ErrOriginMismatch},
		{"prefix trick", []string{"https://evilsesame.example"}, "", csrf.ErrOriginMismatch},
		{"prefix trick trusted", []string{"https://evil-app.example"}, "cross-site", csrf.ErrOriginMismatch},
		{"sibling subdomain same-site", []string{"https://www.sesame.example"}, "same-site", csrf.ErrOriginMismatch},
		{"truncated host", []string{"https://sesame.exampl"}, "", csrf.ErrOriginMismatch},
		{"trailing dot", []string{"https://sesame.example."}, "", csrf.ErrOriginMismatch},
		{"trailing slash", []string{selfOrigin + "/"}, "", csrf.ErrOriginMismatch},
		{"path", []string{selfOrigin + "/account"}, "", csrf.ErrOriginMismatch},
		{"userinfo", []string{"https://user@sesame.example"}, "", csrf.ErrOriginMismatch},
		{"port mismatch", []string{"https://sesame.example:8443"}, "", csrf.ErrOriginMismatch},
		{"trusted port mismatch", []string{"http://localhost:5174"}, "cross-site", csrf.ErrOriginMismatch},
		{"explicit default port", []string{"https://sesame.example:443"}, "", csrf.ErrOriginMismatch},
		{"http instead of https", []string{"http://sesame.example"}, "", csrf.ErrOriginMismatch},
		{"trusted https instead of http", []string{"https://localhost:5173"}, "cross-site", csrf.ErrOriginMismatch},
		{"upper case", []string{"HTTPS://SESAME.EXAMPLE"}, "", csrf.ErrOriginMismatch},
		{"null", []string{"null"}, "", csrf.ErrOriginMismatch},
		{"null cross-site", []string{"null"}, "cross-site", csrf.ErrOriginMismatch},
		{"empty value", []string{""}, "", csrf.ErrOriginMismatch},
		{"two Origin lines good first", []string{selfOrigin, "https://attacker.example"}, "", csrf.ErrOriginMismatch},
		{"list in one line", []string{selfOrigin + " https://attacker.example"}, "", csrf.ErrOriginMismatch},
		{"none alone", nil, "none", csrf.ErrCrossSite},
		{"same-site alone", nil, "same-site", csrf.ErrCrossSite},
		{"Sec-Fetch-Site upper case", nil, "Same-Origin", csrf.ErrCrossSite},
		{"Sec-Fetch-Site list", nil, "same-origin, cross-site", csrf.ErrCrossSite},
		{"neither header", nil, "", csrf.ErrNoOrigin},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := withSession(unsafeReq(http.MethodPost, nil, csrf.DefaultHeader+": "+tok), "sid")
			for _, o := range tc.origins {
				r.Header.Add("Origin", o)
			}
			if tc.site != "" {
				r.Header.Set("Sec-Fetch-Site", tc.site)
			}
			assertErr(t, p.Check(r), tc.want, tok)
		})
	}
}

// SEC-38, attack 20: Referer is not accepted in place of Origin, however
// well it matches; a request with neither Sec-Fetch-Site nor Origin fails
// closed.
func TestSEC38_RefererOnlyRefused(t *testing.T) {
	p := newProtection(t, nil)
	tok := sessionToken(t, p, "sid")
	for _, ref := range []string{selfOrigin + "/account", selfOrigin + "/", selfOrigin} {
		r := withSession(unsafeReq(http.MethodPost, nil, "Referer: "+ref, csrf.DefaultHeader+": "+tok), "sid")
		assertErr(t, p.Check(r), csrf.ErrNoOrigin, tok)
	}
}

// The own origin follows Config.Scheme and r.Host, with r.Host lowercased
// and its default port dropped as a browser serializes an origin.
func TestSEC38_OwnOrigin(t *testing.T) {
	cases := []struct {
		name, target, host, origin string
		scheme                     func(*http.Request) string
		want                       error
	}{
		{"https from TLS", "https://sesame.example/x", "", "https://sesame.example", nil, nil},
		{"http without TLS", "http://sesame.example/x", "", "http://sesame.example", nil, nil},
		{"https origin to plain http server", "http://sesame.example/x", "", "https://sesame.example", nil, csrf.ErrOriginMismatch},
		{"http origin to TLS server", "https://sesame.example/x", "", "http://sesame.example", nil, csrf.ErrOriginMismatch},
		{"proxy scheme func", "http://sesame.example/x", "", "https://sesame.example", func(*http.Request) string { return "https" }, nil},
		{"host with port", "https://sesame.example:8443/x", "", "https://sesame.example:8443", nil, nil},
		{"host with default port", "https://sesame.example/x", "sesame.example:443", "https://sesame.example", nil, nil},
		{"upper-case Host", "https://sesame.example/x", "SESAME.example", "https://sesame.example", nil, nil},
		{"port differs from Host", "https://sesame.example:8443/x", "", "https://sesame.example", nil, csrf.ErrOriginMismatch},
		{"empty Host", "https://sesame.example/x", "-", "https://", nil, csrf.ErrOriginMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newProtection(t, func(c *csrf.Config) { c.Scheme = tc.scheme })
			tok := sessionToken(t, p, "sid")
			r := httptest.NewRequest(http.MethodPost, tc.target, nil)
			switch tc.host {
			case "":
			case "-":
				r.Host = ""
			default:
				r.Host = tc.host
			}
			r.Header.Set("Origin", tc.origin)
			r.Header.Set(csrf.DefaultHeader, tok)
			assertErr(t, p.Check(withSession(r, "sid")), tc.want, tok)
		})
	}
}

// SEC-35, attacks 13 and 17: every method but GET, HEAD and OPTIONS is
// checked, in any letter case; no override is honoured.
func TestSEC35_MethodsAndNoOverride(t *testing.T) {
	p := newProtection(t, nil)
	for _, m := range []string{"post", "Post", "delete", "CONNECT", "TRACE", "PROPFIND", "get", "head", "options"} {
		t.Run("unsafe "+m, func(t *testing.T) {
			r := withSession(unsafeReq(m, nil, "Sec-Fetch-Site: cross-site", "Origin: https://attacker.example"), "sid")
			assertErr(t, p.Check(r), csrf.ErrOriginMismatch)
		})
	}
	t.Run("form _method=DELETE on POST still needs a token", func(t *testing.T) {
		r := withSession(unsafeReq(http.MethodPost, url.Values{"_method": {"DELETE"}}, "Sec-Fetch-Site: same-origin"), "sid")
		assertErr(t, p.Check(r), csrf.ErrMissingToken)
		if r.Method != http.MethodPost {
			t.Fatalf("method: got %s, want POST", r.Method)
		}
	})
	t.Run("override headers on POST still need a token", func(t *testing.T) {
		r := withSession(unsafeReq(http.MethodPost, nil, "Sec-Fetch-Site: same-origin",
			"X-HTTP-Method-Override: GET", "X-HTTP-Method: GET", "X-Method-Override: GET"), "sid")
		assertErr(t, p.Check(r), csrf.ErrMissingToken)
	})
	t.Run("GET with _method=DELETE stays GET", func(t *testing.T) {
		r := withSession(httptest.NewRequest(http.MethodGet, selfOrigin+"/account?_method=DELETE", nil), "sid")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		assertErr(t, p.Check(r), nil)
		if r.Method != http.MethodGet {
			t.Fatalf("method: got %s, want GET", r.Method)
		}
	})
}

// SEC-37, attack 14: the token is read from the header or a form body,
// never from the URL query or a JSON body.
func TestSEC37_TokenSources(t *testing.T) {
	p := newProtection(t, nil)
	tok := sessionToken(t, p, "sid")
	other := sessionToken(t, p, "sid-other")
	same := "Sec-Fetch-Site: same-origin"

	t.Run("query string ignored", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, selfOrigin+"/account?csrf_token="+tok, strings.NewReader("note=x"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		assertErr(t, p.Check(withSession(r, "sid")), csrf.ErrMissingToken, tok)
	})
	t.Run("query string ignored without body", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, selfOrigin+"/account?csrf_token="+tok+"&X-CSRF-Token="+tok, nil)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		assertErr(t, p.Check(withSession(r, "sid")), csrf.ErrMissingToken, tok)
	})
	t.Run("JSON body field ignored", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, selfOrigin+"/api/v1/x", strings.NewReader(`{"csrf_token":"`+tok+`"}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		assertErr(t, p.Check(withSession(r, "sid")), csrf.ErrMissingToken, tok)
	})
	t.Run("text/plain form ignored", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, selfOrigin+"/account", strings.NewReader("csrf_token="+tok))
		r.Header.Set("Content-Type", "text/plain")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		assertErr(t, p.Check(withSession(r, "sid")), csrf.ErrMissingToken, tok)
	})
	t.Run("urlencoded form field", func(t *testing.T) {
		r := withSession(unsafeReq(http.MethodPost, url.Values{"csrf_token": {tok}, "note": {"kept"}}, same), "sid")
		assertErr(t, p.Check(r), nil)
		if got := r.PostFormValue("note"); got != "kept" {
			t.Fatalf("handler sees note=%q, want kept", got)
		}
	})
	t.Run("form content type with charset", func(t *testing.T) {
		r := withSession(unsafeReq(http.MethodPost, url.Values{"csrf_token": {tok}}, same), "sid")
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		assertErr(t, p.Check(r), nil)
	})
	t.Run("multipart form field", func(t *testing.T) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("csrf_token", tok)
		fw, _ := mw.CreateFormFile("avatar", "a.png")
		_, _ = fw.Write([]byte("png"))
		_ = mw.Close()
		r := httptest.NewRequest(http.MethodPost, selfOrigin+"/account", &body)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r = withSession(r, "sid")
		assertErr(t, p.Check(r), nil)
		if r.MultipartForm == nil || len(r.MultipartForm.File["avatar"]) != 1 {
			t.Fatal("handler cannot see the uploaded file")
		}
	})
	t.Run("multipart without boundary", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, selfOrigin+"/account", strings.NewReader("x"))
		r.Header.Set("Content-Type", "multipart/form-data")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		assertErr(t, p.Check(withSession(r, "sid")), csrf.ErrUnreadableForm)
	})
	t.Run("oversized form", func(t *testing.T) {
		r := withSession(unsafeReq(http.MethodPost, url.Values{"csrf_token": {tok}, "pad": {strings.Repeat("a", 100)}}, same), "sid")
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 10)
		err := p.Check(r)
		assertErr(t, err, csrf.ErrUnreadableForm, tok)
		var mbe *http.MaxBytesError
		if !errorsAs(err, &mbe) {
			t.Fatalf("got %v, want it to wrap *http.MaxBytesError", err)
		}
	})
	t.Run("header wins over form", func(t *testing.T) {
		r := withSession(unsafeReq(http.MethodPost, url.Values{"csrf_token": {tok}}, same, csrf.DefaultHeader+": "+other), "sid")
		assertErr(t, p.Check(r), csrf.ErrTokenMismatch)
	})
	t.Run("empty header", func(t *testing.T) {
		r := withSession(unsafeReq(http.MethodPost, nil, same, csrf.DefaultHeader+": "), "sid")
		assertErr(t, p.Check(r), csrf.ErrMissingToken)
	})
	t.Run("two header values", func(t *testing.T) {
		r := withSession(unsafeReq(http.MethodPost, nil, same, csrf.DefaultHeader+": "+tok, csrf.DefaultHeader+": "+other), "sid")
		assertErr(t, p.Check(r), csrf.ErrMalformedToken, tok)
	})
	t.Run("two form values", func(t *testing.T) {
		r := withSession(unsafeReq(http.MethodPost, url.Values{"csrf_token": {tok, tok}}, same), "sid")
		assertErr(t, p.Check(r), csrf.ErrMalformedToken, tok)
	})
	t.Run("custom names", func(t *testing.T) {
		pc := newProtection(t, func(c *csrf.Config) { c.FormField = "tok"; c.Header = "x-my-token" })
		tc := sessionToken(t, pc, "sid")
		assertErr(t, pc.Check(withSession(unsafeReq(http.MethodPost, url.Values{"tok": {tc}}, same), "sid")), nil)
		assertErr(t, pc.Check(withSession(unsafeReq(http.MethodPost, nil, same, "X-My-Token: "+tc), "sid")), nil)
		assertErr(t, pc.Check(withSession(unsafeReq(http.MethodPost, nil, same, csrf.DefaultHeader+": "+tc), "sid")), csrf.ErrMissingToken)
	})
}

// SEC-37, attacks 15-16: tokens that are not a valid HMAC for this key and
// this session are refused, whatever their shape.
func TestSEC37_ForgedTokens(t *testing.T) {
	p := newProtection(t, nil)
	tok := sessionToken(t, p, "sid")
	otherKey := newProtection(t, func(c *csrf.Config) { c.Key = bytes.Repeat([]byte{0x17}, 32) })
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	unmasked := make([]byte, 32) // the bare MAC, without the mask
	for i := range unmasked {
		unmasked[i] = raw[i] ^ raw[32+i]
	}
	flipped := append([]byte(nil), raw...)
	flipped[40] ^= 1
	swapped := append(append([]byte(nil), raw[32:]...), raw[:32]...) // mask and masked MAC swapped: same XOR, must still verify
	cases := []struct {
		name, token string
		want        error
	}{
		{"valid", tok, nil},
		{"halves swapped", base64.RawURLEncoding.EncodeToString(swapped), nil},
		{"valid HMAC under another key", sessionToken(t, otherKey, "sid"), csrf.ErrTokenMismatch},
		{"other session", sessionToken(t, p, "sid-2"), csrf.ErrTokenMismatch},
		{"one bit flipped", base64.RawURLEncoding.EncodeToString(flipped), csrf.ErrTokenMismatch},
		{"all zero", base64.RawURLEncoding.EncodeToString(make([]byte, 64)), csrf.ErrTokenMismatch},
		{"bare MAC unmasked", base64.RawURLEncoding.EncodeToString(unmasked), csrf.ErrMalformedToken},
		{"truncated by one", tok[:len(tok)-1], csrf.ErrMalformedToken},
		{"truncated half", tok[:43], csrf.ErrMalformedToken},
		{"extra character", tok + "A", csrf.ErrMalformedToken},
		{"padded", tok + "==", csrf.ErrMalformedToken},
		{"standard alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(tok), wantStdAlphabet(tok)},
		{"non-canonical trailing bits", tok[:85] + nonCanonicalLast(tok[85]), csrf.ErrMalformedToken},
		{"newline inside", tok[:40] + "\n" + tok[41:], csrf.ErrMalformedToken},
		{"space padded", " " + tok[1:], csrf.ErrMalformedToken},
		{"garbage", "not-a-token", csrf.ErrMalformedToken},
		{"garbage of right length", strings.Repeat("!", 86), csrf.ErrMalformedToken},
		{"huge", strings.Repeat("A", 1<<16), csrf.ErrMalformedToken},
		{"session ID itself", "sid", csrf.ErrMalformedToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := withSession(unsafeReq(http.MethodPost, nil, "Sec-Fetch-Site: same-origin"), "sid")
			r.Header.Set(csrf.DefaultHeader, tc.token)
			assertErr(t, p.Check(r), tc.want, tok)
		})
	}
}

// wantStdAlphabet: a token in the standard base64 alphabet is malformed
// unless it happens to contain neither '-' nor '_'.
func wantStdAlphabet(tok string) error {
	if strings.ContainsAny(tok, "-_") {
		return csrf.ErrMalformedToken
	}
	return nil
}

// nonCanonicalLast returns the last character with its unused low bits set:
// the same bytes in a second spelling, which strict decoding refuses.
func nonCanonicalLast(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i|0b1111])
}

// SEC-37, SEC-39: Sesame gives the session a new ID at every login, so a
// token minted before the login is refused after it, and one minted for
// session A is refused for session B.
func TestSEC37_TokenRotatesOnLogin(t *testing.T) {
	p := newProtection(t, nil)
	before := sessionToken(t, p, "sid-A")
	r := withSession(unsafeReq(http.MethodPost, nil, "Sec-Fetch-Site: same-origin", csrf.DefaultHeader+": "+before), "sid-A")
	assertErr(t, p.Check(r), nil)
	r = withSession(unsafeReq(http.MethodPost, nil, "Sec-Fetch-Site: same-origin", csrf.DefaultHeader+": "+before), "sid-B")
	assertErr(t, p.Check(r), csrf.ErrTokenMismatch, before)
	after := sessionToken(t, p, "sid-B")
	r = withSession(unsafeReq(http.MethodPost, nil, "Sec-Fetch-Site: same-origin", csrf.DefaultHeader+": "+after), "sid-B")
	assertErr(t, p.Check(r), nil)
}

// BREACH-style masking: each call returns a different token, all valid.
func TestSEC37_TokensMasked(t *testing.T) {
	p := newProtection(t, nil)
	seen := map[string]bool{}
	for range 50 {
		tok := sessionToken(t, p, "sid")
		if seen[tok] {
			t.Fatalf("token %q returned twice", tok)
		}
		seen[tok] = true
		r := withSession(unsafeReq(http.MethodPost, nil, "Sec-Fetch-Site: same-origin", csrf.DefaultHeader+": "+tok), "sid")
		assertErr(t, p.Check(r), nil)
	}
}

// SEC-39, attacks 16, 21, 23: the pre-session (login form) token is a
// signed double-submit bound to a random __Host- cookie.
func TestSEC39_PreSession(t *testing.T) {
	p := newProtection(t, nil)
	cookie, tok := preSession(t, p)
	post := func(token string, cookies ...*http.Cookie) *http.Request {
		r := unsafeReq(http.MethodPost, url.Values{"csrf_token": {token}, "email": {"a@example.org"}}, "Sec-Fetch-Site: same-origin")
		for _, c := range cookies {
			r.AddCookie(c)
		}
		return r
	}
	t.Run("valid", func(t *testing.T) {
		assertErr(t, p.Check(post(tok, cookie)), nil)
	})
	t.Run("second token for the same cookie", func(t *testing.T) {
		tok2 := preSessionToken(t, p, cookie)
		if tok2 == tok {
			t.Fatal("tokens not masked")
		}
		assertErr(t, p.Check(post(tok2, cookie)), nil)
	})
	t.Run("no cookie", func(t *testing.T) {
		assertErr(t, p.Check(post(tok)), csrf.ErrNoPreSession, tok)
	})
	t.Run("token bound to another pre-session cookie", func(t *testing.T) {
		attackerCookie, attackerTok := preSession(t, p)
		assertErr(t, p.Check(post(attackerTok, cookie)), csrf.ErrTokenMismatch, attackerTok)
		assertErr(t, p.Check(post(tok, attackerCookie)), csrf.ErrTokenMismatch, tok)
	})
	t.Run("naive double-submit: field equals cookie", func(t *testing.T) {
		assertErr(t, p.Check(post(cookie.Value, cookie)), csrf.ErrMalformedToken, cookie.Value)
	})
	t.Run("naive double-submit: attacker-chosen pair of token length", func(t *testing.T) {
		v := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
		forged := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{1}, 64))
		assertErr(t, p.Check(post(forged, &http.Cookie{Name: csrf.DefaultPreSessionCookie, Value: v})), csrf.ErrTokenMismatch, forged)
	})
	t.Run("malformed cookie value", func(t *testing.T) {
		assertErr(t, p.Check(post(tok, &http.Cookie{Name: csrf.DefaultPreSessionCookie, Value: "x"})), csrf.ErrNoPreSession, tok)
	})
	t.Run("duplicate cookie name (cookie tossing)", func(t *testing.T) {
		attackerCookie, _ := preSession(t, p)
		assertErr(t, p.Check(post(tok, attackerCookie, cookie)), csrf.ErrNoPreSession, tok)
		assertErr(t, p.Check(post(tok, cookie, attackerCookie)), csrf.ErrNoPreSession, tok)
	})
	t.Run("cookie without __Host- prefix ignored", func(t *testing.T) {
		assertErr(t, p.Check(post(tok, &http.Cookie{Name: "sesame-csrf", Value: cookie.Value})), csrf.ErrNoPreSession, tok)
	})
	t.Run("pre-session token refused once logged in", func(t *testing.T) {
		assertErr(t, p.Check(withSession(post(tok, cookie), "sid-new")), csrf.ErrTokenMismatch, tok)
	})
	t.Run("cookie planted with a victim's session ID yields no session token", func(t *testing.T) {
		// The attacker sets their own pre-session cookie to the victim's
		// public session ID and asks for a token: it must not verify as a
		// token of the victim's session (domain separation).
		victimSID := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
		forged := preSessionToken(t, p, &http.Cookie{Name: csrf.DefaultPreSessionCookie, Value: victimSID})
		r := withSession(unsafeReq(http.MethodPost, nil, "Sec-Fetch-Site: same-origin", csrf.DefaultHeader+": "+forged), victimSID)
		assertErr(t, p.Check(r), csrf.ErrTokenMismatch, forged)
	})
	t.Run("session token for an ID equal to the cookie value refused", func(t *testing.T) {
		forged := sessionToken(t, p, cookie.Value)
		assertErr(t, p.Check(post(forged, cookie)), csrf.ErrTokenMismatch, forged)
	})
}

// SEC-39, attacks 16 and 23: the pre-session cookie is host-only, Path=/,
// Secure, HttpOnly, SameSite=Strict, a session cookie, and set only once per
// response.
func TestSEC39_PreSessionCookieAttributes(t *testing.T) {
	p := newProtection(t, nil)
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, selfOrigin+"/login", nil)
	tok1, err := p.Token(rec, r)
	if err != nil {
		t.Fatal(err)
	}
	tok2, err := p.Token(rec, r) // a page with two forms
	if err != nil {
		t.Fatal(err)
	}
	lines := rec.Header().Values("Set-Cookie")
	if len(lines) != 1 {
		t.Fatalf("Set-Cookie lines: got %d, want 1: %q", len(lines), lines)
	}
	c, err := http.ParseSetCookie(lines[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "__Host-sesame-csrf" {
		t.Errorf("name: got %q, want __Host-sesame-csrf", c.Name)
	}
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
		t.Errorf("attributes: got %q, want Path=/; HttpOnly; Secure; SameSite=Strict and no Domain", lines[0])
	}
	if c.MaxAge != 0 || !c.Expires.IsZero() {
		t.Errorf("got a persistent cookie %q, want a session cookie", lines[0])
	}
	if n, _ := base64.RawURLEncoding.DecodeString(c.Value); len(n) != 32 {
		t.Errorf("cookie value carries %d random bytes, want 32", len(n))
	}
	for _, tok := range []string{tok1, tok2} {
		req := unsafeReq(http.MethodPost, url.Values{"csrf_token": {tok}}, "Sec-Fetch-Site: same-origin")
		req.AddCookie(c)
		assertErr(t, p.Check(req), nil)
	}

	t.Run("garbage cookie replaced", func(t *testing.T) {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, selfOrigin+"/login", nil)
		r.AddCookie(&http.Cookie{Name: csrf.DefaultPreSessionCookie, Value: "planted"})
		if _, err := p.Token(rec, r); err != nil {
			t.Fatal(err)
		}
		if cs := rec.Result().Cookies(); len(cs) != 1 || cs[0].Value == "planted" {
			t.Fatalf("cookies: got %v, want one fresh value", cs)
		}
	})
	t.Run("two fresh login pages get different cookies", func(t *testing.T) {
		a, _ := preSession(t, p)
		b, _ := preSession(t, p)
		if a.Value == b.Value {
			t.Fatal("pre-session cookie values repeat")
		}
	})
}

func TestSEC37_TokenExemptKeepsOriginStage(t *testing.T) {
	isJSONLogin := func(r *http.Request) bool {
		return r.URL.Path == "/api/v1/login" && r.Header.Get("Content-Type") == "application/json"
	}
	p := newProtection(t, func(c *csrf.Config) { c.TokenExempt = isJSONLogin })
	login := func(headers ...string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, selfOrigin+"/api/v1/login", strings.NewReader(`{}`))
		r.Header.Set("Content-Type", "application/json")
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ": ")
			r.Header.Set(k, v)
		}
		return r
	}
	assertErr(t, p.Check(login("Sec-Fetch-Site: same-origin")), nil)
	assertErr(t, p.Check(login("Origin: "+selfOrigin)), nil)
	assertErr(t, p.Check(login("Sec-Fetch-Site: cross-site", "Origin: https://attacker.example")), csrf.ErrOriginMismatch)
	assertErr(t, p.Check(login()), csrf.ErrNoOrigin)
	// Attack 21: the HTML login form is not exempt.
	form := unsafeReq(http.MethodPost, url.Values{"email": {"a@example.org"}}, "Sec-Fetch-Site: same-origin")
	assertErr(t, p.Check(form), csrf.ErrMissingToken)
}

func TestExemptSkipsBothStages(t *testing.T) {
	bearerOnly := func(r *http.Request) bool {
		return strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") && len(r.Header.Values("Cookie")) == 0
	}
	p := newProtection(t, func(c *csrf.Config) { c.Exempt = bearerOnly })
	r := unsafeReq(http.MethodDelete, nil, "Authorization: Bearer x")
	assertErr(t, p.Check(r), nil)
	r = unsafeReq(http.MethodDelete, nil, "Authorization: Bearer x", "Cookie: __Host-sesame=v")
	assertErr(t, p.Check(r), csrf.ErrNoOrigin)
}
