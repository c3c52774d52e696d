package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestUserGroups: `user groups` adds, removes and lists a user's groups in
// the deployment's database, prints only what it changed, and `user list`
// and `authz test` see the result.
func TestUserGroups(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.addUser("alice", canaryPassword, false)
	w.addUser("bob", canaryPassword, false)
	steps := []struct {
		name   string
		args   []string
		stdout string // exactly
	}{
		{"list none", []string{"list"}, ""},
		{"add", []string{"add", "Ops", "wiki", "ops"}, "added alice to ops, wiki\nalice's groups: ops, wiki\n"},
		{"add again", []string{"add", "ops"}, "no change: alice's groups were already as asked\nalice's groups: ops, wiki\n"},
		{"add one more", []string{"add", "dev", "wiki"}, "added alice to dev\nalice's groups: dev, ops, wiki\n"},
		{"remove", []string{"remove", "wiki", "absent"}, "removed alice from wiki\nalice's groups: dev, ops\n"},
		{"list", []string{"list"}, "dev\nops\n"},
		{"remove not a member", []string{"remove", "wiki"}, "no change: alice's groups were already as asked\nalice's groups: dev, ops\n"},
	}
	for _, st := range steps {
		r := w.mustRun(0, "", append([]string{"user", "groups", "ALICE"}, st.args...)...)
		if r.stdout != st.stdout {
			t.Fatalf("%s: got stdout %q, want %q", st.name, r.stdout, st.stdout)
		}
	}
	// bob is untouched; user list shows both.
	if r := w.mustRun(0, "", "user", "groups", "bob", "list"); r.stdout != "" {
		t.Errorf("bob's groups: got %q, want none", r.stdout)
	}
	list := w.mustRun(0, "", "user", "list").stdout
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "alice":
			if f[len(f)-1] != "dev,ops" {
				t.Errorf("user list alice: got %q, want it to end in dev,ops", line)
			}
		case "bob":
			if strings.Contains(line, "ops") {
				t.Errorf("user list bob: got %q, want no groups", line)
			}
		}
	}
	// Removing the last group leaves none.
	r := w.mustRun(0, "", "user", "groups", "alice", "remove", "dev", "ops")
	if want := "removed alice from dev, ops\nalice's groups: none\n"; r.stdout != want {
		t.Errorf("remove all: got %q, want %q", r.stdout, want)
	}
}

// TestUserGroupsRefuses: usage errors (exit 2) and failures (exit 1)
// change nothing and print nothing on stdout.
func TestUserGroupsRefuses(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.addUser("alice", canaryPassword, false)
	w.mustRun(0, "", "user", "groups", "alice", "add", "ops")
	many := []string{"user", "groups", "alice", "add"}
	for i := range 64 {
		many = append(many, fmt.Sprintf("g%02d", i)) // with ops, one too many
	}
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no action", []string{"user", "groups", "alice"}, 2, "add|remove|list"},
		{"unknown action", []string{"user", "groups", "alice", "set", "x"}, 2, `unknown action "set"`},
		{"add nothing", []string{"user", "groups", "alice", "add"}, 2, "at least one GROUP"},
		{"list with a group", []string{"user", "groups", "alice", "list", "ops"}, 2, "takes no GROUP"},
		{"invalid name", []string{"user", "groups", "alice", "add", "ops", "a b"}, 2, "invalid"},
		{"separator", []string{"user", "groups", "alice", "add", "ops,dev"}, 2, "invalid"},
		{"too long", []string{"user", "groups", "alice", "add", strings.Repeat("a", 65)}, 2, "too long"},
		{"too many in all", many, 1, "too many groups"},
		{"unknown user", []string{"user", "groups", "nobody", "add", "ops"}, 1, "no such user"},
		{"unknown user list", []string{"user", "groups", "nobody", "list"}, 1, "no such user"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := w.runDB("", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) || r.stdout != "" {
				t.Fatalf("got exit %d, stdout %q, stderr %q; want exit %d, no stdout, stderr with %q", r.code, r.stdout, r.stderr, tc.code, tc.stderr)
			}
		})
	}
	if r := w.mustRun(0, "", "user", "groups", "alice", "list"); r.stdout != "ops\n" {
		t.Errorf("groups after refused commands: got %q, want ops", r.stdout)
	}
}
