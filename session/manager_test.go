package session_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/session"
)

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

type harness struct {
	t     *testing.T
	m     *session.Manager
	store *memstore.Store
	clock *testclock.Clock
	h     http.Handler
	mu    sync.Mutex
	evts  []sesame.Event
}

func newHarness(t *testing.T, cfg session.Config) *harness {
	t.Helper()
	hs := &harness{t: t, store: memstore.New(), clock: testclock.New(t0)}
	cfg.Clock = hs.clock
	cfg.Events = sesame.EventFunc(func(_ context.Context, e sesame.Event) {
		hs.mu.Lock()
		hs.evts = append(hs.evts, e)
		hs.mu.Unlock()
	})
	m, err := session.New(hs.store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m.Start(ctx)
	hs.m = m
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Login(w, r, r.URL.Query().Get("user"), session.LoginOptions{Remember: r.URL.Query().Has("remember")})
		if err != nil {
			session.WriteJSONError(w, r, err)
			return
		}
		fmt.Fprint(w, s.ID)
	})
	mux.Handle("GET /whoami", m.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.Current(r.Context())
		fmt.Fprintf(w, "%s %s", s.UserID, s.ID)
	})))
	mux.Handle("POST /renew", m.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.Renew(r); err != nil {
			t.Errorf("Renew: %v", err)
		}
	})))
	mux.Handle("POST /put", m.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if err := session.Put(r.Context(), q.Get("k"), q.Get("v")); err != nil {
			t.Errorf("Put: %v", err)
		}
		if q.Has("hold") { // wait for a peer request to load the same version
			<-holdCh(r.Context(), q.Get("hold"))
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	mux.Handle("GET /get", m.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok, err := session.Get[string](r.Context(), r.URL.Query().Get("k"))
		if err != nil || !ok {
			http.Error(w, "missing", http.StatusNotFound)
			return
		}
		fmt.Fprint(w, v)
	})))
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Logout(w, r); err != nil {
			session.WriteJSONError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	hs.h = m.Middleware(mux)
	return hs
}

var holds sync.Map // name → chan struct{}

func holdCh(_ context.Context, name string) chan struct{} {
	ch, _ := holds.LoadOrStore(name, make(chan struct{}))
	return ch.(chan struct{})
}

// do sends a request carrying token (if non-empty) as the session cookie.
func (hs *harness) do(method, target, token string, hdr ...string) *httptest.ResponseRecorder {
	hs.t.Helper()
	r := httptest.NewRequest(method, target, nil)
	if token != "" {
		r.Header.Set("Cookie", hs.m.Config().CookieName+"="+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	hs.h.ServeHTTP(w, r)
	return w
}

// tokenFrom returns the session cookie set by a response.
func (hs *harness) tokenFrom(w *httptest.ResponseRecorder) (string, *http.Cookie) {
	hs.t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == hs.m.Config().CookieName {
			return c.Value, c
		}
	}
	return "", nil
}

func (hs *harness) login(user string, remember bool) (token, id string) {
	hs.t.Helper()
	target := "/login?user=" + user
	if remember {
		target += "&remember"
	}
	w := hs.do("POST", target, "")
	if w.Code != 200 {
		hs.t.Fatalf("login: got %d %s, want 200", w.Code, w.Body)
	}
	tok, _ := hs.tokenFrom(w)
	if tok == "" {
		hs.t.Fatal("login set no session cookie")
	}
	return tok, w.Body.String()
}

func (hs *harness) wantStatus(token string, want int) {
	hs.t.Helper()
	if w := hs.do("GET", "/whoami", token); w.Code != want {
		hs.t.Fatalf("GET /whoami: got %d, want %d", w.Code, want)
	}
}

func (hs *harness) events(t sesame.EventType) int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	n := 0
	for _, e := range hs.evts {
		if e.Type == t {
			n++
		}
	}
	return n
}

