package session_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/session"
)

// countingStore counts the writes a manager makes.
type countingStore struct {
	*memstore.Store
	creates, updates, touches, deletes atomic.Int64
}

func (c *countingStore) Create(ctx context.Context, s *sesame.Session) error {
	c.creates.Add(1)
	return c.Store.Create(ctx, s)
}

func (c *countingStore) Update(ctx context.Context, s *sesame.Session) error {
	c.updates.Add(1)
	return c.Store.Update(ctx, s)
}

func (c *countingStore) Touch(ctx context.Context, id string, t time.Time) error {
	c.touches.Add(1)
	return c.Store.Touch(ctx, id, t)
}

func (c *countingStore) Delete(ctx context.Context, id string) (bool, error) {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, id)
}

func (c *countingStore) writes() int64 {
	return c.creates.Load() + c.updates.Load() + c.touches.Load() + c.deletes.Load()
}

type anonHarness struct {
	t     *testing.T
	m     *session.Manager
	store *countingStore
	clock *testclock.Clock
	h     http.Handler
}

func newAnonHarness(t *testing.T, anon session.AnonymousConfig) *anonHarness {
	t.Helper()
	hs := &anonHarness{t: t, store: &countingStore{Store: memstore.New()}, clock: testclock.New(t0)}
	m, err := session.New(hs.store, session.Config{Clock: hs.clock, Anonymous: anon})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m.Start(ctx)
	hs.m = m
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		cart, _, err := session.Get[[]string](r.Context(), "cart")
		if err == nil {
			err = session.Put(r.Context(), "cart", append(cart, r.URL.Query().Get("item")))
		}
		if err != nil {
			session.WriteJSONError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		cart, ok, err := session.Get[[]string](r.Context(), "cart")
		if err != nil || !ok {
			http.Error(w, "no cart", http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(cart)
	})
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	})
	mux.HandleFunc("POST /late", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "started")
		if err := session.Put(r.Context(), "cart", []string{"late"}); err == nil {
			t.Error("Put after the response started: got nil, want an error (no cookie can be set)")
		}
	})
	mux.HandleFunc("POST /many", func(w http.ResponseWriter, r *http.Request) {
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				if err := session.Put(r.Context(), fmt.Sprint("k", i), i); err != nil {
					t.Errorf("Put k%d: %v", i, err)
				}
			})
		}
		wg.Wait()
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if item := r.URL.Query().Get("item"); item != "" { // store, then log in, in one request
			if err := session.Put(r.Context(), "cart", []string{item}); err != nil {
				t.Errorf("Put: %v", err)
			}
		}
		s, err := m.Login(w, r, r.URL.Query().Get("user"), session.LoginOptions{})
		if err != nil {
			session.WriteJSONError(w, r, err)
			return
		}
		fmt.Fprint(w, s.ID)
	})
	mux.HandleFunc("POST /renew", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Renew(r); err != nil {
			session.WriteJSONError(w, r, err)
		}
	})
	mux.Handle("GET /whoami", m.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.Current(r.Context())
		fmt.Fprint(w, s.UserID)
	})))
	mux.HandleFunc("GET /who", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := session.Current(r.Context()); ok || sesame.PrincipalFrom(r.Context()) != nil {
			fmt.Fprint(w, "someone")
			return
		}
		fmt.Fprint(w, "no one")
	})
	hs.h = m.Middleware(mux)
	return hs
}

func (hs *anonHarness) do(method, target, token string) *httptest.ResponseRecorder {
	hs.t.Helper()
	r := httptest.NewRequest(method, target, nil)
	if token != "" {
		r.Header.Set("Cookie", hs.m.Config().CookieName+"="+token)
	}
	w := httptest.NewRecorder()
	hs.h.ServeHTTP(w, r)
	return w
}

func (hs *anonHarness) token(w *httptest.ResponseRecorder) string {
	hs.t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == hs.m.Config().CookieName {
			return c.Value
		}
	}
	return ""
}

