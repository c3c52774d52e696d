package verify

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/testclock"
)

func serve(v *Verifier, req *http.Request) (*httptest.ResponseRecorder, *Claims) {
	var got *Claims
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = FromContext(r.Context())
		if got == nil {
			panic("no claims in the context")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec, got
}

func TestMiddlewarePutsClaimsInContext(t *testing.T) {
	is := newIssuer(t)
	v := newVerifier(t, is, testclock.New(t0))
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", scheme+" "+is.token())
		rec, c := serve(v, req)
		if rec.Code != http.StatusNoContent {
			t.Fatalf("%s: got status %d, want 204", scheme, rec.Code)
		}
		if c.Subject != "user-1" || c.SessionID != "sid-1" || c.ClientID != "client-1" || !c.HasScope("write") || c.HasScope("wri") {
			t.Fatalf("%s: got claims %+v", scheme, c)
		}
	}
	if FromContext(t.Context()) != nil {
		t.Fatal("got claims outside the middleware, want nil")
	}
}

func TestMiddlewareRefusals(t *testing.T) {
	is := newIssuer(t)
	v := newVerifier(t, is, testclock.New(t0))
	tok := is.token()
	const noError, invalidToken = "Bearer", `Bearer error="invalid_token"`
	tests := []struct {
		name      string
		header    []string // Authorization values
		query     string
		challenge string
		want      error
	}{
		{"no header", nil, "", noError, ErrNoToken},
		{"token in the query string only", nil, "?access_token=" + tok, noError, ErrNoToken},
		{"Basic scheme", []string{"Basic dXNlcjpwYXNz"}, "", noError, ErrNoToken},
		{"token without scheme", []string{tok}, "", noError, ErrNoToken},
		{"empty header", []string{""}, "", invalidToken, ErrMalformedAuthorization},
		{"scheme only", []string{"Bearer"}, "", invalidToken, ErrMalformedAuthorization},
		{"scheme and space", []string{"Bearer "}, "", invalidToken, ErrMalformedAuthorization},
		{"two spaces", []string{"Bearer  " + tok}, "", invalidToken, ErrMalformedAuthorization},
		{"tab", []string{"Bearer\t" + tok}, "", invalidToken, ErrMalformedAuthorization},
		{"trailing garbage", []string{"Bearer " + tok + " x"}, "", invalidToken, ErrMalformedAuthorization},
		{"two tokens", []string{"Bearer " + tok + ", Bearer " + tok}, "", invalidToken, ErrMalformedAuthorization},
		{"quoted token", []string{`Bearer "` + tok + `"`}, "", invalidToken, ErrMalformedAuthorization},
		{"auth-param form", []string{"Bearer token=" + tok}, "", invalidToken, ErrMalformedAuthorization},
		{"comma in scheme", []string{"Bearer," + tok}, "", invalidToken, ErrMalformedAuthorization},
		{"two headers", []string{"Bearer " + tok, "Bearer " + tok}, "", invalidToken, ErrMalformedAuthorization},
		{"non-ASCII", []string{"Bearer " + tok + "é"}, "", invalidToken, ErrMalformedAuthorization},
		{"padding in the middle", []string{"Bearer ab=cd"}, "", invalidToken, ErrMalformedAuthorization},
		{"not a JWT", []string{"Bearer abc"}, "", invalidToken, nil},
		{"tampered token", []string{"Bearer " + tok[:len(tok)-4] + "AAAA"}, "", invalidToken, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/"+tt.query, nil)
			for _, h := range tt.header {
				req.Header.Add("Authorization", h)
			}
			rec, _ := serve(v, req)
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("got status %d, want 401", rec.Code)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Fatalf("got WWW-Authenticate %q, want %q", got, tt.challenge)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Fatalf("got Cache-Control %q, want no-store", got)
			}
			body := rec.Body.String()
			if !strings.Contains(body, `"code":"unauthenticated"`) || strings.Contains(body, "eyJ") {
				t.Fatalf("got body %q, want a fixed unauthenticated message", body)
			}
			if tt.want != nil {
				_, err := v.Check(req)
				if !errors.Is(err, tt.want) {
					t.Fatalf("Check: got %v, want %v", err, tt.want)
				}
			}
		})
	}
}

func TestCustomDenyHandler(t *testing.T) {
	is := newIssuer(t)
	var seen error
	v := newVerifier(t, is, testclock.New(t0), func(c *Config) {
		c.DenyHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = Rejection(r)
			status, challenge := Challenge(seen)
			w.Header().Set("WWW-Authenticate", challenge)
			w.WriteHeader(status)
		})
	})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+is.token(func(c *Claims) { c.Issuer = "x" }))
	rec, _ := serve(v, req)
	if rec.Code != http.StatusUnauthorized || seen == nil {
		t.Fatalf("got status %d and rejection %v, want 401 and an error", rec.Code, seen)
	}
	if Rejection(req) != nil {
		t.Fatal("got a rejection outside the deny handler, want nil")
	}
}

func TestBearerTokenParsing(t *testing.T) {
	tests := []struct {
		header string
		token  string
		err    error
	}{
		{"Bearer abc", "abc", nil},
		{"bEaReR a-b.c_d~e+f/g==", "a-b.c_d~e+f/g==", nil},
		{"Bearer ==", "", ErrMalformedAuthorization},
		{"Bearer a=b", "", ErrMalformedAuthorization},
		{"Bearer\u00a0abc", "", ErrMalformedAuthorization},
		{"Token abc", "", ErrNoToken},
		{"DPoP abc", "", ErrNoToken},
		{" Bearer abc", "", ErrMalformedAuthorization},
	}
	for _, tt := range tests {
		got, err := parseBearer(tt.header)
		if got != tt.token || !errors.Is(err, tt.err) && !(err == nil && tt.err == nil) {
			t.Errorf("parseBearer(%q): got %q, %v, want %q, %v", tt.header, got, err, tt.token, tt.err)
		}
	}
}
