package config

import (
	"errors"
	"flag"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/authz"
)

// TestAccessRulesFromFile: the rules are read in order, lists as YAML
// lists or comma-separated text, ${NAME} expanded; Settings shows the
// count and one row per rule with its line.
func TestAccessRulesFromFile(t *testing.T) {
	file := writeFile(t, "sesame.yaml", `addr: 127.0.0.1:9000
access_rules:
  - domain: wiki.example.com
    path: /static
    policy: bypass
  - domain: "*.example.com"
    methods: [GET, post]
    networks: 10.0.0.0/8, 192.0.2.1
    policy: group:admins,ops
  - domain: ${APP_HOST}
    path: ^/api/
    policy: group
    groups:
      - devs
log_level: warn
`)
	c := mustLoad(t, env{"APP_HOST": "app.example.com"}, file)
	want := []authz.Rule{
		{Domain: "wiki.example.com", Path: "/static", Policy: "bypass"},
		{Domain: "*.example.com", Methods: []string{"GET", "post"}, Networks: []string{"10.0.0.0/8", "192.0.2.1"}, Policy: "group:admins,ops"},
		{Domain: "app.example.com", Path: "^/api/", Policy: "group", Groups: []string{"devs"}},
	}
	if !reflect.DeepEqual(c.AccessRules, want) {
		t.Fatalf("got rules %+v, want %+v", c.AccessRules, want)
	}
	rows := map[string]Setting{}
	var order []string
	for _, s := range c.Settings() {
		rows[s.Key] = s
		order = append(order, s.Key)
	}
	if s := rows["access_rules"]; s.Value != "3 rules" || s.Source.String() != "file "+file+":2" {
		t.Errorf("access_rules row: got %q from %s, want \"3 rules\" from file %s:2", s.Value, s.Source, file)
	}
	for i, line := range []int{3, 6, 10} {
		key := fmt.Sprintf("access_rules[%d]", i)
		s := rows[key]
		if s.Value != want[i].String() || s.Source.String() != fmt.Sprintf("file %s:%d", file, line) {
			t.Errorf("%s row: got %q from %s, want %q from file %s:%d", key, s.Value, s.Source, want[i].String(), file, line)
		}
	}
	if got := strings.Join(order, " "); !strings.Contains(got, "access_rules access_rules[0] access_rules[1] access_rules[2] oidc") {
		t.Errorf("got settings order %s, want each rule right after access_rules", got)
	}
	if w := c.AccessRulesWarnings(); len(w) != 0 {
		t.Errorf("got warnings %q, want none", w)
	}
	// Clone copies the rules deeply.
	d := c.Clone()
	d.AccessRules[1].Methods[0] = "PUT"
	if c.AccessRules[1].Methods[0] != "GET" {
		t.Error("Clone shares the rules' slices")
	}
	// None configured: no rule, the empty value.
	if c := mustLoad(t, env{}, ""); c.AccessRules != nil || c.Settings()[0].Key == "" {
		t.Errorf("default: got %v, want no rule", c.AccessRules)
	}
	if c := mustLoad(t, env{}, writeFile(t, "e.yaml", "access_rules:\n")); len(c.AccessRules) != 0 {
		t.Errorf("access_rules: (null): got %v, want no rule", c.AccessRules)
	}
}