// SEC-01, SEC-02, SEC-03, SEC-05: the session cookie is __Host-, Secure,
// HttpOnly, Path=/, no Domain, explicit SameSite, and non-persistent.
func TestSEC01_CookieAttributes(t *testing.T) {
	hs := newHarness(t, session.Config{})
	w := hs.do("POST", "/login?user=alice", "")
	raw := w.Header().Values("Set-Cookie")
	if len(raw) != 1 {
		t.Fatalf("Set-Cookie headers: got %d, want 1", len(raw))
	}
	h := raw[0]
	for _, want := range []string{"__Host-sesame=", "; Path=/", "; HttpOnly", "; Secure", "; SameSite=Lax"} {
		if !strings.Contains(h, want) {
			t.Errorf("Set-Cookie %q: missing %q", redactCookie(h), want)
		}
	}
	for _, bad := range []string{"Domain=", "Max-Age=", "Expires="} {
		if strings.Contains(h, bad) {
			t.Errorf("Set-Cookie %q: has %q, want a non-persistent host-only cookie", redactCookie(h), bad)
		}
	}
	if strings.Contains(w.Body.String(), strings.SplitN(strings.TrimPrefix(h, "__Host-sesame="), ";", 2)[0]) {
		t.Error("SEC-02: the session token appears in the response body")
	}
}

func redactCookie(h string) string {
	name, rest, _ := strings.Cut(h, "=")
	_, attrs, _ := strings.Cut(rest, ";")
	return name + "=REDACTED;" + attrs
}

// SEC-08: tokens are 256-bit, base64url, unique.
func TestSEC08_TokenEntropy(t *testing.T) {
	hs := newHarness(t, session.Config{})
	seen := map[string]bool{}
	for range 200 {
		tok, _ := hs.login("alice", false)
		if len(tok) != 43 || strings.ContainsAny(tok, "+/=") {
			t.Fatalf("token %d chars: want 43 base64url characters", len(tok))
		}
		if seen[tok] {
			t.Fatal("duplicate session token")
		}
		seen[tok] = true
	}
}

// SEC-06 / SEC-09: a client-chosen or forged ID is never adopted; malformed
// cookies are anonymous, never 500.
func TestSEC09_ForgedAndMalformedCookies(t *testing.T) {
	hs := newHarness(t, session.Config{})
	good, _ := hs.login("alice", false)
	cases := map[string]string{
		"random well-formed": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"too short":          good[:42],
		"too long":           good + "A",
		"bad alphabet":       strings.Repeat("*", 43),
		"padded":             good[:40] + "==",
		"non-canonical tail": good[:42] + flipLastBits(good[42]),
		"empty":              "",
		"quoted":             `"` + good + `"`,
		"null byte":          good[:20] + "\x00" + good[21:],
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/whoami", nil)
			r.Header.Set("Cookie", "__Host-sesame="+tok)
			w := httptest.NewRecorder()
			hs.h.ServeHTTP(w, r)
			if w.Code != 401 {
				t.Fatalf("got %d, want 401", w.Code)
			}
		})
	}
	// SEC-06: the ID is accepted only from the cookie.
	for _, target := range []string{"/whoami?sid=" + good, "/whoami?session=" + good} {
		if w := hs.do("GET", target, ""); w.Code != 401 {
			t.Fatalf("token in URL %q: got %d, want 401", "?"+strings.SplitN(target, "?", 2)[1][:4], w.Code)
		}
	}
	r := httptest.NewRequest("GET", "/whoami", nil)
	r.Header.Set("Authorization", "Bearer "+good)
	w := httptest.NewRecorder()
	hs.h.ServeHTTP(w, r)
	if w.Code != 401 {
		t.Fatalf("session token as a bearer header: got %d, want 401", w.Code)
	}
}

// flipLastBits returns a base64url character that decodes to the same 6-bit
// prefix but sets bits the 43rd character must leave zero.
func flipLastBits(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i^1])
}

