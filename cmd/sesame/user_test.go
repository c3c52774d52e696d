package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// userRow is one row of `sesame user list`.
type userRow struct{ role, status string }

// listUsers runs `sesame user list` and parses its table by username.
func (w *world) listUsers() map[string]userRow {
	w.t.Helper()
	r := w.mustRun(0, "", "user", "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "USERNAME") {
		w.t.Fatalf("user list: got %q, want a table with a USERNAME header", r.stdout)
	}
	rows := map[string]userRow{}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 3 {
			w.t.Fatalf("user list: got row %q, want USERNAME ROLE STATUS CREATED", line)
		}
		rows[f[0]] = userRow{role: f[1], status: f[2]}
	}
	return rows
}

// TestUserAddAndList: `user add` creates users from a password on standard
// input and `user list` shows their role and status.
func TestUserAddAndList(t *testing.T) {
	t.Parallel()
	w := newWorld(t)

	r := w.mustRun(0, canaryPassword+"\n", "user", "add", "--admin", "--password-stdin", "--create", "root")
	if want := "created administrator root"; !strings.Contains(r.stdout, want) {
		t.Errorf("user add --admin: got stdout %q, want %q", r.stdout, want)
	}
	// Names are normalised to lower case; the last line need not end in \n.
	r = w.mustRun(0, canaryPassword2, "user", "add", "--password-stdin", "Bob")
	if want := "created user bob"; !strings.Contains(r.stdout, want) {
		t.Errorf("user add: got stdout %q, want %q", r.stdout, want)
	}

	got := w.listUsers()
	want := map[string]userRow{
		"root": {role: "admin", status: "active"},
		"bob":  {role: "user", status: "active"},
	}
	if len(got) != len(want) {
		t.Errorf("user list: got %d users %v, want %d %v", len(got), got, len(want), want)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("user list %s: got %+v, want %+v", name, got[name], w)
		}
	}

	// The stored password is exactly the first line of stdin: both users
	// can log in with it, and not with the trailing newline.
	s := w.serve()
	c := w.client(s.url)
	c.login("root", canaryPassword)
	c.login("bob", canaryPassword2)
	if status, _ := c.loginStatus("root", canaryPassword+"\n"); status != http.StatusUnauthorized {
		t.Errorf("login with the newline kept: got status %d, want 401", status)
	}
}

// TestUserAddRefuses covers `user add` failures: none of them creates a
// user.
func TestUserAddRefuses(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.addUser("taken", canaryPassword, false)

	notTTY, err := os.Open(os.DevNull) // an *os.File that is not a terminal
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { notTTY.Close() })

	cases := []struct {
		name   string
		stdin  *os.File // nil: the password string below
		pw     string
		args   []string
		code   int
		stderr string
	}{
		{name: "duplicate", pw: canaryPassword2, args: []string{"--password-stdin", "taken"}, code: 1, stderr: "username is taken"},
		{name: "duplicate in other case", pw: canaryPassword2, args: []string{"--password-stdin", "TAKEN"}, code: 1, stderr: "username is taken"},
		{name: "too short", pw: "short7!", args: []string{"--password-stdin", "newbie"}, code: 1, stderr: "at least 8 characters"},
		{name: "empty password", pw: "", args: []string{"--password-stdin", "newbie"}, code: 1, stderr: "at least 8 characters"},
		{name: "common password", pw: "iloveyou", args: []string{"--password-stdin", "newbie"}, code: 1, stderr: "too common"},
		{name: "bad username", pw: canaryPassword2, args: []string{"--password-stdin", "no spaces"}, code: 1, stderr: "username may contain only"},
		{name: "missing NAME", pw: canaryPassword2, args: []string{"--password-stdin"}, code: 2, stderr: "exactly one NAME"},
		{name: "two NAMEs", pw: canaryPassword2, args: []string{"--password-stdin", "a1", "b1"}, code: 2, stderr: "exactly one NAME"},
		{name: "unknown flag", pw: canaryPassword2, args: []string{"--password-stdin", "--root", "newbie"}, code: 2, stderr: "root"},
		{name: "stdin reader without --password-stdin", pw: canaryPassword2, args: []string{"newbie"}, code: 2, stderr: "--password-stdin"},
		{name: "non-terminal file without --password-stdin", stdin: notTTY, args: []string{"newbie"}, code: 2, stderr: "--password-stdin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"user", "add", "--db", w.db}, tc.args...)
			var r result
			if tc.stdin != nil {
				r = w.runIn(tc.stdin, args...)
			} else {
				r = w.run(tc.pw+"\n", args...)
			}
			if r.code != tc.code {
				t.Fatalf("got exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("got stderr %q, want it to contain %q", r.stderr, tc.stderr)
			}
		})
	}

	if got := w.listUsers(); len(got) != 1 {
		t.Errorf("user list after refused adds: got %v, want only taken", got)
	}
}

