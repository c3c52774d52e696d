package server_test

import (
	"testing"

	"github.com/sesame-auth/sesame/server"
	"github.com/sesame-auth/sesame/session"
)

// SEC-65: the first position event of a stream comes only after its whole
// catch-up. A verifier counts itself fresh from that event; before the fix
// a catch-up longer than 100 reads sent a position in the middle and the
// rest only at the next heartbeat (15 s by default), so a session revoked
// long ago, past that point, was accepted meanwhile by a verifier that had
// just primed or reconnected.
func TestRevocationStreamPositionAfterWholeCatchUp(t *testing.T) {
	defer server.SetStreamPageSize(1)() // one change per read: 100 reads are few
	e, c := streamEnv(t)
	start := feedPosition(t, c)
	want := map[string]bool{}
	for range 120 {
		sess, err := e.sessions.StartTokenSession(t.Context(), "alice", session.LoginOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.sessions.Revoke(t.Context(), sess.ID, "test"); err != nil {
			t.Fatal(err)
		}
		want[sess.ID] = true
	}
	end := feedPosition(t, c)
	s := openStream(t, e.srv.Client(), e.srv.URL+"/api/v1/revocations/stream?since="+itoa(start))
	for {
		ev := s.nextEvent()
		if ev.typ == "position" {
			if ev.id != itoa(end) || len(want) != 0 {
				t.Fatalf("first position %s with %d revocations still unsent; want position %d after all of them", ev.id, len(want), end)
			}
			return
		}
		delete(want, decodeRev(t, ev).SID)
	}
}