// SEC-10, attack 22: login issues a fresh ID and kills the one the request
// carried, whether it was a real session or a planted value.
func TestSEC10_FixationLoginRotates(t *testing.T) {
	hs := newHarness(t, session.Config{})
	planted := "PLANTEDPLANTEDPLANTEDPLANTEDPLANTEDPLANTED0"
	w := hs.do("POST", "/login?user=alice", planted)
	tok, _ := hs.tokenFrom(w)
	if tok == planted || tok == "" {
		t.Fatal("login adopted the planted cookie value")
	}
	hs.wantStatus(planted, 401)
	hs.wantStatus(tok, 200)

	// An attacker's own live session planted in the victim's browser.
	attacker, _ := hs.login("mallory", false)
	w = hs.do("POST", "/login?user=victim", attacker)
	victim, _ := hs.tokenFrom(w)
	if victim == attacker {
		t.Fatal("login kept the carried session token")
	}
	hs.wantStatus(attacker, 401)
	if body := hs.do("GET", "/whoami", victim).Body.String(); !strings.HasPrefix(body, "victim ") {
		t.Fatalf("whoami after login: got %q, want the victim's session", body)
	}
}

// SEC-11: the idle timeout at its exact boundary (valid up to and excluding
// LastSeen+IdleTimeout), and a request inside the window extends it.
func TestSEC11_IdleTimeoutBoundary(t *testing.T) {
	hs := newHarness(t, session.Config{IdleTimeout: 30 * time.Minute, TouchInterval: time.Minute})
	tok, _ := hs.login("alice", false)
	hs.clock.Add(30*time.Minute - time.Nanosecond)
	hs.wantStatus(tok, 200) // last moment: valid, and touched
	hs.clock.Add(30*time.Minute - time.Nanosecond)
	hs.wantStatus(tok, 200) // the touch moved the deadline
	hs.clock.Add(30 * time.Minute)
	hs.wantStatus(tok, 401) // exactly at the deadline: expired
	if n := hs.events(sesame.EventSessionExpired); n != 1 {
		t.Fatalf("session.expired events: got %d, want 1", n)
	}
	hs.clock.Add(-time.Hour) // even a clock going back cannot revive it: it was deleted
	hs.wantStatus(tok, 401)
}

// SEC-11: the absolute lifetime ends a session that is never idle.
func TestSEC11_AbsoluteTimeoutBoundary(t *testing.T) {
	hs := newHarness(t, session.Config{IdleTimeout: 30 * time.Minute, Lifetime: 2 * time.Hour})
	tok, _ := hs.login("alice", false)
	for elapsed := time.Duration(0); elapsed < 2*time.Hour-20*time.Minute; elapsed += 20 * time.Minute {
		hs.clock.Add(20 * time.Minute)
		hs.wantStatus(tok, 200)
	}
	hs.clock.Set(t0.Add(2*time.Hour - time.Nanosecond))
	hs.wantStatus(tok, 200)
	hs.clock.Set(t0.Add(2 * time.Hour))
	hs.wantStatus(tok, 401)
}

// SEC-05: remember-me gets a persistent cookie whose Max-Age is the absolute
// lifetime, and the longer timeouts.
func TestSEC05_RememberMe(t *testing.T) {
	hs := newHarness(t, session.Config{})
	w := hs.do("POST", "/login?user=alice&remember", "")
	tok, c := hs.tokenFrom(w)
	if c == nil || c.MaxAge != int((30*24*time.Hour).Seconds()) {
		t.Fatalf("remember-me cookie Max-Age: got %v, want %d", c, int((30 * 24 * time.Hour).Seconds()))
	}
	hs.clock.Add(6 * 24 * time.Hour) // idle 6 days: within 7
	hs.wantStatus(tok, 200)
	hs.clock.Add(7*24*time.Hour - time.Second)
	hs.wantStatus(tok, 200)
	hs.clock.Set(t0.Add(30 * 24 * time.Hour))
	hs.wantStatus(tok, 401)
}

