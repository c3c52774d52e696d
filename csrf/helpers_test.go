package csrf_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/csrf"
)

const (
	site       = "sesame.example"
	selfOrigin = "https://" + site
)

var testKey = csrf.Key(bytes.Repeat([]byte{0x5e}, 32))

type sidKey struct{}

// withSession stands in for session.Middleware: the request belongs to the
// session with public ID sid.
func withSession(r *http.Request, sid string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), sidKey{}, sid))
}

func sessionID(r *http.Request) string {
	sid, _ := r.Context().Value(sidKey{}).(string)
	return sid
}

func newProtection(t testing.TB, edit func(*csrf.Config)) *csrf.Protection {
	t.Helper()
	cfg := csrf.Config{Key: testKey, SessionID: sessionID}
	if edit != nil {
		edit(&cfg)
	}
	p, err := csrf.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// sessionToken mints a token for session sid.
func sessionToken(t testing.TB, p *csrf.Protection, sid string) string {
	t.Helper()
	r := withSession(httptest.NewRequest(http.MethodGet, selfOrigin+"/account", nil), sid)
	rec := httptest.NewRecorder()
	tok, err := p.Token(rec, r)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if got := rec.Header().Values("Set-Cookie"); len(got) != 0 {
		t.Fatalf("Token with a session set cookies %q, want none", got)
	}
	return tok
}

// preSession mints a pre-session cookie and a token bound to it, as the
// login page does.
func preSession(t testing.TB, p *csrf.Protection) (cookie *http.Cookie, token string) {
	t.Helper()
	rec := httptest.NewRecorder()
	tok, err := p.Token(rec, httptest.NewRequest(http.MethodGet, selfOrigin+"/login", nil))
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	cs := rec.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("Token set %d cookies, want 1", len(cs))
	}
	return cs[0], tok
}

// preSessionToken mints a token bound to an existing pre-session cookie.
func preSessionToken(t testing.TB, p *csrf.Protection, c *http.Cookie) string {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, selfOrigin+"/login", nil)
	r.AddCookie(c)
	rec := httptest.NewRecorder()
	tok, err := p.Token(rec, r)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if got := rec.Header().Values("Set-Cookie"); len(got) != 0 {
		t.Fatalf("Token with a valid pre-session cookie set cookies %q, want none", got)
	}
	return tok
}

// unsafeReq builds a same-origin-looking request to the server with the
// given headers ("Name: value" pairs); with a form it sends an urlencoded
// body.
func unsafeReq(method string, form url.Values, headers ...string) *http.Request {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, selfOrigin+"/account", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, selfOrigin+"/account", nil)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		r.Header.Add(name, value)
	}
	return r
}

// assertErr checks got against want by errors.Is and that the error text
// leaks no token.
func assertErr(t *testing.T, got, want error, secrets ...string) {
	t.Helper()
	switch {
	case want == nil && got != nil:
		t.Fatalf("Check: got %v, want nil", got)
	case want != nil && got == nil:
		t.Fatalf("Check: got nil, want %v", want)
	case want != nil && !errorsIs(got, want):
		t.Fatalf("Check: got %v, want %v", got, want)
	}
	for _, s := range secrets {
		if got != nil && s != "" && strings.Contains(got.Error(), s) {
			t.Fatalf("error %q contains the token", got)
		}
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
