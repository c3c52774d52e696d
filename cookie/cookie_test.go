package cookie

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

func TestHeader(t *testing.T) {
	tests := []struct {
		name string
		c    Cookie
		want string
	}{
		{
			name: "SEC-01 SEC-02 SEC-03 zero value is host-only, HttpOnly, Secure, explicit Lax",
			c:    Cookie{Name: "__Host-sesame", Value: "abc"},
			want: "__Host-sesame=abc; Path=/; HttpOnly; Secure; SameSite=Lax",
		},
		{
			name: "SEC-03 SameSiteDefaultMode is written as Lax",
			c:    Cookie{Name: "__Host-sesame", Value: "abc", SameSite: http.SameSiteDefaultMode},
			want: "__Host-sesame=abc; Path=/; HttpOnly; Secure; SameSite=Lax",
		},
		{
			name: "SameSite Strict",
			c:    Cookie{Name: "__Host-sesame", Value: "abc", SameSite: http.SameSiteStrictMode},
			want: "__Host-sesame=abc; Path=/; HttpOnly; Secure; SameSite=Strict",
		},
		{
			name: "SameSite None with Secure",
			c:    Cookie{Name: "embed", Value: "abc", SameSite: http.SameSiteNoneMode},
			want: "embed=abc; Path=/; HttpOnly; Secure; SameSite=None",
		},
		{
			name: "SEC-34 path-scoped refresh cookie uses __Secure-",
			c:    Cookie{Name: "__Secure-refresh", Value: "rt", Path: "/api/v1/token", SameSite: http.SameSiteStrictMode, MaxAge: 7 * day},
			want: "__Secure-refresh=rt; Path=/api/v1/token; Max-Age=604800; HttpOnly; Secure; SameSite=Strict",
		},
		{
			name: "SEC-05 persistent cookie in whole seconds, rounded down",
			c:    Cookie{Name: "__Host-sesame", Value: "abc", MaxAge: 90*time.Second + 999*time.Millisecond},
			want: "__Host-sesame=abc; Path=/; Max-Age=90; HttpOnly; Secure; SameSite=Lax",
		},
		{
			name: "SEC-05 sub-second MaxAge is at least 1, never 0 (which would delete)",
			c:    Cookie{Name: "__Host-sesame", Value: "abc", MaxAge: time.Nanosecond},
			want: "__Host-sesame=abc; Path=/; Max-Age=1; HttpOnly; Secure; SameSite=Lax",
		},
		{
			name: "SEC-05 400 days exactly is accepted",
			c:    Cookie{Name: "__Host-sesame", Value: "abc", MaxAge: 400 * day},
			want: "__Host-sesame=abc; Path=/; Max-Age=34560000; HttpOnly; Secure; SameSite=Lax",
		},
		{
			name: "domain cookie for subdomains",
			c:    Cookie{Name: "__Secure-pref", Value: "x", Domain: "example.com"},
			want: "__Secure-pref=x; Path=/; Domain=example.com; HttpOnly; Secure; SameSite=Lax",
		},
		{
			name: "script-readable insecure cookie without prefix",
			c:    Cookie{Name: "theme", Value: "dark", AllowScript: true, Insecure: true},
			want: "theme=dark; Path=/; SameSite=Lax",
		},
		{
			name: "empty value",
			c:    Cookie{Name: "__Host-x"},
			want: "__Host-x=; Path=/; HttpOnly; Secure; SameSite=Lax",
		},
		{
			name: "every cookie-octet",
			c:    Cookie{Name: "x", Value: allCookieOctets()},
			want: "x=" + allCookieOctets() + "; Path=/; HttpOnly; Secure; SameSite=Lax",
		},
		{
			name: "SEC-04 name and value of exactly 4096 bytes",
			c:    Cookie{Name: "__Host-s", Value: strings.Repeat("a", MaxCookieBytes-len("__Host-s"))},
			want: "__Host-s=" + strings.Repeat("a", MaxCookieBytes-len("__Host-s")) + "; Path=/; HttpOnly; Secure; SameSite=Lax",
		},
		{
			name: "SEC-04 path of exactly 1024 bytes",
			c:    Cookie{Name: "p", Value: "v", Path: "/" + strings.Repeat("a", MaxAttributeBytes-1)},
			want: "p=v; Path=/" + strings.Repeat("a", MaxAttributeBytes-1) + "; HttpOnly; Secure; SameSite=Lax",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.Header()
			if err != nil {
				t.Fatalf("Header() error %v, want nil", err)
			}
			if got != tt.want {
				t.Errorf("Header()\ngot  %q\nwant %q", got, tt.want)
			}
			if err := tt.c.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func allCookieOctets() string {
	var b strings.Builder
	for c := byte(0); c < 0x80; c++ {
		if isCookieOctet(c) {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func TestHeaderRejects(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name    string
		c       Cookie
		tooBig  bool   // want errors.Is(err, ErrTooLarge)
		mention string // a word the error should contain
	}{
		{name: "empty name", c: Cookie{Value: "v"}, mention: "empty name"},
		{name: "name with space", c: Cookie{Name: "a b"}, mention: "token"},
		{name: "name with '='", c: Cookie{Name: "a=b"}, mention: "token"},
		{name: "name with ';'", c: Cookie{Name: "a;b"}, mention: "token"},
		{name: "name with CRLF (header injection)", c: Cookie{Name: "a\r\nSet-Cookie: x"}, mention: "token"},
		{name: "name with NUL", c: Cookie{Name: "a\x00"}, mention: "token"},
		{name: "name non-ASCII", c: Cookie{Name: "sésame"}, mention: "token"},

		{name: "SEC-01 __Host- with Domain", c: Cookie{Name: "__Host-sesame", Domain: "example.com"}, mention: "Domain"},
		{name: "SEC-01 __Host- with Secure dropped", c: Cookie{Name: "__Host-sesame", Insecure: true}, mention: "Secure"},
		{name: "SEC-01 __Host- with Path other than /", c: Cookie{Name: "__Host-sesame", Path: "/app"}, mention: "Path=/"},
		{name: "SEC-01 __host- lowercase with Domain", c: Cookie{Name: "__host-sesame", Domain: "example.com"}, mention: "Domain"},
		{name: "SEC-01 __HOST- uppercase insecure", c: Cookie{Name: "__HOST-sesame", Insecure: true}, mention: "Secure"},
		{name: "SEC-01 __Secure- with Secure dropped", c: Cookie{Name: "__Secure-refresh", Insecure: true}, mention: "Secure"},
		{name: "SEC-01 __secure- lowercase insecure", c: Cookie{Name: "__secure-refresh", Insecure: true}, mention: "Secure"},
		{name: "SEC-02 __Http- readable by script", c: Cookie{Name: "__Http-x", AllowScript: true}, mention: "HttpOnly"},
		{name: "SEC-02 __Host-Http- readable by script", c: Cookie{Name: "__Host-Http-x", AllowScript: true}, mention: "HttpOnly"},

		{name: "value with CRLF (header injection)", c: Cookie{Name: "x", Value: "a\r\nSet-Cookie: evil=1"}, mention: "cookie-octet"},
		{name: "value with semicolon (attribute injection)", c: Cookie{Name: "x", Value: "a; Domain=evil.com"}, mention: "cookie-octet"},
		{name: "value with comma", c: Cookie{Name: "x", Value: "a,b"}, mention: "cookie-octet"},
		{name: "value with space", c: Cookie{Name: "x", Value: "a b"}, mention: "cookie-octet"},
		{name: "value with tab", c: Cookie{Name: "x", Value: "a\tb"}, mention: "cookie-octet"},
		{name: "value quoted", c: Cookie{Name: "x", Value: `"ab"`}, mention: "cookie-octet"},
		{name: "value with backslash", c: Cookie{Name: "x", Value: `a\b`}, mention: "cookie-octet"},
		{name: "value with DEL", c: Cookie{Name: "x", Value: "a\x7f"}, mention: "cookie-octet"},
		{name: "value with NUL", c: Cookie{Name: "x", Value: "a\x00"}, mention: "cookie-octet"},
		{name: "value non-ASCII", c: Cookie{Name: "x", Value: "é"}, mention: "cookie-octet"},

		{name: "path with semicolon (attribute injection)", c: Cookie{Name: "x", Path: "/a; Domain=evil.com"}, mention: "path"},
		{name: "path with CRLF", c: Cookie{Name: "x", Path: "/a\r\nX: y"}, mention: "path"},
		{name: "path with space", c: Cookie{Name: "x", Path: "/a b"}, mention: "path"},
		{name: "path with comma", c: Cookie{Name: "x", Path: "/a,b"}, mention: "path"},
		{name: "path relative", c: Cookie{Name: "x", Path: "app"}, mention: "'/'"},
		{name: "path non-ASCII", c: Cookie{Name: "x", Path: "/é"}, mention: "path"},

		{name: "domain with leading dot", c: Cookie{Name: "x", Domain: ".example.com"}, mention: "'.'"},
		{name: "domain with trailing dot", c: Cookie{Name: "x", Domain: "example.com."}, mention: "label"},
		{name: "domain with semicolon", c: Cookie{Name: "x", Domain: "example.com;Path=/"}, mention: "domain"},
		{name: "domain with CRLF", c: Cookie{Name: "x", Domain: "example.com\r\n"}, mention: "domain"},
		{name: "domain with underscore", c: Cookie{Name: "x", Domain: "a_b.example.com"}, mention: "domain"},
		{name: "domain label starting with hyphen", c: Cookie{Name: "x", Domain: "-a.example.com"}, mention: "label"},
		{name: "domain label over 63 bytes", c: Cookie{Name: "x", Domain: long(64) + ".com"}, mention: "label"},
		{name: "domain over 253 bytes", c: Cookie{Name: "x", Domain: strings.Repeat("a.", 127) + "com"}, mention: "host name"},

		{name: "SEC-04 name and value of 4097 bytes", c: Cookie{Name: "__Host-s", Value: long(MaxCookieBytes - len("__Host-s") + 1)}, tooBig: true},
		{name: "SEC-04 oversized name", c: Cookie{Name: long(MaxCookieBytes + 1)}, tooBig: true},
		{name: "SEC-04 path of 1025 bytes", c: Cookie{Name: "x", Path: "/" + long(MaxAttributeBytes)}, tooBig: true},
		{name: "SEC-04 domain of 1025 bytes", c: Cookie{Name: "x", Domain: long(MaxAttributeBytes + 1)}, tooBig: true},

		{name: "SEC-05 negative MaxAge", c: Cookie{Name: "x", MaxAge: -time.Second}, mention: "Delete"},
		{name: "SEC-05 MaxAge over 400 days", c: Cookie{Name: "x", MaxAge: 400*day + time.Second}, mention: "400-day"},

		{name: "SEC-03 SameSite None without Secure", c: Cookie{Name: "x", SameSite: http.SameSiteNoneMode, Insecure: true}, mention: "requires Secure"},
		{name: "unknown SameSite mode", c: Cookie{Name: "x", SameSite: http.SameSite(9)}, mention: "SameSite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.Header()
			if err == nil {
				t.Fatalf("Header() = %q, nil; want an error", got)
			}
			if got != "" {
				t.Errorf("Header() returned %q with its error, want \"\"", got)
			}
			if !strings.HasPrefix(err.Error(), "cookie: ") {
				t.Errorf("error %q lacks the \"cookie: \" prefix", err)
			}
			if verr := tt.c.Validate(); verr == nil || verr.Error() != err.Error() {
				t.Errorf("Validate() = %v, want %v as Header", verr, err)
			}
			if tt.tooBig != errors.Is(err, ErrTooLarge) {
				t.Errorf("errors.Is(%v, ErrTooLarge) = %t, want %t", err, !tt.tooBig, tt.tooBig)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
			if tt.c.Value != "" && strings.Contains(err.Error(), tt.c.Value) {
				t.Errorf("error %q contains the cookie value", err)
			}

			rec := httptest.NewRecorder()
			if err := Write(rec, tt.c); err == nil {
				t.Errorf("Write error nil, want one")
			}
			if h := rec.Header().Values("Set-Cookie"); len(h) != 0 {
				t.Errorf("Write wrote %q despite its error, want nothing", h)
			}
		})
	}
}

// TestRoundTripNetHTTP checks that an independent parser, net/http, reads the
// attributes we meant (SEC-01, SEC-02, SEC-03, SEC-05).
func TestRoundTripNetHTTP(t *testing.T) {
	tests := []struct {
		name string
		c    Cookie
		want http.Cookie
	}{
		{
			name: "SEC-01 SEC-02 SEC-03 SEC-05 session cookie defaults",
			c:    Cookie{Name: "__Host-sesame", Value: "tok_EN-123"},
			want: http.Cookie{Name: "__Host-sesame", Value: "tok_EN-123", Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode},
		},
		{
			name: "SEC-05 remember-me cookie is persistent",
			c:    Cookie{Name: "__Host-sesame", Value: "t", MaxAge: 30 * day},
			want: http.Cookie{Name: "__Host-sesame", Value: "t", Path: "/", MaxAge: 30 * 86400, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode},
		},
		{
			name: "SEC-34 refresh cookie",
			c:    Cookie{Name: "__Secure-refresh", Value: "r", Path: "/api/v1/token", SameSite: http.SameSiteStrictMode},
			want: http.Cookie{Name: "__Secure-refresh", Value: "r", Path: "/api/v1/token", HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode},
		},
		{
			name: "domain and None",
			c:    Cookie{Name: "w", Value: "1", Domain: "example.com", SameSite: http.SameSiteNoneMode, AllowScript: true},
			want: http.Cookie{Name: "w", Value: "1", Path: "/", Domain: "example.com", Secure: true, SameSite: http.SameSiteNoneMode},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := Write(rec, tt.c); err != nil {
				t.Fatalf("Write: %v", err)
			}
			cookies := rec.Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("got %d cookies, want 1", len(cookies))
			}
			assertCookie(t, cookies[0], &tt.want)
		})
	}
}

func assertCookie(t *testing.T, got, want *http.Cookie) {
	t.Helper()
	if got.Name != want.Name || got.Value != want.Value || got.Quoted {
		t.Errorf("got %s=%s (quoted %t), want %s=%s", got.Name, got.Value, got.Quoted, want.Name, want.Value)
	}
	if got.Path != want.Path || got.Domain != want.Domain {
		t.Errorf("got Path %q Domain %q, want Path %q Domain %q", got.Path, got.Domain, want.Path, want.Domain)
	}
	if got.MaxAge != want.MaxAge {
		t.Errorf("got MaxAge %d, want %d", got.MaxAge, want.MaxAge)
	}
	if got.HttpOnly != want.HttpOnly || got.Secure != want.Secure {
		t.Errorf("got HttpOnly %t Secure %t, want HttpOnly %t Secure %t", got.HttpOnly, got.Secure, want.HttpOnly, want.Secure)
	}
	if got.SameSite != want.SameSite {
		t.Errorf("got SameSite %v, want %v", got.SameSite, want.SameSite)
	}
	if len(got.Unparsed) != 0 {
		t.Errorf("got unparsed attributes %q, want none", got.Unparsed)
	}
}

func TestWriteAddsHeader(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Add("Set-Cookie", "other=1")
	if err := Write(rec, Cookie{Name: "__Host-a", Value: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := Write(rec, Cookie{Name: "__Host-b", Value: "2"}); err != nil {
		t.Fatal(err)
	}
	got := rec.Header().Values("Set-Cookie")
	want := []string{"other=1", "__Host-a=1; Path=/; HttpOnly; Secure; SameSite=Lax", "__Host-b=2; Path=/; HttpOnly; Secure; SameSite=Lax"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got Set-Cookie %q, want %q", got, want)
	}
}

// TestDelete checks SEC-05: deletion is Max-Age=0, with the same scope and
// flags so that it matches (and satisfies the prefix rules).
func TestDelete(t *testing.T) {
	tests := []struct {
		name string
		c    Cookie
		want string
		http http.Cookie
	}{
		{
			name: "SEC-05 session cookie, value and MaxAge ignored",
			c:    Cookie{Name: "__Host-sesame", Value: "secret-token", MaxAge: time.Hour},
			want: "__Host-sesame=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax",
			http: http.Cookie{Name: "__Host-sesame", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode},
		},
		{
			name: "SEC-34 path-scoped refresh cookie keeps its path",
			c:    Cookie{Name: "__Secure-refresh", Path: "/api/v1/token", SameSite: http.SameSiteStrictMode},
			want: "__Secure-refresh=; Path=/api/v1/token; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict",
			http: http.Cookie{Name: "__Secure-refresh", Path: "/api/v1/token", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode},
		},
		{
			name: "domain cookie keeps its domain",
			c:    Cookie{Name: "p", Domain: "example.com", Insecure: true, AllowScript: true},
			want: "p=; Path=/; Domain=example.com; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Lax",
			http: http.Cookie{Name: "p", Path: "/", Domain: "example.com", MaxAge: -1, SameSite: http.SameSiteLaxMode},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := Delete(rec, tt.c); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if got := rec.Header().Get("Set-Cookie"); got != tt.want {
				t.Errorf("Set-Cookie\ngot  %q\nwant %q", got, tt.want)
			}
			cookies := rec.Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("got %d cookies, want 1", len(cookies))
			}
			if cookies[0].Expires.IsZero() || cookies[0].Expires.After(time.Unix(0, 0)) {
				t.Errorf("got Expires %v, want 1970-01-01", cookies[0].Expires)
			}
			assertCookie(t, cookies[0], &tt.http)
		})
	}
}

func TestDeleteRejects(t *testing.T) {
	tests := []struct {
		name string
		c    Cookie
	}{
		{"SEC-01 __Host- with Domain", Cookie{Name: "__Host-sesame", Domain: "example.com"}},
		{"SEC-01 __Host- insecure", Cookie{Name: "__Host-sesame", Insecure: true}},
		{"path with CRLF", Cookie{Name: "x", Path: "/\r\nX: y"}},
		{"empty name", Cookie{}},
		{"SEC-04 oversized name", Cookie{Name: strings.Repeat("a", MaxCookieBytes+1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := Delete(rec, tt.c); err == nil {
				t.Errorf("Delete error nil, want one")
			}
			if h := rec.Header().Values("Set-Cookie"); len(h) != 0 {
				t.Errorf("Delete wrote %q despite its error, want nothing", h)
			}
		})
	}
}

// TestCookieRedacts checks SEC-54: a Cookie that reaches a log or an error
// message does not reveal its value.
func TestCookieRedacts(t *testing.T) {
	const canary = "CANARY-session-token-9f2c"
	c := Cookie{Name: "__Host-sesame", Value: canary, MaxAge: time.Hour}

	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	logger.Info("set", "cookie", c)
	logger.Info("set", "cookie", &c, "cookies", []Cookie{c})
	asJSON, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	slog.New(slog.NewTextHandler(&logged, nil)).Info("set", "cookie", c)

	outputs := map[string]string{
		"String":       c.String(),
		"%v":           fmt.Sprintf("%v", c),
		"%+v":          fmt.Sprintf("%+v", c),
		"%#v":          fmt.Sprintf("%#v", c),
		"%v pointer":   fmt.Sprintf("%v", &c),
		"%v in struct": fmt.Sprintf("%+v", struct{ C Cookie }{c}),
		"%v in slice":  fmt.Sprintf("%v", []Cookie{c}),
		"slog":         logged.String(),
		"json":         string(asJSON),
	}
	for verb, out := range outputs {
		if strings.Contains(out, canary) {
			t.Errorf("%s output %q contains the value", verb, out)
		}
		if !strings.Contains(out, "__Host-sesame") || !strings.Contains(out, redacted) {
			t.Errorf("%s output %q, want the name and %s", verb, out, redacted)
		}
	}
}