// SEC-10, SEC-15: renewal issues a new token, keeps the data, and the old
// token works only within the grace window.
func TestSEC15_RenewGrace(t *testing.T) {
	hs := newHarness(t, session.Config{RenewGrace: 10 * time.Second})
	old, id := hs.login("alice", false)
	if w := hs.do("POST", "/put?k=theme&v=dark", old); w.Code != 204 {
		t.Fatalf("put: got %d", w.Code)
	}
	w := hs.do("POST", "/renew", old)
	renewed, _ := hs.tokenFrom(w)
	if renewed == "" || renewed == old {
		t.Fatal("renew set no new cookie")
	}
	if got := hs.do("GET", "/get?k=theme", renewed).Body.String(); got != "dark" {
		t.Fatalf("data after renewal: got %q, want dark", got)
	}
	if body := hs.do("GET", "/whoami", renewed).Body.String(); body != "alice "+id {
		t.Fatalf("session after renewal: got %q, want the same session ID", body)
	}
	hs.clock.Add(10*time.Second - time.Nanosecond)
	hs.wantStatus(old, 200)
	hs.clock.Add(time.Nanosecond)
	hs.wantStatus(old, 401)
	hs.wantStatus(renewed, 200)
}

func TestRenewWithoutGrace(t *testing.T) {
	hs := newHarness(t, session.Config{RenewGrace: -1})
	old, _ := hs.login("alice", false)
	w := hs.do("POST", "/renew", old)
	renewed, _ := hs.tokenFrom(w)
	hs.wantStatus(old, 401)
	hs.wantStatus(renewed, 200)
}

// SEC-12: logout destroys the server state, clears the cookie and sends
// Clear-Site-Data; replaying the cookie gets 401.
func TestSEC12_Logout(t *testing.T) {
	hs := newHarness(t, session.Config{})
	tok, _ := hs.login("alice", false)
	w := hs.do("POST", "/logout", tok)
	if w.Code != 204 {
		t.Fatalf("logout: got %d, want 204", w.Code)
	}
	if csd := w.Header().Get("Clear-Site-Data"); !strings.Contains(csd, `"cookies"`) {
		t.Fatalf("Clear-Site-Data: got %q, want it to include \"cookies\"", csd)
	}
	_, c := hs.tokenFrom(w)
	if c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("logout cookie: got %+v, want an empty cookie with Max-Age=0", c)
	}
	hs.wantStatus(tok, 401)
	if n := hs.events(sesame.EventLogout); n != 1 {
		t.Fatalf("logout events: got %d, want 1", n)
	}
}

// SEC-13: revoke one, revoke others, revoke all.
func TestSEC13_RevokeOneOthersAll(t *testing.T) {
	hs := newHarness(t, session.Config{})
	a, aID := hs.login("alice", false)
	b, bID := hs.login("alice", false)
	c, _ := hs.login("alice", false)
	bob, _ := hs.login("bob", false)
	ctx := context.Background()

	if ok, err := hs.m.Revoke(ctx, bID, "test"); err != nil || !ok {
		t.Fatalf("Revoke: got %v %v, want true nil", ok, err)
	}
	hs.wantStatus(b, 401)
	hs.wantStatus(a, 200)

	ids, err := hs.m.RevokeUser(ctx, "alice", aID, "others")
	if err != nil || len(ids) != 1 {
		t.Fatalf("RevokeUser(others): got %v %v, want one ID", ids, err)
	}
	hs.wantStatus(c, 401)
	hs.wantStatus(a, 200)

	list, err := hs.m.List(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].ID != aID {
		t.Fatalf("List after revoke-others: got %d sessions (%v), want only %s", len(list), err, aID)
	}
	if _, err := hs.m.RevokeUser(ctx, "alice", "", "all"); err != nil {
		t.Fatal(err)
	}
	hs.wantStatus(a, 401)
	hs.wantStatus(bob, 200)
}

