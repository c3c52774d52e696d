package storetest

import (
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
)

// newAnonymous returns an anonymous session (no user) as the session
// manager makes them: no device, no AuthTime, data.
func newAnonymous() *sesame.Session {
	s := newSession("")
	s.Device, s.AuthTime = sesame.Device{}, time.Time{}
	s.Data = map[string][]byte{"cart": []byte(`["book"]`)}
	return s
}

// testAnonymousSession: an empty user ID is stored and read back as empty,
// survives Update, Touch and Delete like any session, and is nobody's: no
// user listing or user deletion (not even for "") returns or removes it.
func testAnonymousSession(t *testing.T, s session.Store) {
	anon := create(t, s, newAnonymous())
	alice := create(t, s, newSession("alice"))
	got, err := s.ByToken(ctx(), anon.TokenHash)
	must(t, "ByToken(anonymous)", err)
	equal(t, got, anon)
	got, err = s.ByID(ctx(), anon.ID)
	must(t, "ByID(anonymous)", err)
	equal(t, got, anon)

	got.Data["cart"] = []byte(`["book","pen"]`)
	got.TokenHash, got.PrevTokenHash, got.PrevValidUntil = randHash(), anon.TokenHash, base.Add(time.Minute)
	must(t, "Update(anonymous)", s.Update(ctx(), got))
	again, err := s.ByToken(ctx(), got.TokenHash)
	must(t, "ByToken(anonymous, new token)", err)
	if again.UserID != "" || string(again.Data["cart"]) != `["book","pen"]` || again.Version != got.Version {
		t.Fatalf("anonymous session after Update: user %q data %q version %d; want \"\", the new cart, %d",
			again.UserID, again.Data["cart"], again.Version, got.Version)
	}
	must(t, "Touch(anonymous)", s.Touch(ctx(), anon.ID, base.Add(time.Minute)))

	for _, user := range []string{"", "alice", "nobody"} {
		list, err := s.ListByUser(ctx(), user)
		must(t, "ListByUser", err)
		for _, x := range list {
			if x.UserID == "" || x.ID == anon.ID {
				t.Fatalf("ListByUser(%q) returned the anonymous session", user)
			}
		}
		if user == "" && len(list) != 0 {
			t.Fatalf("ListByUser(\"\"): got %d sessions, want none", len(list))
		}
	}
	ids, err := s.DeleteByUser(ctx(), "", "")
	must(t, "DeleteByUser(\"\")", err)
	if len(ids) != 0 {
		t.Fatalf("DeleteByUser(\"\"): removed %v, want nothing", ids)
	}
	ids, err = s.DeleteByUser(ctx(), "alice", "")
	must(t, "DeleteByUser(alice)", err)
	if len(ids) != 1 || ids[0] != alice.ID {
		t.Fatalf("DeleteByUser(alice): got %v, want [%s]", ids, alice.ID)
	}
	if _, err := s.ByID(ctx(), anon.ID); err != nil {
		t.Fatalf("the anonymous session after the user deletions: %v", err)
	}

	_, _, err = s.Changes(ctx(), 0, 1)
	must(t, "Changes", err)
	deleted, err := s.Delete(ctx(), anon.ID)
	must(t, "Delete(anonymous)", err)
	if !deleted {
		t.Fatal("Delete(anonymous): got deleted=false, want true")
	}
	_, err = s.ByToken(ctx(), got.TokenHash)
	wantNotFound(t, "ByToken after Delete", err)
	changes, _, err := s.Changes(ctx(), 0, 1000)
	must(t, "Changes", err)
	found := false
	for _, c := range changes {
		if c.SessionID == anon.ID && c.Kind == session.ChangeRevoked {
			found = true
			if c.UserID != "" {
				t.Errorf("revocation of the anonymous session: UserID %q, want empty", c.UserID)
			}
		}
	}
	if !found {
		t.Fatal("the anonymous session's deletion is not in the change feed")
	}

	// The cleaner removes an expired anonymous session like any other.
	c, ok := s.(session.Cleaner)
	if !ok {
		return
	}
	old := create(t, s, newAnonymous())
	_, err = c.DeleteExpired(ctx(), old.ExpiresAt, time.Hour, 100)
	must(t, "DeleteExpired", err)
	_, err = s.ByID(ctx(), old.ID)
	wantNotFound(t, "expired anonymous session after DeleteExpired", err)
}
