package session_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
)

// pendingHarness is the harness with the routes of a second-factor flow: a
// login that starts a pending session, and the step that completes it.
func pendingHarness(t *testing.T) *harness {
	hs := newHarness(t, session.Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login-pending", func(w http.ResponseWriter, r *http.Request) {
		s, err := hs.m.Login(w, r, r.URL.Query().Get("user"), session.LoginOptions{Pending: true, Remember: r.URL.Query().Has("remember")})
		if err != nil {
			session.WriteJSONError(w, r, err)
			return
		}
		fmt.Fprint(w, s.ID)
	})
	mux.HandleFunc("POST /second-factor", func(w http.ResponseWriter, r *http.Request) {
		s, err := hs.m.CompletePending(w, r, session.CompleteOptions{Method: sesame.AMROTP, Tokens: r.URL.Query().Has("tokens")})
		if err != nil {
			session.WriteJSONError(w, r, err)
			return
		}
		fmt.Fprint(w, s.ID)
	})
	mux.HandleFunc("GET /pending", func(w http.ResponseWriter, r *http.Request) {
		if p, ok := session.PendingSession(r.Context()); ok {
			fmt.Fprint(w, p.UserID)
			return
		}
		http.Error(w, "none", http.StatusNotFound)
	})
	mux.Handle("/", hs.h) // the harness's own routes, unwrapped below
	inner := hs.h
	hs.h = hs.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "/" {
			mux.ServeHTTP(w, r)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	return hs
}

func (hs *harness) loginPending(user string) (token, id string) {
	hs.t.Helper()
	w := hs.do("POST", "/login-pending?user="+user, "")
	if w.Code != 200 {
		hs.t.Fatalf("pending login: got %d %s", w.Code, w.Body)
	}
	tok, _ := hs.tokenFrom(w)
	if tok == "" {
		hs.t.Fatal("pending login set no cookie")
	}
	return tok, w.Body.String()
}

// SEC-60: a session waiting for its second factor is nobody's sign-in: it
// has no Principal (RequireAuth refuses it, Current reports none), no
// token is bound to it or issued for it (LiveSession, TouchForRefresh),
// and it is readable only by the second-factor step (PendingSession).
// Completing it replaces it with a new session (new ID and token, SEC-10)
// recording both factors; the pending token is dead afterwards, and the
// completion succeeds once.
func TestSEC60_PendingSessionIsNotSignedIn(t *testing.T) {
	hs := pendingHarness(t)
	ctx := context.Background()
	tok, id := hs.loginPending("alice")

	hs.wantStatus(tok, http.StatusUnauthorized)
	if w := hs.do("GET", "/pending", tok); w.Code != 200 || w.Body.String() != "alice" {
		t.Fatalf("PendingSession: got %d %q, want alice", w.Code, w.Body)
	}
	if _, err := hs.m.LiveSession(ctx, id); !errors.Is(err, session.ErrSessionRevoked) {
		t.Fatalf("LiveSession of a pending session: got %v, want ErrSessionRevoked", err)
	}
	if _, err := hs.m.TouchForRefresh(ctx, id); !errors.Is(err, session.ErrSessionRevoked) {
		t.Fatalf("TouchForRefresh of a pending session: got %v, want ErrSessionRevoked", err)
	}
	if _, err := hs.m.StepUp(ctx, id, true); !errors.Is(err, session.ErrSessionRevoked) {
		t.Fatalf("StepUp of a pending session: got %v, want ErrSessionRevoked", err)
	}
	rec, err := hs.store.ByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Pending || rec.SignedIn() || !rec.ExpiresAt.Equal(t0.Add(5*time.Minute)) || !slices.Equal(rec.AMR, []string{"pwd"}) {
		t.Fatalf("pending record: Pending %v, ExpiresAt %v, AMR %q; want pending, 5 min, [pwd]", rec.Pending, rec.ExpiresAt, rec.AMR)
	}
	// A signed-in session is not pending: the step finds nothing.
	full, _ := hs.login("alice", false)
	if w := hs.do("GET", "/pending", full); w.Code != 404 {
		t.Fatalf("PendingSession of a signed-in session: got %d, want 404", w.Code)
	}

	w := hs.do("POST", "/second-factor", tok)
	if w.Code != 200 {
		t.Fatalf("second factor: got %d %s", w.Code, w.Body)
	}
	newTok, _ := hs.tokenFrom(w)
	newID := w.Body.String()
	if newTok == "" || newTok == tok || newID == id {
		t.Fatal("SEC-10: the completed session kept the pending session's token or ID")
	}
	hs.wantStatus(newTok, http.StatusOK)
	hs.wantStatus(tok, http.StatusUnauthorized)
	s, err := hs.m.LiveSession(ctx, newID)
	if err != nil {
		t.Fatal(err)
	}
	if s.Pending || s.ACR != sesame.ACRTwoFactors || !slices.Equal(s.AMR, []string{"pwd", "otp"}) || !s.FactorTime.Equal(t0) {
		t.Fatalf("completed session: Pending %v ACR %q AMR %q FactorTime %v", s.Pending, s.ACR, s.AMR, s.FactorTime)
	}
	if !s.ExpiresAt.Equal(t0.Add(12 * time.Hour)) {
		t.Fatalf("completed session ExpiresAt %v, want the ordinary 12 h", s.ExpiresAt)
	}
	// The pending cookie replayed: completed already.
	if w := hs.do("POST", "/second-factor", tok); w.Code != http.StatusUnauthorized {
		t.Fatalf("completing twice: got %d, want 401", w.Code)
	}
}