// Two concurrent requests that change different keys both keep their change;
// on the same key the later save wins.
func TestConcurrentDataChangesMerge(t *testing.T) {
	hs := newHarness(t, session.Config{})
	tok, _ := hs.login("alice", false)
	// holds is shared by the package's tests: start with no "merge" hold
	// and leave none (a rerun, -count 2, would find this one closed).
	holds.Delete("merge")
	t.Cleanup(func() { holds.Delete("merge") })
	// Request A loads version N and waits; B changes another key and saves;
	// then A saves: its version check fails, it re-reads and re-applies.
	done := make(chan int)
	go func() {
		done <- hs.do("POST", "/put?k=a&v=1&hold=merge", tok).Code
	}()
	waitForHold(t, "merge")
	if w := hs.do("POST", "/put?k=b&v=2", tok); w.Code != 204 {
		t.Fatalf("put b: got %d", w.Code)
	}
	close(holdCh(context.Background(), "merge"))
	if code := <-done; code != 204 {
		t.Fatalf("put a: got %d", code)
	}
	for k, want := range map[string]string{"a": "1", "b": "2"} {
		if got := hs.do("GET", "/get?k="+k, tok).Body.String(); got != want {
			t.Fatalf("key %s after concurrent changes: got %q, want %q", k, got, want)
		}
	}
}

// waitForHold waits until a request is parked on the named hold. The handler
// creates the channel before blocking, so its presence is the signal.
func waitForHold(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := holds.Load(name); ok {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("request never reached the hold")
}

// Many concurrent writers to distinct keys: every change survives.
func TestConcurrentDataChangesManyKeys(t *testing.T) {
	hs := newHarness(t, session.Config{})
	tok, _ := hs.login("alice", false)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w := hs.do("POST", fmt.Sprintf("/put?k=k%d&v=%d", i, i), tok); w.Code != 204 {
				t.Errorf("put k%d: got %d", i, w.Code)
			}
		}()
	}
	wg.Wait()
	for i := range 6 {
		if got := hs.do("GET", fmt.Sprintf("/get?k=k%d", i), tok).Body.String(); got != fmt.Sprint(i) {
			t.Fatalf("k%d: got %q, want %d", i, got, i)
		}
	}
}

// RequireAuth: HTML page requests are redirected to the login page, API
// requests get 401 JSON.
func TestRequireAuthJSONAndHTML(t *testing.T) {
	hs := newHarness(t, session.Config{})
	w := hs.do("GET", "/whoami", "", "Accept", "text/html,application/xhtml+xml")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next=%2Fwhoami" {
		t.Fatalf("HTML: got %d Location %q, want 303 to /login?next=%%2Fwhoami", w.Code, w.Header().Get("Location"))
	}
	w = hs.do("GET", "/whoami", "", "Accept", "application/json")
	var body struct {
		Error struct{ Code, Message string }
	}
	if w.Code != 401 || json.Unmarshal(w.Body.Bytes(), &body) != nil || body.Error.Code != "unauthenticated" {
		t.Fatalf("JSON: got %d %s, want 401 with code unauthenticated", w.Code, w.Body)
	}
}

// An oversized Cookie header is 431, never 500.
func TestCookieHeaderTooLarge(t *testing.T) {
	hs := newHarness(t, session.Config{})
	r := httptest.NewRequest("GET", "/whoami", nil)
	r.Header.Set("Cookie", "junk="+strings.Repeat("x", 9000))
	w := httptest.NewRecorder()
	hs.h.ServeHTTP(w, r)
	if w.Code != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("got %d, want 431", w.Code)
	}
}

