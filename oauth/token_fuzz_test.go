package oauth_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/oauth"
)

// Malformed bodies at the back-end endpoints are 400 invalid_request,
// never 500.
func TestMalformedBodies(t *testing.T) {
	f := newTHFixture(t)
	valid := "grant_type=client_credentials"
	cases := []struct {
		name, contentType, body string
	}{
		{"JSON", "application/json", `{"grant_type":"client_credentials"}`},
		{"no content type", "-", valid},
		{"multipart", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--x--"},
		{"bad content type", "application/x-www-form-urlencoded; =", valid},
		{"bad escape", "", valid + "&scope=%zz"},
		{"semicolon", "", valid + ";scope=read"},
		{"repeated grant_type", "", valid + "&grant_type=client_credentials"},
		{"repeated scope", "", valid + "&scope=read&scope=write"},
		{"oversized", "", valid + "&scope=" + strings.Repeat("a", 64<<10)},
	}
	for _, path := range []string{oauth.PathToken, oauth.PathRevoke, oauth.PathIntrospect} {
		for _, tc := range cases {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				r := httptest.NewRequest("POST", path, nil)
				r.SetBasicAuth(thService, f.secrets[thService])
				switch tc.contentType {
				case "-":
					r.Header.Set("Content-Type", "")
				case "":
				default:
					r.Header.Set("Content-Type", tc.contentType)
				}
				body := tc.body
				if path != oauth.PathToken {
					body = strings.ReplaceAll(body, "grant_type=client_credentials", "token=x")
				}
				w := f.send(r, path, body)
				if tc.contentType == "-" {
					// send fills in the form type when none is set: ask
					// the handler directly.
					req := httptest.NewRequest("POST", path, strings.NewReader(body))
					req.SetBasicAuth(thService, f.secrets[thService])
					w = httptest.NewRecorder()
					f.h.ServeHTTP(w, req)
				}
				wantError(t, w, 400, "invalid_request")
			})
		}
	}
	t.Run("repeated resource is allowed", func(t *testing.T) {
		w := f.post(oauth.PathToken, thWeb, url.Values{"grant_type": {"client_credentials"}, "resource": {thAPI, thBilling}})
		if w.Code != http.StatusOK {
			t.Errorf("status %d, body %s", w.Code, w.Body)
		}
	})
}

// FuzzTokenEndpoint sends arbitrary bodies, with and without client
// authentication, to the token endpoint: the answer is never a 5xx and the
// handler never panics.
func FuzzTokenEndpoint(f *testing.F) {
	fx := newTHFixture(f)
	_, sess := fx.user("alice")
	code := fx.code(sess, codeOpts{client: thWeb, scope: "openid", verifier: thVerifier})
	seeds := []string{
		url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://web.example/cb"}, "code_verifier": {thVerifier}}.Encode(),
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}, "scope": {"openid"}}.Encode(),
		url.Values{"grant_type": {"client_credentials"}, "resource": {thAPI}, "scope": {"read"}}.Encode(),
		url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {oauth.JWTBearerAssertionType}, "client_assertion": {fx.assertion(assertionOpts{})}}.Encode(),
		url.Values{"grant_type": {"authorization_code"}, "client_id": {thSPA}, "code": {"x"}}.Encode(),
		"grant_type=%ZZ&&&==;", "", "=", "a=1&a=2", "\x00\xff",
	}
	for _, s := range seeds {
		for _, auth := range []uint8{0, 1, 2} {
			f.Add(s, auth)
		}
	}
	f.Fuzz(func(t *testing.T, body string, auth uint8) {
		r := httptest.NewRequest("POST", oauth.PathToken, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		switch auth % 3 {
		case 1:
			r.SetBasicAuth(thService, fx.secrets[thService])
		case 2:
			r.SetBasicAuth(thWeb, url.QueryEscape(fx.secrets[thWeb]))
		}
		w := httptest.NewRecorder()
		fx.h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("status %d for body %q: %s", w.Code, body, w.Body)
		}
	})
}
