package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/config"
)

// groupsOf reads a user's groups from the store, past every cache.
func (e *env) groupsOf(name string) []string {
	e.t.Helper()
	g, err := e.accounts.Groups(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return g
}

const groupsPath = "/api/v1/admin/users/alice/groups"

// TestAdminGroupsAPI: an administrator lists and replaces a user's groups;
// names are normalised; the change is audited and shown in the user list.
func TestAdminGroupsAPI(t *testing.T) {
	e := newEnv(t)
	root := e.admin()
	e.client().signup("alice", pw)

	var got struct{ Groups []string }
	r := root.want(root.do("GET", groupsPath, nil), 200)
	if string(r.body) != "{\"groups\":[]}\n" && string(r.body) != `{"groups":[]}` {
		t.Fatalf("GET groups of a user in none: got %s, want {\"groups\":[]}", r.body)
	}
	root.want(root.do("PUT", groupsPath, map[string]any{"groups": []string{"Ops", "dev", "ops"}}), 200).json(t, &got)
	if !slices.Equal(got.Groups, []string{"dev", "ops"}) {
		t.Fatalf("PUT answer: got %v, want [dev ops]", got.Groups)
	}
	if g := e.groupsOf("alice"); !slices.Equal(g, []string{"dev", "ops"}) {
		t.Fatalf("stored groups: got %v, want [dev ops]", g)
	}
	root.want(root.do("GET", "/api/v1/admin/users/ALICE/groups", nil), 200).json(t, &got)
	if !slices.Equal(got.Groups, []string{"dev", "ops"}) {
		t.Fatalf("GET after PUT: got %v, want [dev ops]", got.Groups)
	}
	var users struct{ Users []sesame.PublicUser }
	root.want(root.do("GET", "/api/v1/admin/users", nil), 200).json(t, &users)
	for _, u := range users.Users {
		if u.Username == "alice" && !slices.Equal(u.Groups, []string{"dev", "ops"}) {
			t.Fatalf("admin user list: alice's groups %v, want [dev ops]", u.Groups)
		}
	}
	ev := e.events(sesame.EventGroupsChanged)
	if len(ev) != 1 || ev[0]["username"] != "alice" || ev[0]["reason"] != "added dev,ops" {
		t.Fatalf("audit: got %v, want one user.groups_changed for alice, added dev,ops", ev)
	}
	// The same list again changes nothing and records nothing.
	root.want(root.do("PUT", groupsPath, map[string]any{"groups": []string{"ops", "dev"}}), 200)
	if n := len(e.events(sesame.EventGroupsChanged)); n != 1 {
		t.Fatalf("audit after a PUT that changed nothing: got %d events, want 1", n)
	}
	// An empty list removes them all.
	root.want(root.do("PUT", groupsPath, map[string]any{"groups": []string{}}), 200).json(t, &got)
	if len(got.Groups) != 0 || got.Groups == nil || len(e.groupsOf("alice")) != 0 {
		t.Fatalf("PUT []: got %#v, stored %v; want [] and none", got.Groups, e.groupsOf("alice"))
	}
	// An unknown user is 404 in the API's error shape.
	r = root.do("PUT", "/api/v1/admin/users/nobody/groups", map[string]any{"groups": []string{"ops"}})
	if r.StatusCode != 404 || r.errCode(t) != "not_found" {
		t.Fatalf("PUT for an unknown user: got %d %s, want 404 not_found", r.StatusCode, r.body)
	}
	// Other methods on the path: 405 naming the ones it has.
	r = root.do("POST", groupsPath, map[string]any{"groups": []string{"ops"}})
	if r.StatusCode != 405 || r.Header.Get("Allow") != "GET, HEAD, PUT" {
		t.Fatalf("POST groups: got %d, Allow %q; want 405, Allow GET, HEAD, PUT", r.StatusCode, r.Header.Get("Allow"))
	}
}

// TestAdminGroupsRefusesCallers: only an administrator reads or changes
// groups: a signed-in user gets 403, an anonymous caller 401, and neither
// changes anything (a user cannot put themselves in a group).
func TestAdminGroupsRefusesCallers(t *testing.T) {
	e := newEnv(t)
	root := e.admin()
	alice := e.client()
	alice.signup("alice", pw)
	alice.login("alice", pw, false)
	root.want(root.do("PUT", groupsPath, map[string]any{"groups": []string{"staff"}}), 200)
	anon := e.client()
	for _, c := range []struct {
		name   string
		who    *client
		status int
		code   string
	}{
		{"user", alice, 403, "forbidden"},
		{"anonymous", anon, 401, "unauthenticated"},
	} {
		for _, m := range []string{"GET", "PUT"} {
			var body any
			if m == "PUT" {
				body = map[string]any{"groups": []string{"admins", "staff"}}
			}
			r := c.who.do(m, groupsPath, body)
			if r.StatusCode != c.status || r.errCode(t) != c.code {
				t.Errorf("%s %s: got %d %s, want %d %s", c.name, m, r.StatusCode, r.body, c.status, c.code)
			}
		}
		r := c.who.do("POST", "/admin/users/alice/groups", url.Values{"groups": {"admins"}})
		if r.StatusCode != c.status && !(c.status == 401 && r.StatusCode == http.StatusSeeOther) {
			t.Errorf("%s form: got %d, want %d", c.name, r.StatusCode, c.status)
		}
	}
	if g := e.groupsOf("alice"); !slices.Equal(g, []string{"staff"}) {
		t.Fatalf("groups after refused requests: got %v, want [staff]", g)
	}
}

// TestAdminGroupsInvalid: bad input is 400 (415 for a body that is not
// JSON, SEC-40) with the API's error shape, never a 500, and changes
// nothing.
func TestAdminGroupsInvalid(t *testing.T) {
	e := newEnv(t)
	root := e.admin()
	e.client().signup("alice", pw)
	root.want(root.do("PUT", groupsPath, map[string]any{"groups": []string{"ops"}}), 200)
	tooMany := make([]string, sesame.MaxGroupsPerUser+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("g%02d", i)
	}
	cases := []struct {
		name   string
		body   any
		hdr    []string
		status int
		msg    string // a part of the error message
	}{
		{"space in a name", map[string]any{"groups": []string{"ops", "a b"}}, nil, 400, "invalid"},
		{"comma in a name", map[string]any{"groups": []string{"a,b"}}, nil, 400, "invalid"},
		{"colon in a name", map[string]any{"groups": []string{"group:x"}}, nil, 400, "invalid"},
		{"empty name", map[string]any{"groups": []string{""}}, nil, 400, "required"},
		{"leading dot", map[string]any{"groups": []string{".x"}}, nil, 400, "invalid"},
		{"too long", map[string]any{"groups": []string{strings.Repeat("a", 65)}}, nil, 400, "too long"},
		{"non-ASCII", map[string]any{"groups": []string{"ädmin"}}, nil, 400, "invalid"},
		{"control character", map[string]any{"groups": []string{"a\nb"}}, nil, 400, "invalid"},
		{"too many", map[string]any{"groups": tooMany}, nil, 400, "too many"},
		{"missing groups", map[string]any{}, nil, 400, "required"},
		{"null groups", `{"groups":null}`, nil, 400, "required"},
		{"a string", `{"groups":"ops"}`, nil, 400, ""},
		{"numbers", `{"groups":[1,2]}`, nil, 400, ""},
		{"unknown field", `{"groups":["ops"],"admin":true}`, nil, 400, ""},
		{"two objects", `{"groups":["ops"]}{"groups":[]}`, nil, 400, ""},
		{"not JSON", `groups=ops`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "application/json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := root.do("PUT", groupsPath, tc.body, tc.hdr...)
			var b struct {
				Error struct{ Code, Message string }
			}
			r.json(t, &b)
			if r.StatusCode != tc.status || b.Error.Code == "" || !strings.Contains(b.Error.Message, tc.msg) {
				t.Fatalf("got %d %s, want %d with an error message containing %q", r.StatusCode, r.body, tc.status, tc.msg)
			}
		})
	}
	if g := e.groupsOf("alice"); !slices.Equal(g, []string{"ops"}) {
		t.Fatalf("groups after bad input: got %v, want [ops]", g)
	}
}

