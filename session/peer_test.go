package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
)

// RevokeAsPeer deletes the session in the store without telling the view
// directly; it returns once the view has seen it (through its sync of the
// change feed), the session is refused, and the revocation is audited.
func TestRevokeAsPeer(t *testing.T) {
	hs := newHarness(t, session.Config{})
	tok, id := hs.login("alice", false)
	other, _ := hs.login("alice", false)
	hs.wantStatus(tok, 200) // held in the view
	took, seen, err := hs.m.RevokeAsPeer(context.Background(), id, "peer test", 10*time.Second)
	if err != nil || !seen || took <= 0 {
		t.Fatalf("RevokeAsPeer: took %v, seen %v, err %v", took, seen, err)
	}
	hs.wantStatus(tok, 401)
	hs.wantStatus(other, 200)
	if n := hs.events(sesame.EventSessionRevoked); n != 1 {
		t.Errorf("session.revoked events: %d, want 1", n)
	}
	// A session that does not exist is never seen revoked: the wait ends.
	if _, seen, err := hs.m.RevokeAsPeer(context.Background(), "no-such-session", "peer test", 50*time.Millisecond); err != nil || seen {
		t.Errorf("unknown session: seen %v, err %v; want not seen, no error", seen, err)
	}
}
