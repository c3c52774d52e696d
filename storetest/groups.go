package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
)

// wantGroups reads the user back by ID, by name and in the list, and checks
// its groups each time.
func wantGroups(t *testing.T, s sesame.UserStore, u *sesame.User, want []string) {
	t.Helper()
	byID, err := s.UserByID(ctx(), u.ID)
	must(t, "UserByID", err)
	byName, err := s.UserByName(ctx(), u.Username)
	must(t, "UserByName", err)
	list, err := s.ListUsers(ctx())
	must(t, "ListUsers", err)
	var listed *sesame.User
	for _, l := range list {
		if l.ID == u.ID {
			listed = l
		}
	}
	if listed == nil {
		t.Fatalf("ListUsers: %s is missing", u.Username)
	}
	for what, got := range map[string]*sesame.User{"UserByID": byID, "UserByName": byName, "ListUsers": listed} {
		if !slices.Equal(got.Groups, want) || (want == nil) != (got.Groups == nil) {
			t.Fatalf("%s groups: got %#v, want %#v", what, got.Groups, want)
		}
	}
}

func testGroupsCreateAndRead(t *testing.T, s sesame.UserStore) {
	u := newUser("alice")
	u.Groups = []string{"ops", "admins", "a.b_c-d"} // unsorted: stored sorted
	must(t, "CreateUser", s.CreateUser(ctx(), u))
	wantGroups(t, s, u, []string{"a.b_c-d", "admins", "ops"})
}

func testGroupsChange(t *testing.T, s sesame.UserStore) {
	u := newUser("alice")
	must(t, "CreateUser", s.CreateUser(ctx(), u))
	other := newUser("bob")
	other.Groups = []string{"bobs"}
	must(t, "CreateUser", s.CreateUser(ctx(), other))
	at := base.Add(time.Hour + 42)
	steps := []struct {
		name   string
		change sesame.GroupChange
		want   []string
	}{
		{"add", sesame.GroupChange{Add: []string{"ops", "dev"}, At: at}, []string{"dev", "ops"}},
		{"add again is no change", sesame.GroupChange{Add: []string{"ops"}}, []string{"dev", "ops"}},
		{"add and remove", sesame.GroupChange{Add: []string{"wiki"}, Remove: []string{"dev", "nope"}}, []string{"ops", "wiki"}},
		{"replace", sesame.GroupChange{Replace: true, Add: []string{"z", "a", "a"}}, []string{"a", "z"}},
		{"remove all", sesame.GroupChange{Remove: []string{"a", "z"}}, nil},
		{"replace with none", sesame.GroupChange{Replace: true}, nil},
		{"add to none", sesame.GroupChange{Add: []string{"ops"}}, []string{"ops"}},
	}
	for _, st := range steps {
		got, err := s.ChangeGroups(ctx(), u.ID, st.change)
		must(t, "ChangeGroups "+st.name, err)
		if !slices.Equal(got, st.want) {
			t.Fatalf("ChangeGroups %s: returned %v, want %v", st.name, got, st.want)
		}
		wantGroups(t, s, u, st.want)
	}
	// UpdatedAt took the first change's At (the later ones had none).
	got, err := s.UserByID(ctx(), u.ID)
	must(t, "UserByID", err)
	if !got.UpdatedAt.Equal(at) {
		t.Fatalf("UpdatedAt: got %v, want %v", got.UpdatedAt, at)
	}
	// The other user is untouched.
	wantGroups(t, s, other, []string{"bobs"})
}

func testGroupsEmpty(t *testing.T, s sesame.UserStore) {
	u := newUser("alice")
	u.Groups = []string{}
	must(t, "CreateUser", s.CreateUser(ctx(), u))
	wantGroups(t, s, u, nil)
	got, err := s.ChangeGroups(ctx(), u.ID, sesame.GroupChange{Remove: []string{"ops"}, At: base.Add(time.Hour)})
	must(t, "ChangeGroups", err)
	if got != nil {
		t.Fatalf("ChangeGroups: got %#v, want nil", got)
	}
	// Nothing changed, so UpdatedAt did not either.
	after, err := s.UserByID(ctx(), u.ID)
	must(t, "UserByID", err)
	if !after.UpdatedAt.Equal(base) {
		t.Fatalf("UpdatedAt after a change that changed nothing: got %v, want %v", after.UpdatedAt, base)
	}
}

