package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// authzConfig is the access_rules file the authz tests run with.
const authzConfig = `access_rules:
  - domain: wiki.example.com
    path: /static
    policy: bypass
  - domain: wiki.example.com
    path: /admin
    policy: admin
  - domain: wiki.example.com
    path: /ops
    policy: group:ops
  - domain: wiki.example.com
    methods: [DELETE]
    policy: deny
  - domain: "*.example.com"
    networks: [10.0.0.0/8]
    policy: bypass
  - domain: "*.example.com"
    policy: authenticated
`

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sesame.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAuthzTest drives `sesame authz test` end to end: the deployment's
// configuration, its user store for --user, the printed rule (index, text,
// line) and decision, and the exit status (0 allow, 1 refused, 2 usage).
func TestAuthzTest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.addUser("root", canaryPassword, true)
	w.addUser("alice", canaryPassword, false)
	w.addUser("mallory", canaryPassword, true)
	w.mustRun(0, "", "user", "block", "mallory")
	w.addUser("olga", canaryPassword, false)
	w.mustRun(0, "", "user", "groups", "olga", "add", "Ops", "wiki")
	w.addUser("dave", canaryPassword, false)
	w.mustRun(0, "", "user", "groups", "dave", "add", "dev")
	cfg := writeConfig(t, authzConfig)
	cases := []struct {
		name  string
		args  []string
		code  int
		wants []string // substrings of stdout (of stderr for exit 2)
	}{
		{"bypass, anonymous", []string{"--url", "https://wiki.example.com/static/app.js"}, 0,
			[]string{"path:      /static/app.js", "rule:      0: domain=wiki.example.com path=/static policy=bypass (file " + cfg + ":2)", "user:      anonymous", "decision:  allow"}},
		{"admin rule, anonymous", []string{"--url", "https://wiki.example.com/admin"}, 1,
			[]string{"rule:      1: domain=wiki.example.com path=/admin policy=admin (file " + cfg + ":5)", "decision:  login required"}},
		{"admin rule, user", []string{"--url", "https://wiki.example.com/admin/users", "--user", "alice"}, 1,
			[]string{"user:      alice (user; groups: none)", "rule:      1:", "decision:  forbidden"}},
		{"admin rule, administrator", []string{"--url", "https://wiki.example.com/admin/users", "--user", "ROOT"}, 0,
			[]string{"user:      root (administrator; groups: none)", "rule:      1:", "decision:  allow"}},
		{"group rule, user in no group", []string{"--url", "https://wiki.example.com/ops", "--user", "alice"}, 1,
			[]string{"rule:      2: domain=wiki.example.com path=/ops policy=group:ops", "decision:  forbidden"}},
		{"group rule, member (groups from the store)", []string{"--url", "https://wiki.example.com/ops/runbook", "--user", "olga"}, 0,
			[]string{"user:      olga (user; groups: ops, wiki)", "rule:      2:", "decision:  allow"}},
		{"group rule, member of another group", []string{"--url", "https://wiki.example.com/ops", "--user", "dave"}, 1,
			[]string{"user:      dave (user; groups: dev)", "rule:      2:", "decision:  forbidden"}},
		{"blocked user is anonymous", []string{"--url", "https://wiki.example.com/admin", "--user", "mallory"}, 1,
			[]string{"user:      mallory (blocked", "decision:  login required"}},
		{"method rule", []string{"--url", "https://wiki.example.com/page", "--method", "DELETE", "--user", "root"}, 1,
			[]string{"rule:      3:", "decision:  forbidden"}},
		{"network rule", []string{"--url", "https://grafana.example.com/d/x", "--ip", "10.2.3.4"}, 0,
			[]string{"client:    10.2.3.4", "rule:      4:", "decision:  allow"}},
		{"network rule, outside", []string{"--url", "https://grafana.example.com/d/x", "--ip", "192.0.2.1"}, 1,
			[]string{"rule:      5:", "decision:  login required"}},
		{"default deny", []string{"--url", "https://example.org/", "--user", "root"}, 1,
			[]string{"rule:      none matches (default deny)", "decision:  forbidden"}},
		// SEC-57: the path is judged after decoding and cleaning; ambiguous
		// forms are refused.
		{"dot segments reach the admin rule", []string{"--url", "https://wiki.example.com/static/../admin?x"}, 1,
			[]string{"path:      /admin\n", "rule:      1:", "decision:  login required"}},
		{"encoded dots reach the admin rule", []string{"--url", "https://wiki.example.com/static/%2e%2e/admin"}, 1,
			[]string{"path:      /admin\n", "rule:      1:"}},
		{"double slash", []string{"--url", "https://WIKI.example.com.//admin"}, 1,
			[]string{"rule:      1:"}},
		{"encoded slash is invalid", []string{"--url", "https://wiki.example.com/static%2F..%2Fadmin"}, 1,
			[]string{"refused (malformed or ambiguous)", "decision:  invalid request"}},
		{"unknown user", []string{"--url", "https://wiki.example.com/", "--user", "nobody"}, 2,
			[]string{`--user: no user "nobody"`}},
		{"no url", nil, 2, []string{"--url is required"}},
		{"relative url", []string{"--url", "/admin"}, 2, []string{"absolute http:// or https:// URL"}},
		{"url with user information", []string{"--url", "https://a@wiki.example.com/"}, 2, []string{"without user information"}},
		{"bad ip", []string{"--url", "https://wiki.example.com/", "--ip", "10.0.0"}, 2, []string{`--ip: "10.0.0" is not an IP address`}},
		{"argument", []string{"--url", "https://wiki.example.com/", "extra"}, 2, []string{"takes no arguments"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"authz", "test", "--config", cfg, "--db", w.db}, tc.args...)
			r := w.run("", args...)
			if r.code != tc.code {
				t.Fatalf("got exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			out := r.stdout
			if tc.code == 2 {
				out = r.stderr
			}
			for _, want := range tc.wants {
				if !strings.Contains(out, want) {
					t.Errorf("got output:\n%s\nwant it to contain %q", out, want)
				}
			}
		})
	}
}