// SEC-60: of concurrent completions of one pending session, exactly one
// succeeds.
func TestSEC60_PendingCompletesOnce(t *testing.T) {
	hs := pendingHarness(t)
	tok, _ := hs.loginPending("alice")
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = hs.do("POST", "/second-factor", tok).Code
		}()
	}
	wg.Wait()
	if n := countOf(codes, 200); n != 1 {
		t.Fatalf("concurrent completions: %v, want exactly one 200", codes)
	}
}

func countOf(xs []int, v int) int {
	n := 0
	for _, x := range xs {
		if x == v {
			n++
		}
	}
	return n
}

// A pending session lives PendingLifetime (5 min): valid up to and
// excluding its deadline, then gone.
func TestPendingSessionExpires(t *testing.T) {
	hs := pendingHarness(t)
	tok, _ := hs.loginPending("alice")
	hs.clock.Add(5*time.Minute - time.Nanosecond)
	if w := hs.do("GET", "/pending", tok); w.Code != 200 {
		t.Fatalf("just before 5 min: got %d, want the pending session", w.Code)
	}
	hs.clock.Add(time.Nanosecond)
	if w := hs.do("GET", "/pending", tok); w.Code != 404 {
		t.Fatalf("at 5 min: got %d, want no pending session", w.Code)
	}
	if w := hs.do("POST", "/second-factor", tok); w.Code != http.StatusUnauthorized {
		t.Fatalf("completing an expired pending session: got %d, want 401", w.Code)
	}
}

// The token transport: completion starts a token session and clears the
// pending cookie.
func TestCompletePendingTokens(t *testing.T) {
	hs := pendingHarness(t)
	tok, _ := hs.loginPending("alice")
	w := hs.do("POST", "/second-factor?tokens", tok)
	if w.Code != 200 {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	if v, c := hs.tokenFrom(w); c == nil || v != "" || c.MaxAge >= 0 {
		t.Fatalf("the pending cookie was not cleared: %v", c)
	}
	s, err := hs.m.LiveSession(context.Background(), w.Body.String())
	if err != nil || s.ACR != sesame.ACRTwoFactors {
		t.Fatalf("token session: %v, %v", s, err)
	}
}

// SEC-14: StepUp renews AuthTime (and FactorTime with factor); a renewal
// of the token does not.
func TestSEC14_StepUpAndRenew(t *testing.T) {
	hs := newHarness(t, session.Config{})
	tok, id := hs.login("alice", false)
	hs.clock.Add(20 * time.Minute)
	if w := hs.do("POST", "/renew", tok); w.Code != 200 && w.Code != 204 {
		t.Fatalf("renew: %d", w.Code)
	}
	s, _ := hs.store.ByID(context.Background(), id)
	if !s.AuthTime.Equal(t0) {
		t.Fatalf("SEC-14: a renewal moved AuthTime to %v, want %v", s.AuthTime, t0)
	}
	s, err := hs.m.StepUp(context.Background(), id, false)
	if err != nil || !s.AuthTime.Equal(t0.Add(20*time.Minute)) || !s.FactorTime.IsZero() {
		t.Fatalf("StepUp: %+v, %v", s, err)
	}
	if got := s.StepUpTime(); !got.Equal(t0.Add(20 * time.Minute)) {
		t.Fatalf("StepUpTime of a one-factor session: got %v", got)
	}
	two := *s
	two.ACR, two.FactorTime = sesame.ACRTwoFactors, t0
	if got := two.StepUpTime(); !got.Equal(t0) {
		t.Fatalf("SEC-14: StepUpTime of a two-factor session with an old factor: got %v, want %v", got, t0)
	}
}
