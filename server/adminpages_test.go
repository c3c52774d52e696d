package server_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
)

// usernamesOn lists the users of an admin page's table, in order.
func usernamesOn(page string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<tr data-user="([^"]+)">`).FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

// The admin table pages through the users 50 at a time in username order,
// and searches by username prefix; the pager links lead through every
// matching user once.
func TestAdminPageSearchAndPaging(t *testing.T) {
	e := newEnv(t)
	root := e.admin()
	now := time.Now().UTC()
	for i := range 120 {
		u := &sesame.User{ID: fmt.Sprintf("id-%03d", i), Username: fmt.Sprintf("user%03d", i), PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
		if i%2 == 1 {
			u.Username = fmt.Sprintf("member%03d", i)
		}
		if err := e.accounts.Users.CreateUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	get := func(path string) string {
		t.Helper()
		return string(root.want(root.do("GET", path, nil, "Accept", "text/html"), 200).body)
	}
	page := get("/admin")
	names := usernamesOn(page)
	if len(names) != 50 || names[0] != "member001" || names[49] != "member099" {
		t.Fatalf("first page: got %d users %v", len(names), names)
	}
	if !strings.Contains(page, `href="/admin?after=member099"`) {
		t.Fatal("first page: no link to the next page")
	}
	// Every page through the end: 121 users (with root), each once.
	seen := map[string]bool{}
	for next := "/admin"; next != ""; {
		page := get(next)
		for _, n := range usernamesOn(page) {
			if seen[n] {
				t.Fatalf("%s listed twice", n)
			}
			seen[n] = true
		}
		next = ""
		if m := regexp.MustCompile(`id="next-page" rel="next"`).FindStringIndex(page); m != nil {
			i := strings.LastIndex(page[:m[0]], `href="`)
			next = strings.ReplaceAll(page[i+len(`href="`):m[0]-2], "&amp;", "&")
		}
	}
	if len(seen) != 121 {
		t.Fatalf("paging saw %d users, want 121", len(seen))
	}
	// Search: a prefix, case-insensitive in the box, paged too.
	page = get("/admin?q=+USER1")
	names = usernamesOn(page)
	if len(names) != 10 || names[0] != "user100" || names[9] != "user118" || strings.Contains(page, "next-page") {
		t.Fatalf("search user1: got %v", names)
	}
	if !strings.Contains(page, `value="user1"`) {
		t.Fatal("search: the box does not keep the query")
	}
	if names := usernamesOn(get("/admin?q=member&after=member011")); len(names) != 50 || names[0] != "member013" {
		t.Fatalf("search member after member011: got %v", names)
	}
	if page := get("/admin?q=nobody"); len(usernamesOn(page)) != 0 || !strings.Contains(page, `id="no-users"`) {
		t.Fatal("search nobody: want the empty message")
	}
}

// Every admin action has a confirm page (GET, changes nothing) whose form
// does it; the actions land on the user's page with a notice.
func TestAdminConfirmSteps(t *testing.T) {
	e := newEnv(t)
	root := e.admin()
	alice := e.client()
	alice.signup("alice", pw)
	alice.login("alice", pw, false)
	get := func(path string, status int) string {
		t.Helper()
		return string(root.want(root.do("GET", path, nil, "Accept", "text/html"), status).body)
	}
	page := get("/admin/users/alice", 200)
	for _, want := range []string{`id="user-name">alice<`, `href="/admin/users/alice/confirm/block"`, `href="/admin/users/alice/confirm/signout"`, `class="device-name"`} {
		if !strings.Contains(page, want) {
			t.Errorf("user page lacks %q", want)
		}
	}
	for action, post := range map[string]string{"block": "/admin/users/alice/block", "unblock": "/admin/users/alice/unblock",
		"signout": "/admin/users/alice/signout", "groups": "/admin/users/alice/groups"} {
		page := get("/admin/users/alice/confirm/"+action, 200)
		if !strings.Contains(page, `action="`+post+`"`) || !strings.Contains(page, `id="confirm"`) || !strings.Contains(page, `href="/admin/users/alice"`) {
			t.Errorf("confirm %s: want a form posting to %s and a way back", action, post)
		}
	}
	if alice.me() != 200 {
		t.Fatal("a confirm page changed something")
	}
	get("/admin/users/alice/confirm/explode", 404)
	get("/admin/users/nobody/confirm/block", 404)
	get("/admin/users/root/confirm/block", 403) // not your own account
	if r := alice.do("GET", "/admin/users/root/confirm/signout", nil, "Accept", "text/html"); r.StatusCode != 403 {
		t.Fatalf("confirm page for a non-admin: got %d, want 403", r.StatusCode)
	}
	r := root.do("POST", "/admin/users/alice/signout", form())
	wantRedirect(t, r, "/admin/users/alice?done=signedout")
	if alice.me() != 401 {
		t.Fatal("sign out everywhere left alice's session alive")
	}
	if ev := e.events(sesame.EventSessionRevoked); len(ev) == 0 || ev[len(ev)-1]["reason"] != "revoked by admin root" {
		t.Errorf("sign out everywhere: audit %v, want session.revoked naming the admin", ev)
	}
	if page := get("/admin/users/alice?done=signedout", 200); !strings.Contains(page, "Every session of the user was signed out.") || !strings.Contains(page, `id="no-sessions"`) {
		t.Error("user page after sign out: want the notice and no session")
	}
	_ = http.StatusOK
}