// TestAuthzTestNeedsNoStoreForAnonymous: without --user the user store is
// never opened (a database that does not exist is not an error), and with
// it the missing database is.
func TestAuthzTestNeedsNoStoreForAnonymous(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := writeConfig(t, authzConfig)
	missing := filepath.Join(t.TempDir(), "none.db")
	r := w.run("", "authz", "test", "--config", cfg, "--db", missing, "--url", "https://wiki.example.com/static/x")
	if r.code != 0 || !strings.Contains(r.stdout, "decision:  allow") {
		t.Fatalf("anonymous: got exit %d, want 0\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the database was created: %v", err)
	}
	r = w.run("", "authz", "test", "--config", cfg, "--db", missing, "--url", "https://wiki.example.com/static/x", "--user", "alice")
	if r.code != 1 || !strings.Contains(r.stderr, "no Sesame database") {
		t.Errorf("--user with a missing database: got exit %d, stderr %q; want 1 saying there is no database", r.code, r.stderr)
	}
}

// TestAuthzTestRuleProblems: broken rules stop the command with the
// configuration's problems; unreachable rules are warned about on stderr
// and the decision is still made; no rules deny everything.
func TestAuthzTestRuleProblems(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	bad := writeConfig(t, "access_rules:\n  - domain: wiki.example.com\n    path: ^/a(\n    policy: bypass\n")
	r := w.run("", "authz", "test", "--config", bad, "--db", w.db, "--url", "https://wiki.example.com/")
	if r.code != 1 || !strings.Contains(r.stderr, bad+":3: access_rules[0].path: bad regular expression") {
		t.Errorf("bad regex: got exit %d, stderr %q; want 1 naming the file, line 3, the rule and the field", r.code, r.stderr)
	}
	shadowed := writeConfig(t, "access_rules:\n  - domain: \"*\"\n    policy: authenticated\n  - domain: wiki.example.com\n    policy: bypass\n")
	r = w.run("", "authz", "test", "--config", shadowed, "--db", w.db, "--url", "https://wiki.example.com/")
	if r.code != 1 || !strings.Contains(r.stderr, "warning: "+shadowed+":4: access_rules[1]: unreachable") || !strings.Contains(r.stdout, "rule:      0:") {
		t.Errorf("shadowed rule: got exit %d\nstdout: %s\nstderr: %s\nwant exit 1 (rule 0, login required) and a warning about rule 1", r.code, r.stdout, r.stderr)
	}
	none := writeConfig(t, "addr: 127.0.0.1:0\n")
	r = w.run("", "authz", "test", "--config", none, "--db", w.db, "--url", "https://wiki.example.com/")
	if r.code != 1 || !strings.Contains(r.stdout, "no access_rules configured (default deny)") || !strings.Contains(r.stdout, "decision:  forbidden") {
		t.Errorf("no rules: got exit %d\nstdout: %s\nwant exit 1, default deny", r.code, r.stdout)
	}
}

