package csrf_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/csrf"
)

func TestHandler(t *testing.T) {
	var rejected []error
	p := newProtection(t, func(c *csrf.Config) {
		c.OnReject = func(r *http.Request, err error) { rejected = append(rejected, err) }
	})
	tok := sessionToken(t, p, "sid")
	calls := 0
	h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(http.StatusNoContent)
	}))

	t.Run("pass", func(t *testing.T) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, withSession(unsafeReq(http.MethodPost, nil, "Sec-Fetch-Site: same-origin", csrf.DefaultHeader+": "+tok), "sid"))
		if rec.Code != http.StatusNoContent || calls != 1 || len(rejected) != 0 {
			t.Fatalf("got status %d, %d calls, %d rejections; want 204, 1, 0", rec.Code, calls, len(rejected))
		}
	})
	t.Run("JSON deny never echoes the token", func(t *testing.T) {
		calls, rejected = 0, nil
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, withSession(unsafeReq(http.MethodPost, nil, "Sec-Fetch-Site: same-origin", csrf.DefaultHeader+": "+tok), "other"))
		if rec.Code != http.StatusForbidden || calls != 0 {
			t.Fatalf("got status %d and %d calls, want 403 and 0", rec.Code, calls)
		}
		if len(rejected) != 1 || !errors.Is(rejected[0], csrf.ErrTokenMismatch) {
			t.Fatalf("OnReject got %v, want one ErrTokenMismatch", rejected)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type: got %q, want application/json", ct)
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("body %q: %v", rec.Body, err)
		}
		if body.Error.Code != "csrf_token" || body.Error.Message == "" {
			t.Fatalf("body: got %+v, want code csrf_token (the token check failed) and a message", body)
		}
		if strings.Contains(rec.Body.String(), tok) {
			t.Fatal("deny response echoes the token")
		}
	})
	t.Run("HTML deny", func(t *testing.T) {
		calls, rejected = 0, nil
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, unsafeReq(http.MethodPost, nil, "Accept: text/html,*/*", "Origin: https://attacker.example", csrf.DefaultHeader+": "+tok))
		if rec.Code != http.StatusForbidden || calls != 0 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("got %d %q and %d calls, want a 403 HTML page and 0", rec.Code, rec.Header().Get("Content-Type"), calls)
		}
		if strings.Contains(rec.Body.String(), tok) || strings.Contains(rec.Body.String(), "attacker") {
			t.Fatal("deny page echoes request input")
		}
		if len(rejected) != 1 || !errors.Is(rejected[0], csrf.ErrOriginMismatch) {
			t.Fatalf("OnReject got %v, want one ErrOriginMismatch", rejected)
		}
	})
	t.Run("safe methods reach the handler", func(t *testing.T) {
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodOptions} {
			calls = 0
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, unsafeReq(m, nil, "Sec-Fetch-Site: cross-site"))
			if calls != 1 {
				t.Fatalf("%s: handler not called", m)
			}
		}
	})
}

func TestHandlerCustomDeny(t *testing.T) {
	var seen error
	p := newProtection(t, func(c *csrf.Config) {
		c.DenyHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = csrf.Rejection(r)
			http.Error(w, "no", http.StatusTeapot)
		})
	})
	h := p.Handler(http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, unsafeReq(http.MethodPost, nil))
	if rec.Code != http.StatusTeapot || !errors.Is(seen, csrf.ErrNoOrigin) {
		t.Fatalf("got %d and %v, want 418 and ErrNoOrigin", rec.Code, seen)
	}
	if err := csrf.Rejection(unsafeReq(http.MethodPost, nil)); err != nil {
		t.Fatalf("Rejection outside a deny handler: got %v, want nil", err)
	}
}

func TestNew(t *testing.T) {
	cases := []struct {
		name string
		edit func(*csrf.Config)
		ok   bool
	}{
		{"defaults", func(*csrf.Config) {}, true},
		{"attack 3: no key", func(c *csrf.Config) { c.Key = nil }, false},
		{"attack 3: 31-byte key", func(c *csrf.Config) { c.Key = testKey[:31] }, false},
		{"64-byte key", func(c *csrf.Config) { c.Key = append(append(csrf.Key{}, testKey...), testKey...) }, true},
		{"trusted origin", func(c *csrf.Config) { c.TrustedOrigins = []string{"https://app.example", "http://localhost:8080"} }, true},
		{"trusted origin trailing slash", func(c *csrf.Config) { c.TrustedOrigins = []string{"https://app.example/"} }, false},
		{"trusted origin path", func(c *csrf.Config) { c.TrustedOrigins = []string{"https://app.example/x"} }, false},
		{"trusted origin no scheme", func(c *csrf.Config) { c.TrustedOrigins = []string{"app.example"} }, false},
		{"trusted origin ftp", func(c *csrf.Config) { c.TrustedOrigins = []string{"ftp://app.example"} }, false},
		{"trusted origin upper case", func(c *csrf.Config) { c.TrustedOrigins = []string{"https://App.example"} }, false},
		{"trusted origin default port", func(c *csrf.Config) { c.TrustedOrigins = []string{"https://app.example:443"} }, false},
		{"trusted origin userinfo", func(c *csrf.Config) { c.TrustedOrigins = []string{"https://u@app.example"} }, false},
		{"trusted origin query", func(c *csrf.Config) { c.TrustedOrigins = []string{"https://app.example?x"} }, false},
		{"trusted origin null", func(c *csrf.Config) { c.TrustedOrigins = []string{"null"} }, false},
		{"trusted origin wildcard", func(c *csrf.Config) { c.TrustedOrigins = []string{"*"} }, false},
		{"trusted origin wildcard subdomain", func(c *csrf.Config) { c.TrustedOrigins = []string{"https://*.example"} }, false},
		{"trusted origin empty", func(c *csrf.Config) { c.TrustedOrigins = []string{""} }, false},
		{"cookie without __Host-", func(c *csrf.Config) { c.PreSessionCookie = "csrf" }, false},
		{"cookie with __Secure-", func(c *csrf.Config) { c.PreSessionCookie = "__Secure-csrf" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := csrf.Config{Key: testKey}
			tc.edit(&cfg)
			p, err := csrf.New(cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("New: got %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "csrf: ") {
				t.Fatalf("error %q lacks the csrf: prefix", err)
			}
			if err == nil && p == nil {
				t.Fatal("New returned nil, nil")
			}
		})
	}
}

// The key is copied at construction: changing the caller's slice later
// changes nothing.
func TestNewCopiesKey(t *testing.T) {
	key := append(csrf.Key{}, testKey...)
	p, err := csrf.New(csrf.Config{Key: key, SessionID: sessionID})
	if err != nil {
		t.Fatal(err)
	}
	tok := sessionToken(t, p, "sid")
	key[0] ^= 0xff
	r := withSession(unsafeReq(http.MethodPost, nil, "Sec-Fetch-Site: same-origin", csrf.DefaultHeader+": "+tok), "sid")
	assertErr(t, p.Check(r), nil)
}

// No session function: every request is pre-session.
func TestNoSessionIDFunc(t *testing.T) {
	p, err := csrf.New(csrf.Config{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	c, tok := preSession(t, p)
	r := unsafeReq(http.MethodPost, nil, "Sec-Fetch-Site: same-origin", csrf.DefaultHeader+": "+tok)
	r.AddCookie(c)
	assertErr(t, p.Check(r), nil)
}
