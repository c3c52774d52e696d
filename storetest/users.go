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

// testUserSearch: SearchUsers pages through the users whose name starts
// with a prefix, in username order, each page after the last name of the
// one before, and never returns a user outside the prefix.
func testUserSearch(t *testing.T, s sesame.UserStore) {
	names := []string{"al", "alba", "alice", "alina", "allen", "am", "bob", "carol", "zed"}
	for _, n := range []string{"zed", "alice", "bob", "allen", "al", "carol", "alina", "am", "alba"} {
		must(t, "CreateUser", s.CreateUser(ctx(), newUser(n)))
	}
	page := func(prefix, after string, limit int) []string {
		t.Helper()
		list, err := s.SearchUsers(ctx(), prefix, after, limit)
		must(t, "SearchUsers", err)
		out := []string{}
		for _, u := range list {
			if u.ID == "" || u.PasswordHash == "" {
				t.Fatalf("SearchUsers: %s comes back without its ID or hash", u.Username)
			}
			out = append(out, u.Username)
		}
		return out
	}
	for _, c := range []struct {
		prefix, after string
		limit         int
		want          []string
	}{
		{"", "", 100, names},
		{"", "", 3, names[:3]},
		{"", "alice", 3, []string{"alina", "allen", "am"}},
		{"", "zed", 3, []string{}},
		{"al", "", 10, []string{"al", "alba", "alice", "alina", "allen"}},
		{"al", "", 2, []string{"al", "alba"}},
		{"al", "alba", 2, []string{"alice", "alina"}},
		{"al", "alina", 2, []string{"allen"}},
		{"al", "allen", 2, []string{}},
		{"al", "ab", 2, []string{"al", "alba"}}, // after sorts before the prefix: from the prefix's start
		{"ali", "", 10, []string{"alice", "alina"}},
		{"b", "", 10, []string{"bob"}},
		{"bobby", "", 10, []string{}},
		{"x", "", 10, []string{}},
		{"z", "", 10, []string{"zed"}},
		{"al", "", 0, []string{}},
	} {
		if got := page(c.prefix, c.after, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("SearchUsers(%q, after %q, %d): got %v, want %v", c.prefix, c.after, c.limit, got, c.want)
		}
	}
	// Paging to the end visits every matching user once.
	var all []string
	for after := ""; ; {
		p := page("a", after, 2)
		if len(p) == 0 {
			break
		}
		all = append(all, p...)
		after = p[len(p)-1]
	}
	if want := []string{"al", "alba", "alice", "alina", "allen", "am"}; !slices.Equal(all, want) {
		t.Errorf("paging through a*: got %v, want %v", all, want)
	}
}