// TestUserBlockOnRunningServer: `user block`, run while a server has a
// logged-in session of the user, ends that session on the server and
// refuses new logins; `user unblock` lets the user log in again, but the
// ended session stays dead.
func TestUserBlockOnRunningServer(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.addUser("admin", canaryPassword2, true)
	w.addUser("alice", canaryPassword, false)
	s := w.serve()
	c := w.client(s.url)

	aliceToken := c.login("alice", canaryPassword)
	adminToken := c.login("admin", canaryPassword2)
	if got := c.meStatus(aliceToken); got != http.StatusOK {
		t.Fatalf("GET /api/v1/me before block: got status %d, want 200", got)
	}

	r := w.mustRun(0, "", "user", "block", "alice")
	if want := "blocked alice"; !strings.Contains(r.stdout, want) {
		t.Errorf("user block: got stdout %q, want %q", r.stdout, want)
	}
	c.eventuallyMe(aliceToken, http.StatusUnauthorized)
	if status, _ := c.loginStatus("alice", canaryPassword); status != http.StatusForbidden {
		t.Errorf("login while blocked: got status %d, want 403", status)
	}
	if got := w.listUsers()["alice"].status; got != "blocked" {
		t.Errorf("user list: got alice %q, want blocked", got)
	}
	if got := c.meStatus(adminToken); got != http.StatusOK {
		t.Errorf("another user's session after the block: got status %d, want 200", got)
	}

	r = w.mustRun(0, "", "user", "unblock", "alice")
	if want := "unblocked alice"; !strings.Contains(r.stdout, want) {
		t.Errorf("user unblock: got stdout %q, want %q", r.stdout, want)
	}
	if got := w.listUsers()["alice"].status; got != "active" {
		t.Errorf("user list: got alice %q, want active", got)
	}
	fresh := c.login("alice", canaryPassword)
	if got := c.meStatus(fresh); got != http.StatusOK {
		t.Errorf("GET /api/v1/me with a session after unblock: got status %d, want 200", got)
	}
	// Blocking ended the session, not only hid it: unblocking does not
	// bring it back (once the block's revocation has reached the server
	// through the change feed, within its 200 ms sync interval).
	c.eventuallyMe(aliceToken, http.StatusUnauthorized)
}