// testGroupsUpdateUserKeepsThem: a password change or block written with a
// record read before a group change does not undo that change.
func testGroupsUpdateUserKeepsThem(t *testing.T, s sesame.UserStore) {
	u := newUser("alice")
	u.Groups = []string{"ops"}
	must(t, "CreateUser", s.CreateUser(ctx(), u))
	stale, err := s.UserByID(ctx(), u.ID)
	must(t, "UserByID", err)
	_, err = s.ChangeGroups(ctx(), u.ID, sesame.GroupChange{Add: []string{"dev"}})
	must(t, "ChangeGroups", err)
	stale.Blocked = true
	stale.Groups = nil
	must(t, "UpdateUser", s.UpdateUser(ctx(), stale))
	wantGroups(t, s, u, []string{"dev", "ops"})
}

func testGroupsInvalid(t *testing.T, s sesame.UserStore) {
	u := newUser("alice")
	u.Groups = []string{"ops"}
	must(t, "CreateUser", s.CreateUser(ctx(), u))
	tooMany := make([]string, sesame.MaxGroupsPerUser+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("g%03d", i)
	}
	for _, bad := range []struct {
		name   string
		change sesame.GroupChange
	}{
		{"upper case", sesame.GroupChange{Add: []string{"Ops"}}},
		{"space", sesame.GroupChange{Add: []string{"a b"}}},
		{"comma", sesame.GroupChange{Add: []string{"a,b"}}},
		{"empty", sesame.GroupChange{Add: []string{""}}},
		{"bad removal", sesame.GroupChange{Remove: []string{"a\x00"}}},
		{"too many", sesame.GroupChange{Add: tooMany}},
		{"too many replacing", sesame.GroupChange{Replace: true, Add: tooMany}},
	} {
		_, err := s.ChangeGroups(ctx(), u.ID, bad.change)
		if sesame.ErrorCode(err) != sesame.EInvalid {
			t.Fatalf("ChangeGroups %s: got %v, want an error with code %q", bad.name, err, sesame.EInvalid)
		}
		wantGroups(t, s, u, []string{"ops"})
	}
	// Exactly the limit is fine.
	_, err := s.ChangeGroups(ctx(), u.ID, sesame.GroupChange{Replace: true, Add: tooMany[:sesame.MaxGroupsPerUser]})
	must(t, "ChangeGroups to the limit", err)
	wantGroups(t, s, u, tooMany[:sesame.MaxGroupsPerUser])
	// CreateUser refuses invalid groups too, and creates nothing.
	v := newUser("bob")
	v.Groups = []string{"Bad Name"}
	if err := s.CreateUser(ctx(), v); sesame.ErrorCode(err) != sesame.EInvalid {
		t.Fatalf("CreateUser with an invalid group: got %v, want an error with code %q", err, sesame.EInvalid)
	}
	_, err = s.UserByName(ctx(), "bob")
	wantNotFound(t, "UserByName after a refused CreateUser", err)
}

func testGroupsNotFound(t *testing.T, s sesame.UserStore) {
	_, err := s.ChangeGroups(ctx(), "nope", sesame.GroupChange{Add: []string{"ops"}})
	if !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("ChangeGroups of a missing user: got %v, want ErrNotFound", err)
	}
}

// testGroupsConcurrent: concurrent additions and removals of different
// groups are all applied; none is lost to another's read-modify-write.
func testGroupsConcurrent(t *testing.T, s sesame.UserStore) {
	u := newUser("alice")
	const n = 16
	for i := range n {
		u.Groups = append(u.Groups, fmt.Sprintf("old%02d", i))
	}
	must(t, "CreateUser", s.CreateUser(ctx(), u))
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := s.ChangeGroups(ctx(), u.ID, sesame.GroupChange{Add: []string{fmt.Sprintf("new%02d", i)}})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := s.ChangeGroups(ctx(), u.ID, sesame.GroupChange{Remove: []string{fmt.Sprintf("old%02d", i)}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, "ChangeGroups", err)
	}
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("new%02d", i))
	}
	wantGroups(t, s, u, want)
}

// testGroupsCopies: a caller that modifies what it passed or got back does
// not change the stored user.
func testGroupsCopies(t *testing.T, s sesame.UserStore) {
	u := newUser("alice")
	u.Groups = []string{"dev", "ops"}
	must(t, "CreateUser", s.CreateUser(ctx(), u))
	u.Groups[0] = "evil"
	got, err := s.UserByID(ctx(), u.ID)
	must(t, "UserByID", err)
	got.Groups[0] = "evil"
	changed, err := s.ChangeGroups(ctx(), u.ID, sesame.GroupChange{Add: []string{"wiki"}})
	must(t, "ChangeGroups", err)
	changed[0] = "evil"
	wantGroups(t, s, u, []string{"dev", "ops", "wiki"})
}