// TestAdminPageGroups: the admin page shows each user's groups and saves
// them from its form (with the page's CSRF token); a cross-site form post,
// or one without the token, is refused (SEC-36, SEC-37) and changes
// nothing.
func TestAdminPageGroups(t *testing.T) {
	e := newEnv(t)
	root := e.admin()
	e.client().signup("alice", pw)

	r := root.do("POST", "/admin/users/alice/groups", url.Values{"groups": {"Wiki, ops  dev"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/users/alice?done=groups" {
		t.Fatalf("form: got %d to %q, want 303 to /admin/users/alice?done=groups", r.StatusCode, r.Header.Get("Location"))
	}
	if g := e.groupsOf("alice"); !slices.Equal(g, []string{"dev", "ops", "wiki"}) {
		t.Fatalf("after the form: got %v, want [dev ops wiki]", g)
	}
	page := string(root.want(root.do("GET", "/admin/users/alice?done=groups", nil, "Accept", "text/html"), 200).body)
	for _, want := range []string{`action="/admin/users/alice/confirm/groups"`, `value="dev, ops, wiki"`, "groups were saved"} {
		if !strings.Contains(page, want) {
			t.Fatalf("user page: want it to contain %q; got:\n%s", want, page)
		}
	}
	// The confirm step shows the change and posts it.
	page = string(root.want(root.do("GET", "/admin/users/alice/confirm/groups?groups=dev+ops", nil, "Accept", "text/html"), 200).body)
	for _, want := range []string{`action="/admin/users/alice/groups"`, `name="groups" value="dev, ops"`, "Groups now: dev, ops, wiki.", "Groups after: dev, ops.", `name="csrf_token"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("confirm page: want it to contain %q; got:\n%s", want, page)
		}
	}

	// An invalid name is refused on the page, with the reason.
	r = root.do("POST", "/admin/users/alice/groups", url.Values{"groups": {"ok, b@d"}}, "Accept", "text/html")
	if r.StatusCode != 400 || !strings.Contains(string(r.body), "invalid") {
		t.Fatalf("invalid name in the form: got %d, want 400 naming the problem", r.StatusCode)
	}

	// Cross-site: an attacker's page posting the form with the admin's
	// cookies, with or without a token.
	attacks := []struct {
		name string
		vals url.Values
		hdr  []string
	}{
		{"cross-site with a token", url.Values{"groups": {"evil"}, "csrf_token": {root.csrfToken()}}, []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}},
		{"cross-site without Origin", url.Values{"groups": {"evil"}}, []string{"Origin", "", "Sec-Fetch-Site", "cross-site"}},
		{"same-origin without a token", url.Values{"groups": {"evil"}, "csrf_token": {""}}, nil},
		{"same-origin with a forged token", url.Values{"groups": {"evil"}, "csrf_token": {"AAAA"}}, nil},
	}
	for _, a := range attacks {
		root.noCSRF = true
		r := root.do("POST", "/admin/users/alice/groups", a.vals, a.hdr...)
		root.noCSRF = false
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: got %d, want 403", a.name, r.StatusCode)
		}
	}
	if g := e.groupsOf("alice"); !slices.Equal(g, []string{"dev", "ops", "wiki"}) {
		t.Fatalf("after refused forms: got %v, want [dev ops wiki]", g)
	}
	// Saving an empty field removes every group.
	root.want(root.do("POST", "/admin/users/alice/groups", url.Values{"groups": {""}}), http.StatusSeeOther)
	if g := e.groupsOf("alice"); len(g) != 0 {
		t.Fatalf("after an empty form: got %v, want none", g)
	}
}

// tokenGroups decodes the groups claim of an access token (the signature
// is the server's business; its middleware checks it on every request).
func tokenGroups(t *testing.T, tok string) (groups []string, present bool) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("access token %q is not a JWS", tok)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	raw, ok := claims["groups"]
	if !ok {
		return nil, false
	}
	if err := json.Unmarshal(raw, &groups); err != nil {
		t.Fatalf("groups claim %s: %v", raw, err)
	}
	return groups, true
}

// TestGroupsClaim: with groups_claim on, every access token carries the
// user's groups as they are when it is signed (a change shows in the next
// refresh, and in a session exchange); off (the default), no token
// carries a groups claim.
func TestGroupsClaim(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("groups_claim=%v", on), func(t *testing.T) {
			cfg := config.Default()
			cfg.DB = filepath.Join(t.TempDir(), "sesame.db")
			cfg.GroupsClaim = on
			e := newEnvConfig(t, cfg)
			root := e.admin()
			app := e.client()
			app.origin = ""
			app.signup("alice", pw)
			root.want(root.do("PUT", groupsPath, map[string]any{"groups": []string{"ops", "dev"}}), 200)

			want := func(what, tok string, groups []string) {
				t.Helper()
				got, present := tokenGroups(t, tok)
				switch {
				case !on && present:
					t.Fatalf("%s: groups claim %v with groups_claim off, want none", what, got)
				case on && len(groups) == 0 && present:
					t.Fatalf("%s: groups claim %v for a user in no group, want it omitted", what, got)
				case on && !slices.Equal(got, groups):
					t.Fatalf("%s: groups claim %v, want %v", what, got, groups)
				}
				if e.meBearer(tok) != 200 {
					t.Fatalf("%s: the token is not accepted", what)
				}
			}
			p := app.loginHeader("alice", pw)
			want("login", p.AccessToken, []string{"dev", "ops"})

			root.want(root.do("PUT", groupsPath, map[string]any{"groups": []string{"wiki"}}), 200)
			var next pairBody
			app.want(app.refresh(p.RefreshToken), 200).json(t, &next)
			want("refresh after a change", next.AccessToken, []string{"wiki"})

			// A change made outside this server (the CLI, another node).
			if _, err := e.accounts.AddGroups(context.Background(), "alice", "admins"); err != nil {
				t.Fatal(err)
			}
			var third pairBody
			app.want(app.refresh(next.RefreshToken), 200).json(t, &third)
			want("refresh after a change elsewhere", third.AccessToken, []string{"admins", "wiki"})

			root.want(root.do("PUT", groupsPath, map[string]any{"groups": []string{}}), 200)
			var fourth pairBody
			app.want(app.refresh(third.RefreshToken), 200).json(t, &fourth)
			want("refresh after removing all", fourth.AccessToken, nil)
		})
	}
}