// TestUserPasswdEndsSessions: `user passwd` sets the password and ends
// every session of the user on a running server.
func TestUserPasswdEndsSessions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.addUser("alice", canaryPassword, false)
	w.addUser("bob", canaryPassword, false)
	s := w.serve()
	c := w.client(s.url)
	aliceToken := c.login("alice", canaryPassword)
	bobToken := c.login("bob", canaryPassword)

	// A refused new password changes nothing.
	r := w.mustRun(1, "short\n", "user", "passwd", "--password-stdin", "alice")
	if want := "at least 8 characters"; !strings.Contains(r.stderr, want) {
		t.Errorf("user passwd with a short password: got stderr %q, want %q", r.stderr, want)
	}
	if got := c.meStatus(aliceToken); got != http.StatusOK {
		t.Fatalf("GET /api/v1/me after a refused passwd: got status %d, want 200", got)
	}

	r = w.mustRun(0, canaryPassword2+"\n", "user", "passwd", "--password-stdin", "alice")
	if want := "password set for alice"; !strings.Contains(r.stdout, want) {
		t.Errorf("user passwd: got stdout %q, want %q", r.stdout, want)
	}
	c.eventuallyMe(aliceToken, http.StatusUnauthorized)
	if status, _ := c.loginStatus("alice", canaryPassword); status != http.StatusUnauthorized {
		t.Errorf("login with the old password: got status %d, want 401", status)
	}
	c.login("alice", canaryPassword2)
	if got := c.meStatus(bobToken); got != http.StatusOK {
		t.Errorf("another user's session after passwd: got status %d, want 200", got)
	}
}

// TestUserCommandsRefuse covers block, unblock and passwd usage and
// unknown users.
func TestUserCommandsRefuse(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.addUser("alice", canaryPassword, false)
	cases := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"block unknown user", "", []string{"user", "block", "nobody"}, 1, "no such user"},
		{"unblock unknown user", "", []string{"user", "unblock", "nobody"}, 1, "no such user"},
		{"passwd unknown user", canaryPassword2 + "\n", []string{"user", "passwd", "--password-stdin", "nobody"}, 1, "no such user"},
		{"block without NAME", "", []string{"user", "block"}, 2, "exactly one NAME"},
		{"unblock with two NAMEs", "", []string{"user", "unblock", "alice", "bob"}, 2, "exactly one NAME"},
		{"passwd without NAME", canaryPassword2 + "\n", []string{"user", "passwd", "--password-stdin"}, 2, "exactly one NAME"},
		{"passwd without --password-stdin", canaryPassword2 + "\n", []string{"user", "passwd", "alice"}, 2, "--password-stdin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := w.runDB(tc.stdin, tc.args...)
			if r.code != tc.code {
				t.Fatalf("got exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("got stderr %q, want it to contain %q", r.stderr, tc.stderr)
			}
		})
	}
	for _, args := range [][]string{
		{"user", "list", "--db", "mysql://x"},
		{"user", "block", "--db", "mysql://x", "alice"},
		{"sessions", "list", "--db", "mysql://x"},
	} {
		r := w.run("", args...)
		if r.code != 2 || !strings.Contains(r.stderr, "mysql") {
			t.Errorf("sesame %s: got exit %d, stderr %q; want exit 2 naming mysql", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}

// TestCommandsRefuseToCreateADatabase: a database path that does not exist
// is probably a typo: every command but serve refuses it (exit 1) without
// creating anything, unless --create says so.
func TestCommandsRefuseToCreateADatabase(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	typo := filepath.Join(filepath.Dir(w.db), "typo.db")
	for _, args := range [][]string{
		{"user", "list", "--db", typo},
		{"user", "add", "--admin", "--password-stdin", "--db", typo, "root"},
		{"user", "block", "--db", typo, "root"},
		{"sessions", "list", "--db", typo},
		{"sessions", "revoke", "--db", typo, "--user", "root"},
		{"keys", "list", "--db", typo},
		{"keys", "rotate", "--db", typo},
	} {
		r := w.run(canaryPassword+"\n", args...)
		want := "no Sesame database at " + typo + " (run `sesame serve` once, or pass --create)"
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("sesame %s: got exit %d, stderr %q; want exit 1 and %q", strings.Join(args, " "), r.code, r.stderr, want)
		}
		entries, _ := os.ReadDir(filepath.Dir(typo))
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "typo") {
				t.Fatalf("sesame %s created %s", strings.Join(args, " "), e.Name())
			}
		}
	}
	w.mustRun(0, canaryPassword+"\n", "user", "add", "--admin", "--password-stdin", "--create", "root")
	if got := w.listUsers(); got["root"].role != "admin" {
		t.Fatalf("user add --create: got users %v", got)
	}
}