// addToCart stores item in the cart of the session token carries (a new
// anonymous one when token is empty) and returns the session's token.
func (hs *anonHarness) addToCart(token, item string) string {
	hs.t.Helper()
	w := hs.do("POST", "/cart?item="+item, token)
	if w.Code != http.StatusNoContent {
		hs.t.Fatalf("POST /cart: got %d %s, want 204", w.Code, w.Body)
	}
	if t := hs.token(w); t != "" {
		return t
	}
	return token
}

func (hs *anonHarness) cart(token string) (items string, code int) {
	hs.t.Helper()
	w := hs.do("GET", "/cart", token)
	return strings.TrimSpace(w.Body.String()), w.Code
}

// sessionOf returns the stored record of the session token carries.
func (hs *anonHarness) sessionOf(token string) (*sesame.Session, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		hs.t.Fatalf("token %q: %v", token, err)
	}
	return hs.store.ByToken(context.Background(), sha256.Sum256(raw))
}

var anonOn = session.AnonymousConfig{Enabled: true}

// Without the option, Put before login fails as it always did.
func TestAnonymousOffByDefault(t *testing.T) {
	hs := newAnonHarness(t, session.AnonymousConfig{})
	w := hs.do("POST", "/cart?item=book", "")
	if w.Code != http.StatusUnauthorized || hs.token(w) != "" {
		t.Fatalf("Put without a session, anonymous off: got %d cookie %q, want 401 and no cookie", w.Code, hs.token(w))
	}
	if n := hs.store.writes(); n != 0 {
		t.Fatalf("store writes: got %d, want 0", n)
	}
}

// A visitor who stores nothing costs no store write and gets no cookie;
// every response still varies on Cookie.
func TestAnonymousLazy(t *testing.T) {
	hs := newAnonHarness(t, anonOn)
	for _, target := range []string{"/page", "/cart", "/who", "/whoami"} {
		w := hs.do("GET", target, "")
		if c := w.Header().Values("Set-Cookie"); len(c) != 0 {
			t.Errorf("GET %s: Set-Cookie %q, want none", target, c)
		}
		if v := w.Header().Values("Vary"); len(v) != 1 || v[0] != "Cookie" {
			t.Errorf("GET %s: Vary %q, want Cookie", target, v)
		}
	}
	if n := hs.store.writes(); n != 0 {
		t.Fatalf("store writes: got %d, want 0", n)
	}
	// A Put after the response started cannot set a cookie: it fails, and
	// nothing is written.
	w := hs.do("POST", "/late", "")
	if c := w.Header().Values("Set-Cookie"); len(c) != 0 || hs.store.writes() != 0 {
		t.Fatalf("late Put: Set-Cookie %q, %d writes; want none", c, hs.store.writes())
	}
}

// The first Put creates one session, its cookie a browser-session cookie
// with Vary: Cookie and Cache-Control: no-store (SEC-50).
func TestAnonymousCreatedByPut(t *testing.T) {
	hs := newAnonHarness(t, anonOn)
	w := hs.do("POST", "/cart?item=book", "")
	tok := hs.token(w)
	if w.Code != http.StatusNoContent || tok == "" {
		t.Fatalf("POST /cart: got %d, cookie %q; want 204 and a cookie", w.Code, tok)
	}
	if v := w.Header().Values("Vary"); len(v) != 1 || v[0] != "Cookie" {
		t.Errorf("Vary: got %q, want Cookie", v)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control: got %q, want no-store", cc)
	}
	c := w.Result().Cookies()[0]
	if c.MaxAge != 0 || !c.Expires.IsZero() || !c.HttpOnly || !c.Secure || c.Path != "/" {
		t.Errorf("anonymous cookie %+v: want HttpOnly, Secure, Path=/, no Max-Age or Expires", c)
	}
	if n := hs.store.creates.Load(); n != 1 {
		t.Errorf("store creates: got %d, want 1", n)
	}
	s, err := hs.sessionOf(tok)
	if err != nil {
		t.Fatal(err)
	}
	if s.UserID != "" || s.Device != (sesame.Device{}) || !s.AuthTime.IsZero() || s.Remember {
		t.Errorf("anonymous record: user %q device %+v auth %v remember %v; want none of them", s.UserID, s.Device, s.AuthTime, s.Remember)
	}
	if s.IdleTimeout != 30*time.Minute || !s.ExpiresAt.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("anonymous timeouts: idle %v, ends %v; want 30m and %v", s.IdleTimeout, s.ExpiresAt, t0.Add(24*time.Hour))
	}
	if got, code := hs.cart(tok); code != 200 || got != `["book"]` {
		t.Fatalf("GET /cart: got %d %s", code, got)
	}
	w = hs.do("GET", "/cart", tok)
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" || len(w.Header().Values("Set-Cookie")) != 0 {
		t.Errorf("request with an anonymous session: Cache-Control %q, Set-Cookie %q; want no-store and none", cc, w.Header().Values("Set-Cookie"))
	}
	tok2 := hs.addToCart(tok, "pen")
	if tok2 != tok {
		t.Errorf("second Put: the cookie changed")
	}
	if got, _ := hs.cart(tok); got != `["book","pen"]` {
		t.Errorf("cart: got %s", got)
	}
	if n := hs.store.creates.Load(); n != 1 {
		t.Errorf("store creates after two Puts: got %d, want 1", n)
	}
}

