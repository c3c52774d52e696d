package guard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/sqlite"
)

// loginServer is the login wiring of the package documentation around a
// fake password check, as the Sesame server does it around
// account.Service.Authenticate.
type loginServer struct {
	limiter  *guard.Limiter
	resolver guard.IPResolver
	hashing  *guard.HashLimiter
	users    map[string]string // username → password
}

func (s *loginServer) authenticate(name, pw string) error {
	if want, ok := s.users[name]; ok && want == pw {
		return nil
	}
	return account.ErrBadCredentials
}

func (s *loginServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name, pw := r.PostFormValue("username"), r.PostFormValue("password")
	ip := s.resolver.ClientIP(r)
	if wait, err := s.limiter.Allow(ctx, ip, name); err != nil {
		if wait > 0 {
			w.Header().Set("Retry-After", guard.RetryAfter(wait))
		}
		writeError(w, err)
		return
	}
	var authErr error
	if err := s.hashing.Do(ctx, func() { authErr = s.authenticate(name, pw) }); err != nil {
		w.Header().Set("Retry-After", "1")
		writeError(w, err)
		return
	}
	if authErr != nil {
		if sesame.ErrorCode(authErr) == sesame.EUnauthenticated {
			if err := s.limiter.Failure(ctx, ip, name); err != nil {
				writeError(w, err)
				return
			}
		}
		writeError(w, authErr)
		return
	}
	_ = s.limiter.Success(ctx, ip, name) // logged by a real server; the login stands
	fmt.Fprintln(w, "welcome")
}

func writeError(w http.ResponseWriter, err error) {
	http.Error(w, sesame.ErrorMessage(err), sesame.HTTPStatus(sesame.ErrorCode(err)))
}

type loginResult struct {
	status     int
	retryAfter string
}

func postLogin(t *testing.T, srv *httptest.Server, xff, name, pw string) loginResult {
	t.Helper()
	req, err := http.NewRequest("POST", srv.URL, strings.NewReader(url.Values{"username": {name}, "password": {pw}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return loginResult{resp.StatusCode, resp.Header.Get("Retry-After")}
}

// newLoginServers starts two servers, each with its own *sqlite.DB handle
// on one database file: two nodes of one deployment. The test client
// connects from loopback, which stands for the reverse proxy when trust is
// true.
func newLoginServers(t *testing.T, clock sesame.Clock, trust bool) [2]*httptest.Server {
	t.Helper()
	var proxies []netip.Prefix
	if trust {
		var err error
		if proxies, err = guard.ParsePrefixes("127.0.0.0/8,::1"); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "sesame.db")
	var srvs [2]*httptest.Server
	for i := range srvs {
		db, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		srvs[i] = httptest.NewServer(&loginServer{
			limiter:  guard.NewLimiter(db, guard.Config{Clock: clock}),
			resolver: guard.IPResolver{TrustedProxies: proxies},
			hashing:  guard.NewHashLimiter(guard.HashConfig{}),
			users:    map[string]string{"alice": "correct horse battery staple"},
		})
		t.Cleanup(srvs[i].Close)
	}
	return srvs
}

// SEC-46 over HTTP: N failures from one IP, spread over two servers on one
// store, get a 429 with Retry-After from either; the real user from another
// IP still logs in.
func TestSEC46_LoginThrottlingAcrossServers(t *testing.T) {
	clock := newClock()
	srvs := newLoginServers(t, clock, true)
	const attacker, realUser = "203.0.113.7", "198.51.100.20"
	for i := range 10 {
		res := postLogin(t, srvs[i%2], attacker, fmt.Sprintf("user%d", i), "hunter2")
		if res.status != http.StatusUnauthorized {
			t.Fatalf("failure #%d: got %d, want 401", i+1, res.status)
		}
	}
	for i, srv := range srvs {
		res := postLogin(t, srv, attacker, "alice", "correct horse battery staple")
		if res.status != http.StatusTooManyRequests || res.retryAfter != "1" {
			t.Fatalf("server %d after 10 failures: got %d Retry-After %q, want 429 Retry-After 1", i, res.status, res.retryAfter)
		}
	}
	// The attacker's spoofed left-most entries do not give it a new IP.
	res := postLogin(t, srvs[1], "192.0.2.99, "+attacker, "user11", "x")
	if res.status != http.StatusTooManyRequests {
		t.Fatalf("spoofed X-Forwarded-For: got %d, want 429", res.status)
	}
	if res := postLogin(t, srvs[1], realUser, "alice", "correct horse battery staple"); res.status != http.StatusOK {
		t.Fatalf("the real user from another IP: got %d, want 200", res.status)
	}
	clock.Advance(time.Second) // the Retry-After
	if res := postLogin(t, srvs[0], attacker, "user12", "x"); res.status != http.StatusUnauthorized {
		t.Fatalf("after Retry-After: got %d, want 401 (allowed to try, and wrong)", res.status)
	}
	if res := postLogin(t, srvs[1], attacker, "user13", "x"); res.status != http.StatusTooManyRequests || res.retryAfter != "2" {
		t.Fatalf("after the 11th failure: got %d Retry-After %q, want 429 Retry-After 2", res.status, res.retryAfter)
	}
}

// SEC-52 over HTTP: a server that trusts no proxy ignores X-Forwarded-For,
// so a client rotating it is still one client.
func TestSEC52_UntrustedForwardedForIgnored(t *testing.T) {
	srvs := newLoginServers(t, newClock(), false)
	for i := range 10 {
		if res := postLogin(t, srvs[0], fmt.Sprintf("198.51.100.%d", i), fmt.Sprint("user", i), "wrong"); res.status != http.StatusUnauthorized {
			t.Fatalf("failure #%d: got %d, want 401", i+1, res.status)
		}
	}
	if res := postLogin(t, srvs[1], "198.51.100.200", "bob", "x"); res.status != http.StatusTooManyRequests {
		t.Fatalf("11th attempt with a fresh X-Forwarded-For: got %d, want 429", res.status)
	}
}
