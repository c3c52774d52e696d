package session_test

import (
	"context"
	"testing"

	"github.com/sesame-auth/sesame/session"
)

// ViewStats (for metrics) counts what the view holds and how its lookups
// were answered: a cookie request for a session the view holds is a hit,
// one the view has not seen is a miss (the store is read, and the session
// cached); a revocation leaves the cache for the denylist.
func TestViewStats(t *testing.T) {
	hs := newHarness(t, session.Config{})
	st := hs.m.ViewStats()
	if !st.Trusted || st.Hits != 0 || st.Misses != 0 || st.Cached != 0 || st.SinceSync < 0 {
		t.Fatalf("a started manager: %+v", st)
	}
	tok, id := hs.login("alice", false)
	base := hs.m.ViewStats()
	hs.wantStatus(tok, 200)
	hs.wantStatus(tok, 200)
	st = hs.m.ViewStats()
	if st.Hits-base.Hits+st.Misses-base.Misses != 2 || st.Hits <= base.Hits {
		t.Fatalf("two lookups of a held session: before %+v, after %+v", base, st)
	}
	if st.Cached != 1 {
		t.Fatalf("cached %d, want 1", st.Cached)
	}
	unknown := []byte(tok) // well formed, of no session
	if unknown[0] == 'A' {
		unknown[0] = 'B'
	} else {
		unknown[0] = 'A'
	}
	hs.wantStatus(string(unknown), 401)
	if after := hs.m.ViewStats(); after.Misses <= st.Misses {
		t.Fatalf("an unknown token is not a miss: %+v", after)
	}
	if _, err := hs.m.Revoke(context.Background(), id, "test"); err != nil {
		t.Fatal(err)
	}
	st = hs.m.ViewStats()
	if st.Cached != 0 || st.Denylisted != 1 {
		t.Fatalf("after a revocation: %+v, want nothing cached and one denylisted", st)
	}
}