// Concurrent first Puts of one request make one session holding every
// key.
func TestAnonymousConcurrentPutsOneSession(t *testing.T) {
	hs := newAnonHarness(t, anonOn)
	w := hs.do("POST", "/many", "")
	if c := w.Header().Values("Set-Cookie"); len(c) != 1 {
		t.Fatalf("Set-Cookie: got %d, want 1", len(c))
	}
	if n := hs.store.creates.Load(); n != 1 {
		t.Fatalf("store creates: got %d, want 1", n)
	}
	s, err := hs.sessionOf(hs.token(w))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Data) != 16 {
		t.Fatalf("data keys: got %d, want 16", len(s.Data))
	}
}

// An anonymous session never authenticates: RequireAuth refuses it, Current
// and the Principal are nil, and the token path (CheckLive, LiveSession, TouchForRefresh)
// refuses its ID, so no token is ever bound to it or accepted for it.
func TestAnonymousNeverAuthenticates(t *testing.T) {
	hs := newAnonHarness(t, anonOn)
	tok := hs.addToCart("", "book")
	if w := hs.do("GET", "/whoami", tok); w.Code != http.StatusUnauthorized {
		t.Errorf("RequireAuth with an anonymous session: got %d, want 401", w.Code)
	}
	if w := hs.do("GET", "/who", tok); w.Body.String() != "no one" {
		t.Errorf("Current/PrincipalFrom with an anonymous session: got %q, want no one", w.Body)
	}
	s, err := hs.sessionOf(tok)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := hs.m.CheckLive(ctx, s.ID); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("CheckLive(anonymous): got %v, want ErrSessionRevoked", err)
	}
	if _, err := hs.m.LiveSession(ctx, s.ID); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("LiveSession(anonymous): got %v, want ErrSessionRevoked", err)
	}
	if _, err := hs.m.TouchForRefresh(ctx, s.ID); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("TouchForRefresh(anonymous): got %v, want ErrSessionRevoked", err)
	}
	if _, err := hs.m.StartTokenSession(ctx, "", session.LoginOptions{}); err == nil {
		t.Error("StartTokenSession with no user: got nil, want an error")
	}
	if w := hs.do("POST", "/login?user=", tok); w.Code == http.StatusOK {
		t.Error("Login with no user: got 200, want an error")
	}
	// Still a working anonymous session afterwards.
	if got, _ := hs.cart(tok); got != `["book"]` {
		t.Errorf("cart: got %s", got)
	}
}

// Anonymous sessions are nobody's devices: not listed, not revoked with a
// user's sessions, and the empty user ID names no one.
func TestAnonymousNotAUsersDevice(t *testing.T) {
	hs := newAnonHarness(t, anonOn)
	anon := hs.addToCart("", "book")
	if w := hs.do("POST", "/login?user=alice", ""); w.Code != 200 {
		t.Fatalf("login: %d", w.Code)
	}
	ctx := context.Background()
	for _, user := range []string{"alice", ""} {
		list, err := hs.m.List(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if s.UserID == "" {
				t.Errorf("List(%q) includes an anonymous session", user)
			}
		}
		if user == "" && len(list) != 0 {
			t.Errorf("List(\"\"): got %d sessions, want none", len(list))
		}
		ids, err := hs.m.RevokeUser(ctx, user, "", "test")
		if err != nil {
			t.Fatal(err)
		}
		if user == "" && len(ids) != 0 {
			t.Errorf("RevokeUser(\"\"): revoked %v, want none", ids)
		}
		if got, code := hs.cart(anon); code != 200 || got != `["book"]` {
			t.Fatalf("after RevokeUser(%q): the anonymous cart is %d %s, want it intact", user, code, got)
		}
	}
	if list, _ := hs.store.ListByUser(ctx, ""); len(list) != 0 {
		t.Errorf("store ListByUser(\"\"): got %d, want none", len(list))
	}
}

