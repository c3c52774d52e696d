package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
)

func newUser(name string) *sesame.User {
	return &sesame.User{ID: randHex(16), Username: name, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		CreatedAt: base, UpdatedAt: base}
}

func sameUser(t *testing.T, got, want *sesame.User) {
	t.Helper()
	if got.ID != want.ID || got.Username != want.Username || got.PasswordHash != want.PasswordHash ||
		got.Admin != want.Admin || got.Blocked != want.Blocked || !got.SessionsNotBefore.Equal(want.SessionsNotBefore) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) || !slices.Equal(got.Groups, want.Groups) {
		t.Fatalf("user: got %+v, want %+v", *got, *want)
	}
}

func testUserCreateAndRead(t *testing.T, s sesame.UserStore) {
	u := newUser("alice")
	u.Admin = true
	must(t, "CreateUser", s.CreateUser(ctx(), u))
	got, err := s.UserByID(ctx(), u.ID)
	must(t, "UserByID", err)
	sameUser(t, got, u)
	got, err = s.UserByName(ctx(), "alice")
	must(t, "UserByName", err)
	sameUser(t, got, u)
}

func testUserDuplicate(t *testing.T, s sesame.UserStore) {
	must(t, "CreateUser", s.CreateUser(ctx(), newUser("alice")))
	err := s.CreateUser(ctx(), newUser("alice"))
	if sesame.ErrorCode(err) != sesame.EConflict {
		t.Fatalf("duplicate username: got %v, want an error with code %q", err, sesame.EConflict)
	}
}

func testUserNotFound(t *testing.T, s sesame.UserStore) {
	_, err := s.UserByID(ctx(), "nope")
	wantNotFound(t, "UserByID", err)
	_, err = s.UserByName(ctx(), "nope")
	wantNotFound(t, "UserByName", err)
	err = s.UpdateUser(ctx(), newUser("nope"))
	if !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("UpdateUser of a missing user: got %v, want ErrNotFound", err)
	}
	// Names are exact: no case folding, no prefix match.
	must(t, "CreateUser", s.CreateUser(ctx(), newUser("alice")))
	for _, name := range []string{"Alice", "alic", "alice%", "alice "} {
		_, err = s.UserByName(ctx(), name)
		wantNotFound(t, "UserByName("+name+")", err)
	}
}

func testUserUpdate(t *testing.T, s sesame.UserStore) {
	u := newUser("alice")
	must(t, "CreateUser", s.CreateUser(ctx(), u))
	u.PasswordHash, u.Admin, u.Blocked, u.UpdatedAt = "$argon2id$new", true, true, base.Add(time.Hour)
	u.SessionsNotBefore = base.Add(time.Hour + 123456789) // nanoseconds survive
	must(t, "UpdateUser", s.UpdateUser(ctx(), u))
	got, err := s.UserByName(ctx(), "alice")
	must(t, "UserByName", err)
	sameUser(t, got, u)
	// Unblocking keeps SessionsNotBefore; the zero time reads back as zero.
	u.Blocked = false
	must(t, "UpdateUser", s.UpdateUser(ctx(), u))
	got, err = s.UserByID(ctx(), u.ID)
	must(t, "UserByID", err)
	sameUser(t, got, u)
	u.SessionsNotBefore = time.Time{}
	must(t, "UpdateUser", s.UpdateUser(ctx(), u))
	got, err = s.UserByID(ctx(), u.ID)
	must(t, "UserByID", err)
	if !got.SessionsNotBefore.IsZero() {
		t.Fatalf("SessionsNotBefore: got %v, want the zero time", got.SessionsNotBefore)
	}
}

func testUserList(t *testing.T, s sesame.UserStore) {
	for _, n := range []string{"carol", "alice", "bob"} {
		must(t, "CreateUser", s.CreateUser(ctx(), newUser(n)))
	}
	list, err := s.ListUsers(ctx())
	must(t, "ListUsers", err)
	var names []string
	for _, u := range list {
		names = append(names, u.Username)
	}
	if len(names) != 3 || names[0] != "alice" || names[1] != "bob" || names[2] != "carol" {
		t.Fatalf("ListUsers: got %v, want [alice bob carol]", names)
	}
}
