package token_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// downStore fails every session read while down is set.
type downStore struct {
	*memstore.Store
	down atomic.Bool
}

func (s *downStore) ByID(ctx context.Context, id string) (*sesame.Session, error) {
	if s.down.Load() {
		return nil, errors.New("connection refused")
	}
	return s.Store.ByID(ctx, id)
}

// SEC-64/65: a store that cannot answer is not a dead cookie. An access
// cookie whose session cannot be checked is refused with 503 and never
// passed through unauthenticated (where a session cookie beside it, or a
// handler without RequireAuth, would decide instead), and OnDeadCookie is
// not called. A Bearer header is 503 too.
func TestAccessCookieStoreDownIs503NotPassThrough(t *testing.T) {
	store := &downStore{Store: memstore.New()}
	// Not started: the session view is never trusted, so every check reads
	// the store.
	sessions, err := session.New(store, session.Config{Clock: testclock.New(t0)})
	if err != nil {
		t.Fatal(err)
	}
	key, err := jose.GenerateKey(jose.ES256, "")
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := jose.NewKeySet(key)
	svc, err := token.New(token.Config{Issuer: "https://auth.test", Keys: keys, SuccessorKey: []byte(strings.Repeat("k", 32)),
		Store: store, Sessions: sessions, Clock: testclock.New(t0)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sess, err := sessions.StartTokenSession(ctx, "alice", session.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Issue(ctx, sess, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	m := token.NewMiddleware(svc)
	m.AcceptCookie(token.AccessCookie)
	m.OnDeadCookie(func(r *http.Request, err error) { t.Errorf("OnDeadCookie called for a store outage: %v", err) })
	reached := false
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))

	for _, warm := range []bool{false, true} { // the token not yet cached, then cached
		store.down.Store(!warm)
		if warm { // the first request puts it in the cache
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(&http.Cookie{Name: token.AccessCookie, Value: p.AccessToken})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 || !reached {
				t.Fatalf("store up: got %d", w.Code)
			}
			store.down.Store(true)
		}
		for name, set := range map[string]func(r *http.Request){
			"cookie": func(r *http.Request) { r.AddCookie(&http.Cookie{Name: token.AccessCookie, Value: p.AccessToken}) },
			"bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+p.AccessToken) },
		} {
			reached = false
			r := httptest.NewRequest("GET", "/", nil)
			set(r)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if reached || w.Code != http.StatusServiceUnavailable {
				t.Errorf("%s, cached %v, store down: got %d (reached next: %v), want 503", name, warm, w.Code, reached)
			}
		}
	}
}