// SEC-10: login replaces the anonymous session by a fresh ID and token
// that carry its data; the old token and ID are dead everywhere (another
// node hears it through the change feed): a request with the old cookie is
// a new anonymous visitor who reads no data.
func TestSEC10_AnonymousDataSurvivesLoginWithNewID(t *testing.T) {
	hs := newAnonHarness(t, anonOn)
	// Another node on the same store, which has served the anonymous cookie.
	other, err := session.New(hs.store, session.Config{Clock: hs.clock, Anonymous: anonOn})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	other.Start(ctx)

	anonTok := hs.addToCart("", "book")
	anonTok = hs.addToCart(anonTok, "pen")
	anon, err := hs.sessionOf(anonTok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Lookup(ctx, anon.ID); err != nil {
		t.Fatalf("other node: Lookup(anonymous): %v", err)
	}

	w := hs.do("POST", "/login?user=alice", anonTok)
	if w.Code != 200 {
		t.Fatalf("login: got %d %s", w.Code, w.Body)
	}
	userTok, userID := hs.token(w), w.Body.String()
	if userTok == "" || userTok == anonTok || userID == anon.ID {
		t.Fatalf("login kept the anonymous token or ID (token changed %v, id %q → %q)", userTok != anonTok, anon.ID, userID)
	}
	if got, code := hs.cart(userTok); code != 200 || got != `["book","pen"]` {
		t.Fatalf("cart after login: got %d %s, want the anonymous cart", code, got)
	}
	if w := hs.do("GET", "/whoami", userTok); w.Body.String() != "alice" {
		t.Fatalf("whoami after login: got %d %q", w.Code, w.Body)
	}

	// The old anonymous ID is dead: in the store, in the feed, on this node
	// and on the other node.
	if _, err := hs.store.ByID(ctx, anon.ID); !errors.Is(err, sesame.ErrNotFound) {
		t.Errorf("store ByID(old anonymous ID): got %v, want ErrNotFound", err)
	}
	changes, _, err := hs.store.Changes(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	revoked := false
	for _, c := range changes {
		revoked = revoked || (c.SessionID == anon.ID && c.Kind == session.ChangeRevoked)
	}
	if !revoked {
		t.Error("the old anonymous ID is not revoked in the change feed")
	}
	if err := other.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Lookup(ctx, anon.ID); !errors.Is(err, sesame.ErrNotFound) {
		t.Errorf("other node: Lookup(old anonymous ID): got %v, want ErrNotFound", err)
	}
	writes := hs.store.creates.Load()
	if got, code := hs.cart(anonTok); code != http.StatusNotFound {
		t.Errorf("cart with the old anonymous cookie: got %d %s, want 404 (a fresh visitor)", code, got)
	}
	if w := hs.do("GET", "/who", anonTok); w.Body.String() != "no one" {
		t.Errorf("old anonymous cookie: got %q, want no one", w.Body)
	}
	// Storing with the old cookie makes a fresh anonymous session, with
	// only the new data.
	fresh := hs.addToCart(anonTok, "ink")
	if fresh == anonTok || hs.store.creates.Load() != writes+1 {
		t.Fatal("a Put with the old anonymous cookie did not create a fresh session")
	}
	if got, _ := hs.cart(fresh); got != `["ink"]` {
		t.Errorf("fresh anonymous cart: got %s, want only the new item", got)
	}
}

// DropOnLogin: the new session starts empty; the old one still dies.
func TestAnonymousDropOnLogin(t *testing.T) {
	hs := newAnonHarness(t, session.AnonymousConfig{Enabled: true, DropOnLogin: true})
	anonTok := hs.addToCart("", "book")
	w := hs.do("POST", "/login?user=alice", anonTok)
	userTok := hs.token(w)
	if _, code := hs.cart(userTok); code != http.StatusNotFound {
		t.Errorf("cart after login with DropOnLogin: got %d, want 404", code)
	}
	if _, code := hs.cart(anonTok); code != http.StatusNotFound {
		t.Errorf("cart with the old anonymous cookie: got %d, want 404", code)
	}
}

// Data stored in the login request itself (no session before it) goes
// into the new session; a signed-in session's data never moves to another
// user's login.
func TestAnonymousPutThenLoginInOneRequest(t *testing.T) {
	hs := newAnonHarness(t, anonOn)
	w := hs.do("POST", "/login?user=alice&item=book", "")
	if c := w.Header().Values("Set-Cookie"); len(c) != 1 {
		t.Fatalf("Set-Cookie: got %q, want one cookie (the signed-in session's)", c)
	}
	aliceTok := hs.token(w)
	if got, _ := hs.cart(aliceTok); got != `["book"]` {
		t.Fatalf("cart: got %s", got)
	}
	if n := hs.store.creates.Load(); n != 1 {
		t.Errorf("store creates: got %d, want 1 (no anonymous session for data stored before Login)", n)
	}
	w = hs.do("POST", "/login?user=bob", aliceTok)
	if _, code := hs.cart(hs.token(w)); code != http.StatusNotFound {
		t.Errorf("bob's session after logging in over alice's: cart %d, want 404 (alice's data must not move)", code)
	}
}

// SEC-09: a planted anonymous cookie (a token the server never issued, or
// one whose session expired) is never adopted: the next Put makes a new
// session with a new token.
func TestSEC09_PlantedAnonymousCookieNotAdopted(t *testing.T) {
	hs := newAnonHarness(t, anonOn)
	planted := base64.RawURLEncoding.EncodeToString(make([]byte, 32)) // well formed, never issued
	tok := hs.addToCart(planted, "book")
	if tok == planted {
		t.Fatal("the planted token was adopted")
	}
	if _, err := hs.sessionOf(planted); !errors.Is(err, sesame.ErrNotFound) {
		t.Errorf("store ByToken(planted): got %v, want ErrNotFound", err)
	}

	// An expired anonymous session's token is not revived either.
	hs.clock.Add(30 * time.Minute)
	tok2 := hs.addToCart(tok, "pen")
	if tok2 == tok {
		t.Fatal("an expired anonymous token was adopted")
	}
	if got, _ := hs.cart(tok2); got != `["pen"]` {
		t.Errorf("cart of the new session: got %s, want only the new item", got)
	}
	// A login with the planted cookie does not adopt it either.
	w := hs.do("POST", "/login?user=alice", planted)
	if hs.token(w) == planted {
		t.Fatal("login adopted the planted token")
	}
}

// SEC-11: the anonymous idle timeout and absolute lifetime, at their
// boundaries.
func TestSEC11_AnonymousTimeouts(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		hs := newAnonHarness(t, session.AnonymousConfig{Enabled: true, IdleTimeout: 10 * time.Minute})
		tok := hs.addToCart("", "book")
		hs.clock.Add(10*time.Minute - time.Nanosecond)
		if _, code := hs.cart(tok); code != 200 {
			t.Fatalf("just before the idle timeout: got %d, want 200", code)
		}
		hs.clock.Add(10 * time.Minute) // idle again from the last recorded use
		if _, code := hs.cart(tok); code != http.StatusNotFound {
			t.Fatalf("at the idle timeout: got %d, want 404", code)
		}
	})
	t.Run("lifetime", func(t *testing.T) {
		hs := newAnonHarness(t, session.AnonymousConfig{Enabled: true, IdleTimeout: time.Hour, Lifetime: 3 * time.Hour})
		tok := hs.addToCart("", "book")
		for range 5 { // active every 35 minutes until just before the end
			hs.clock.Add(35 * time.Minute)
			if _, code := hs.cart(tok); code != 200 {
				t.Fatalf("at %v: got %d, want 200", hs.clock.Now().Sub(t0), code)
			}
		}
		hs.clock.Set(t0.Add(3*time.Hour - time.Nanosecond))
		if _, code := hs.cart(tok); code != 200 {
			t.Fatalf("just before the lifetime: got %d, want 200", code)
		}
		hs.clock.Set(t0.Add(3 * time.Hour))
		if _, code := hs.cart(tok); code != http.StatusNotFound {
			t.Fatalf("at the lifetime: got %d, want 404", code)
		}
	})
}