// A revocation made by another process (another manager on the same store)
// reaches this manager's view through the change feed.
func TestRevocationFromAnotherProcess(t *testing.T) {
	hs := newHarness(t, session.Config{})
	tok, id := hs.login("alice", false)
	hs.wantStatus(tok, 200) // now cached in the view
	other, err := session.New(hs.store, session.Config{Clock: hs.clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Revoke(context.Background(), id, "cli"); err != nil {
		t.Fatal(err)
	}
	if err := hs.m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs.wantStatus(tok, 401)
}

// A store outage is a 503 for a cache miss, never a 500 or an accepted
// unknown credential.
func TestStoreOutageIs503(t *testing.T) {
	store := &failingStore{Store: memstore.New()}
	m, err := session.New(store, session.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Middleware(m.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	store.fail = true
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "__Host-sesame=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 503 {
		t.Fatalf("got %d, want 503", w.Code)
	}
	if strings.Contains(w.Body.String(), "disk") {
		t.Fatalf("503 body leaks the internal error: %s", w.Body)
	}
}

type failingStore struct {
	*memstore.Store
	fail bool
}

func (f *failingStore) ByToken(ctx context.Context, h [32]byte) (*sesame.Session, error) {
	if f.fail {
		return nil, fmt.Errorf("disk on fire")
	}
	return f.Store.ByToken(ctx, h)
}

// SEC-15 (load/race): while one request renews the session, many requests
// still carrying the old token are in flight; all of them succeed within the
// grace, and the session keeps one ID. Run with -race.
func TestSEC15_RenewalUnderConcurrency(t *testing.T) {
	hs := newHarness(t, session.Config{RenewGrace: 10 * time.Second})
	old, id := hs.login("alice", false)
	var wg sync.WaitGroup
	var renewed string
	var mu sync.Mutex
	fails := 0
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 20 {
				w := hs.do("POST", "/renew", old)
				tok, _ := hs.tokenFrom(w)
				mu.Lock()
				renewed = tok
				mu.Unlock()
				return
			}
			if w := hs.do("GET", "/whoami", old); w.Code != 200 || w.Body.String() != "alice "+id {
				mu.Lock()
				fails++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if fails != 0 {
		t.Fatalf("%d in-flight requests with the pre-renewal token failed, want 0", fails)
	}
	if renewed == "" || renewed == old {
		t.Fatal("renewal issued no new token")
	}
	hs.wantStatus(renewed, 200)
	hs.clock.Add(10 * time.Second)
	hs.wantStatus(old, 401)
}

// Every response of the middleware varies on Cookie, and every response
// that carries a session or sets or clears its cookie is not stored by
// shared caches: otherwise a cache in front of a library user's app can
// serve one user's page to another.
func TestVaryCookieAndNoStore(t *testing.T) {
	hs := newHarness(t, session.Config{})
	check := func(what string, w *httptest.ResponseRecorder, wantNoStore bool) {
		t.Helper()
		if got := w.Header().Values("Vary"); len(got) != 1 || got[0] != "Cookie" {
			t.Errorf("%s: Vary %q, want exactly Cookie", what, got)
		}
		if cc := w.Header().Get("Cache-Control"); wantNoStore && cc != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", what, cc)
		}
	}
	check("anonymous request", hs.do("GET", "/whoami", ""), false)
	w := hs.do("POST", "/login?user=alice", "")
	check("login (sets the cookie)", w, true)
	tok, _ := hs.tokenFrom(w)
	check("request with a session", hs.do("GET", "/whoami", tok), true)
	check("data change", hs.do("POST", "/put?k=a&v=1", tok), true)
	check("renewal (sets the cookie)", hs.do("POST", "/renew", tok), true)
	tok2, _ := hs.tokenFrom(hs.do("POST", "/login?user=bob", ""))
	check("logout (clears the cookie)", hs.do("POST", "/logout", tok2), true)

	private := newHarness(t, session.Config{CacheControl: "private, no-cache"})
	w = private.do("POST", "/login?user=alice", "")
	if cc := w.Header().Get("Cache-Control"); cc != "private, no-cache" {
		t.Errorf("configured Cache-Control: got %q", cc)
	}
}