// TestAccessRulesProblems: every problem names the file, the line, the
// key with the rule's index and field, and all are listed at once.
func TestAccessRulesProblems(t *testing.T) {
	cases := []struct {
		name string
		text string
		want []string // each a problem line, as a regular expression after FILE
	}{
		{"unknown field", "access_rules:\n  - domain: a.example.com\n    polcy: bypass\n",
			[]string{`:3: access_rules\[0\]\.polcy: unknown field \(did you mean policy\?\)`, `:2: access_rules\[0\]\.policy: required`}},
		{"unknown field far from any", "access_rules:\n  - domain: a.example.com\n    policy: bypass\n    upstream: x\n",
			[]string{`:4: access_rules\[0\]\.upstream: unknown field \(want domain, path`}},
		{"duplicate field", "access_rules:\n  - domain: a.example.com\n    policy: bypass\n    policy: deny\n",
			[]string{`:4: access_rules\[0\]\.policy: duplicate field \(first set on line 3\)`}},
		{"wrong type: not a list", "access_rules: everyone\n",
			[]string{`:1: access_rules: wrong type: want a list of rules`}},
		{"wrong type: item", "access_rules:\n  - domain: a.example.com\n    policy: bypass\n  - bypass\n",
			[]string{`:4: access_rules\[1\]: wrong type: want a mapping`}},
		{"wrong type: domain list", "access_rules:\n  - domain: [a.example.com]\n    policy: bypass\n",
			[]string{`:2: access_rules\[0\]\.domain: wrong type: want a string`}},
		{"wrong type: number", "access_rules:\n  - domain: a.example.com\n    path: 5\n    policy: bypass\n",
			[]string{`:3: access_rules\[0\]\.path: wrong type: want a string, got "5"`}},
		{"wrong type: methods item", "access_rules:\n  - domain: a.example.com\n    methods: [GET, {a: b}]\n    policy: bypass\n",
			[]string{`:3: access_rules\[0\]\.methods: line 3: wrong type: want a list of strings`}},
		{"bad regex on its line", "access_rules:\n  - domain: a.example.com\n\n    path: ^/a(\n    policy: bypass\n",
			[]string{`:4: access_rules\[0\]\.path: bad regular expression`}},
		{"bad CIDR", "access_rules:\n  - domain: a.example.com\n    policy: bypass\n  - domain: b.example.com\n    networks: [10.0.0.0/33]\n    policy: deny\n",
			[]string{`:5: access_rules\[1\]\.networks: "10.0.0.0/33"`}},
		{"unknown policy", "access_rules:\n  - domain: a.example.com\n    policy: allow\n",
			[]string{`:3: access_rules\[0\]\.policy: unknown policy "allow"`}},
		{"empty domain names the rule's line", "access_rules:\n  - path: /x\n    policy: bypass\n",
			[]string{`:2: access_rules\[0\]\.domain: required`}},
		{"with other problems", "log_level: loud\naccess_rules:\n  - domain: a.example.com\n    policy: nope\n",
			[]string{`:1: log_level: `, `:4: access_rules\[0\]\.policy: unknown policy`}},
		{"env reference unset", "access_rules:\n  - domain: ${NOPE}\n    policy: bypass\n",
			[]string{`:2: access_rules\[0\]\.domain: references \$\{NOPE\}`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, "c.yaml", tc.text)
			_, err := load(t, env{}, file)
			var ps *Problems
			if !errors.As(err, &ps) {
				t.Fatalf("got %v, want *Problems", err)
			}
			if len(ps.List) != len(tc.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(ps.List), len(tc.want), err)
			}
			for _, w := range tc.want {
				re := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(file) + w)
				found := false
				for _, p := range ps.List {
					found = found || re.MatchString(p.String())
				}
				if !found {
					t.Errorf("got problems:\n%v\nwant one matching %s%s", err, file, w)
				}
			}
			if ps.Usage() {
				t.Error("got a usage problem, want a file problem (exit 1)")
			}
		})
	}
}

// TestAccessRulesFileOnly: access_rules has no flag, and its environment
// variable is refused rather than ignored.
func TestAccessRulesFileOnly(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	AddFlags(fs)
	if fs.Lookup("access-rules") != nil {
		t.Error("got an --access-rules flag, want none")
	}
	if k := KeyNamed("access_rules"); k == nil || !k.FileOnly() {
		t.Fatal("access_rules: want a file-only key")
	}
	_, err := load(t, env{"SESAME_ACCESS_RULES": "x"}, "")
	if err == nil || !strings.Contains(err.Error(), "SESAME_ACCESS_RULES: access_rules is read from the configuration file only") {
		t.Errorf("got %v, want SESAME_ACCESS_RULES refused", err)
	}
}

// TestAccessRulesWarnings: an unreachable rule is a warning naming both
// rules' lines, not a problem.
func TestAccessRulesWarnings(t *testing.T) {
	file := writeFile(t, "sesame.yaml", `access_rules:
  - domain: "*"
    policy: authenticated
  - domain: wiki.example.com
    path: /admin
    policy: admin
`)
	c := mustLoad(t, env{}, file)
	w := c.AccessRulesWarnings()
	want := fmt.Sprintf("%s:4: access_rules[1]: unreachable: %s:2: access_rules[0] (domain=* policy=authenticated) is a catch-all", file, file)
	if len(w) != 1 || !strings.HasPrefix(w[0], want) {
		t.Errorf("got warnings %q, want one starting %q", w, want)
	}
}

// TestStarterRulesExample: the example config init writes for
// access_rules, uncommented, loads and draws no warning.
func TestStarterRulesExample(t *testing.T) {
	text, err := Starter("")
	if err != nil {
		t.Fatal(err)
	}
	s := string(text)
	start := strings.Index(s, "##   access_rules:\n")
	end := strings.Index(s, "# access_rules: []\n")
	if start < 0 || end < start {
		t.Fatalf("no access_rules example in:\n%s", s)
	}
	example := regexp.MustCompile(`(?m)^## {2}`).ReplaceAllString(s[start:end], "")
	c := mustLoad(t, env{}, writeFile(t, "example.yaml", example))
	if len(c.AccessRules) != 4 {
		t.Errorf("got %d rules from the example, want 4:\n%s", len(c.AccessRules), example)
	}
	if w := c.AccessRulesWarnings(); len(w) != 0 {
		t.Errorf("the example draws warnings: %q", w)
	}
}