// Current returns a copy without secret material: changing it changes
// nothing, and its type has no token hash or data.
func TestCurrentIsAReadOnlyCopy(t *testing.T) {
	for _, f := range reflect.VisibleFields(reflect.TypeFor[session.Info]()) {
		if n := strings.ToLower(f.Name); strings.Contains(n, "token") || strings.Contains(n, "hash") || n == "data" {
			t.Errorf("session.Info has field %s: Current must not expose secret material", f.Name)
		}
	}
	hs := newHarness(t, session.Config{})
	tok, id := hs.login("alice", false)
	mux := hs.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := session.Current(r.Context())
		c.UserID, c.ID = "mallory", "x"
		if again, ok := session.Current(r.Context()); !ok || again.UserID != "alice" || again.ID != id {
			t.Errorf("after changing the copy: Current is %q %q, want alice %q", again.UserID, again.ID, id)
		}
		if s := c.Session(); s.TokenHash != ([32]byte{}) || s.Data != nil {
			t.Error("Info.Session carries a token hash or data")
		}
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", hs.m.Config().CookieName+"="+tok)
	mux.ServeHTTP(httptest.NewRecorder(), r)
}

// End to end over real HTTP with a browser-like cookie jar: a cart before
// login, kept through login, with the anonymous cookie replaced.
func TestAnonymousEndToEnd(t *testing.T) {
	hs := newAnonHarness(t, anonOn)
	srv := httptest.NewTLSServer(hs.h)
	defer srv.Close()
	client := srv.Client()
	jar, _ := cookiejar.New(nil)
	client.Jar = jar
	call := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := call("GET", "/page"); code != 200 || len(jar.Cookies(u)) != 0 {
		t.Fatalf("browsing set a cookie")
	}
	call("POST", "/cart?item=book")
	call("POST", "/cart?item=pen")
	anon := jar.Cookies(u)
	if len(anon) != 1 {
		t.Fatalf("cookies after the cart: %v", anon)
	}
	if code, _ := call("GET", "/whoami"); code != http.StatusUnauthorized {
		t.Fatalf("whoami before login: got %d, want 401", code)
	}
	if code, _ := call("POST", "/login?user=alice"); code != 200 {
		t.Fatalf("login: got %d", code)
	}
	if after := jar.Cookies(u); len(after) != 1 || after[0].Value == anon[0].Value {
		t.Fatalf("login did not replace the anonymous cookie")
	}
	if code, body := call("GET", "/cart"); code != 200 || body != `["book","pen"]` {
		t.Fatalf("cart after login: got %d %s", code, body)
	}
	if code, body := call("GET", "/whoami"); code != 200 || body != "alice" {
		t.Fatalf("whoami after login: got %d %s", code, body)
	}
}

// Renewing an anonymous session rotates its token and keeps its data; it
// still has no user and no authentication time.
func TestAnonymousRenew(t *testing.T) {
	hs := newAnonHarness(t, anonOn)
	if w := hs.do("POST", "/renew", ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("Renew without a session: got %d, want 401", w.Code)
	}
	tok := hs.addToCart("", "book")
	w := hs.do("POST", "/renew", tok)
	next := hs.token(w)
	if next == "" || next == tok {
		t.Fatalf("Renew of an anonymous session: got cookie %q, want a new token", next)
	}
	s, err := hs.sessionOf(next)
	if err != nil {
		t.Fatal(err)
	}
	if s.UserID != "" || !s.AuthTime.IsZero() {
		t.Errorf("renewed anonymous session: user %q auth time %v, want none", s.UserID, s.AuthTime)
	}
	if got, _ := hs.cart(next); got != `["book"]` {
		t.Errorf("cart after renewal: got %s", got)
	}
}