// TestConfigCheckAccessRules: config check lists the rules in its table,
// one row each with its line, warns about unreachable ones without
// failing, and fails with every rule problem named by line and field.
func TestConfigCheckAccessRules(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := writeConfig(t, authzConfig+"  - domain: wiki.example.com\n    policy: deny\n")
	r := w.run("", "config", "check", "--config", cfg, "--db", w.db)
	if r.code != 0 {
		t.Fatalf("got exit %d, want 0 (warnings are not failures)\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"access_rules           7 rules", "file " + cfg + ":1",
		"access_rules[0]        domain=wiki.example.com path=/static policy=bypass",
		"access_rules[4]        domain=*.example.com networks=10.0.0.0/8 policy=bypass",
		"file " + cfg + ":19", "configuration ok",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("got stdout:\n%s\nwant it to contain %q", r.stdout, want)
		}
	}
	if want := "warning: " + cfg + ":19: access_rules[6]: unreachable: " + cfg + ":17: access_rules[5]"; !strings.Contains(r.stderr, want) {
		t.Errorf("got stderr %q, want %q", r.stderr, want)
	}

	bad := writeConfig(t, `idle_timeout: 5m
access_rules:
  - domain: ""
    path: /a
    policy: bypass
  - domain: wiki.example.com
    networks: [10.0.0.0/33]
    polciy: deny
    policy: sometimes
`)
	r = w.run("", "config", "check", "--config", bad, "--db", w.db)
	if r.code != 1 {
		t.Fatalf("got exit %d, want 1\nstderr: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		bad + ":8: access_rules[1].polciy: unknown field (did you mean policy?)",
		bad + ":3: access_rules[0].domain: required",
		bad + `:7: access_rules[1].networks: "10.0.0.0/33"`,
		bad + `:9: access_rules[1].policy: unknown policy "sometimes"`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("got stderr:\n%s\nwant it to contain %q", r.stderr, want)
		}
	}
}

// TestAuthzHelp: the command group and its subcommand explain themselves;
// config init shows the access_rules example.
func TestAuthzHelp(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cases := []struct {
		args  []string
		code  int
		wants []string
	}{
		{[]string{"--help"}, 0, []string{"authz"}},
		{[]string{"authz"}, 2, []string{"Usage: sesame authz", "test"}},
		{[]string{"authz", "--help"}, 0, []string{"test", "--url URL"}},
		{[]string{"authz", "frob"}, 2, []string{`unknown command "frob"`}},
		{[]string{"authz", "test", "--help"}, 0, []string{"sesame authz test --url URL", "-method", "-user", "-ip", "-config", "Exit status: 0 when the request is allowed; 1 when it is refused"}},
		{[]string{"config", "init"}, 0, []string{"##   access_rules:\n", "policy: group:admins,ops", "# access_rules: []\n"}},
	}
	for _, tc := range cases {
		r := w.run("", tc.args...)
		if r.code != tc.code {
			t.Errorf("sesame %s: got exit %d, want %d", strings.Join(tc.args, " "), r.code, tc.code)
		}
		for _, want := range tc.wants {
			if !strings.Contains(r.stdout+r.stderr, want) {
				t.Errorf("sesame %s: got output %q, want it to contain %q", strings.Join(tc.args, " "), r.stdout+r.stderr, want)
			}
		}
	}
}
