package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sesame-auth/sesame/authz"
)

// access_rules is the one key whose value is structured: a list of maps,
// read from the configuration file only (no flag, no environment
// variable). Each item becomes an [authz.Rule]; the file's line of every
// field is kept so that a problem found when the rules are compiled names
// it.

// ruleFields are the fields of one access rule, in the order config init
// writes them.
var ruleFields = []string{"domain", "path", "methods", "networks", "policy", "groups", "assertion"}

// ruleLines is where one rule and its fields were written.
type ruleLines struct {
	file   string
	line   int             // the rule's "- " line
	fields map[string]int  // field → line
	bad    map[string]bool // fields (or "" for the whole rule) already reported as unreadable
}

// rulesFromYAML reads the value of access_rules: a YAML list of maps, or
// null for none. at is "FILE:LINE: access_rules", for problems about the
// value as a whole.
func rulesFromYAML(path string, n *yaml.Node, lookup func(string) (string, bool), ps *Problems) ([]authz.Rule, []ruleLines) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		ps.addf(fmt.Sprintf("%s:%d: access_rules", path, n.Line), false,
			"wrong type: want a list of rules, each a mapping such as {domain: wiki.example.com, policy: authenticated}")
		return nil, nil
	}
	rules := make([]authz.Rule, 0, len(n.Content))
	lines := make([]ruleLines, 0, len(n.Content))
	for i, item := range n.Content {
		var r authz.Rule
		rl := ruleLines{file: path, line: item.Line, fields: map[string]int{}, bad: map[string]bool{}}
		if item.Kind != yaml.MappingNode {
			rl.bad[""] = true
			ps.addf(fmt.Sprintf("%s:%d: access_rules[%d]", path, item.Line, i), false,
				"wrong type: want a mapping of %s", strings.Join(ruleFields, ", "))
			rules, lines = append(rules, r), append(lines, rl)
			continue
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			kn, vn := item.Content[j], item.Content[j+1]
			field := kn.Value
			at := fmt.Sprintf("%s:%d: access_rules[%d].%s", path, kn.Line, i, field)
			if kn.Kind != yaml.ScalarNode {
				ps.addf(fmt.Sprintf("%s:%d: access_rules[%d]", path, kn.Line, i), false, "a field must be a plain name")
				continue
			}
			if line, dup := rl.fields[field]; dup {
				ps.addf(at, false, "duplicate field (first set on line %d)", line)
				continue
			}
			if !slices.Contains(ruleFields, field) {
				ps.addf(at, false, "unknown field%s", suggestField(field))
				continue
			}
			rl.fields[field] = kn.Line
			var err error
			switch field {
			case "domain":
				r.Domain, err = ruleString(vn, lookup)
			case "path":
				r.Path, err = ruleString(vn, lookup)
			case "policy":
				r.Policy, err = ruleString(vn, lookup)
			case "methods":
				r.Methods, err = ruleList(vn, lookup)
			case "networks":
				r.Networks, err = ruleList(vn, lookup)
			case "groups":
				r.Groups, err = ruleList(vn, lookup)
			case "assertion":
				r.Assertion, err = ruleBool(vn)
			}
			if err != nil {
				ps.addf(at, false, "%v", err)
				rl.bad[field] = true
			}
		}
		rules, lines = append(rules, r), append(lines, rl)
	}
	return rules, lines
}

// ruleString reads a field whose value is one string.
func ruleString(n *yaml.Node, lookup func(string) (string, bool)) (string, error) {
	if n.Kind == yaml.AliasNode {
		return "", errors.New("aliases (*name) are not supported: write the value")
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", errors.New("wrong type: want a string")
	}
	if n.Tag != "!!str" {
		return "", fmt.Errorf("wrong type: want a string, got %q (quote it to mean text)", n.Value)
	}
	return expandEnv(n.Value, lookup)
}

// ruleBool reads a field whose value is true or false.
func ruleBool(n *yaml.Node) (bool, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return false, errors.New("wrong type: want true or false")
	}
	return parseBool(n.Value)
}

// ruleList reads a field whose value is a list of strings: a YAML list or
// comma-separated text.
func ruleList(n *yaml.Node, lookup func(string) (string, bool)) ([]string, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		s, err := expandEnv(n.Value, lookup)
		return splitList(s), err
	}
	if n.Kind != yaml.SequenceNode {
		return nil, errors.New("wrong type: want a list of strings")
	}
	var out []string
	for _, item := range n.Content {
		if item.Kind != yaml.ScalarNode || item.Tag != "!!str" {
			return nil, fmt.Errorf("line %d: wrong type: want a list of strings", item.Line)
		}
		s, err := expandEnv(item.Value, lookup)
		if err != nil {
			return nil, err
		}
		out = append(out, strings.TrimSpace(s))
	}
	return out, nil
}

// suggestField proposes the rule field a misspelt name probably meant.
func suggestField(name string) string {
	best, bestD := "", 3
	for _, f := range ruleFields {
		if d := distance(strings.ToLower(name), f); d < bestD {
			best, bestD = f, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return " (want " + strings.Join(ruleFields, ", ") + ")"
}

// ruleAt names rule i's field (or the rule, when field is "") for a
// problem: "FILE:LINE: access_rules[i].field", or without the file for
// rules that were not read from one.
func (c *Config) ruleAt(i int, field string) string {
	name := fmt.Sprintf("access_rules[%d]", i)
	if field != "" {
		name += "." + field
	}
	if i >= len(c.ruleLines) || c.ruleLines[i].file == "" {
		return name
	}
	rl := c.ruleLines[i]
	line := rl.line
	if l, ok := rl.fields[field]; ok {
		line = l
	}
	return fmt.Sprintf("%s:%d: %s", rl.file, line, name)
}

// checkAccessRules compiles the rules and adds a problem for each error,
// naming the rule's line and field.
func (c *Config) checkAccessRules(ps *Problems) {
	if len(c.AccessRules) == 0 {
		return
	}
	_, err := authz.Compile(c.AccessRules)
	var es authz.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			if e.Index < len(c.ruleLines) && (c.ruleLines[e.Index].bad[""] || c.ruleLines[e.Index].bad[e.Field]) {
				continue // its value was unreadable, and said so
			}
			ps.add(Problem{Where: c.ruleAt(e.Index, e.Field), Msg: e.Msg})
		}
	} else if err != nil {
		ps.add(Problem{Where: "access_rules", Msg: err.Error()})
	}
}

// AccessRulesWarnings returns a warning for each access rule that can
// never match because an earlier rule matches first (see
// [authz.Rules.Shadowed]), naming both rules' lines. They are not
// problems: `sesame config check` prints them and succeeds.
func (c *Config) AccessRulesWarnings() []string {
	rs, err := authz.Compile(c.AccessRules)
	if err != nil {
		return nil // reported as problems
	}
	var out []string
	for _, s := range rs.Shadowed() {
		why := "matches every request it would"
		if s.CatchAll {
			why = "is a catch-all (domain *, no path, method or network)"
		}
		out = append(out, fmt.Sprintf("%s: unreachable: %s (%s) %s", c.ruleAt(s.Rule, ""), c.ruleAt(s.By, ""), rs.Rule(s.By), why))
	}
	return out
}

// accessRulesText is the compact form of access_rules for Settings: how
// many rules there are; each rule then has a row of its own.
func accessRulesText(rules []authz.Rule) string {
	switch len(rules) {
	case 0:
		return ""
	case 1:
		return "1 rule"
	}
	return fmt.Sprintf("%d rules", len(rules))
}

// ruleSettings are the rows of Settings for the rules, one per rule:
// key "access_rules[i]", value the rule in one line, source its line.
func (c *Config) ruleSettings() []Setting {
	out := make([]Setting, 0, len(c.AccessRules))
	for i, r := range c.AccessRules {
		src := c.Source("access_rules")
		if i < len(c.ruleLines) && c.ruleLines[i].file != "" {
			src = Source{Kind: FromFile, Where: fmt.Sprintf("%s:%d", c.ruleLines[i].file, c.ruleLines[i].line)}
		}
		out = append(out, Setting{Key: fmt.Sprintf("access_rules[%d]", i), Value: c.Redact(r.String()), Source: src})
	}
	return out
}

// rulesExample is the commented example config init writes for
// access_rules, before the settable "# access_rules: []" line.
const rulesExample = `## For example:
##   access_rules:
##     - domain: wiki.example.com      # exact host; *.example.com: any subdomain; "*": any host
##       path: /static                 # a prefix (segment-wise), or a regular expression: ^/api/v[0-9]+/
##       policy: bypass                # no sign-in needed
##     - domain: wiki.example.com
##       path: /admin
##       methods: [POST, PUT, DELETE]  # empty: any method
##       policy: group:admins,ops      # members of any of these groups (or policy: group, groups: [...])
##     - domain: "*.example.com"
##       networks: [10.0.0.0/8]        # CIDRs or addresses of the client; empty: any
##       policy: authenticated         # any signed-in user
##     - domain: grafana.example.com
##       policy: admin                 # administrators; deny: no one
##       assertion: true               # sign Sesame-Assertion for this app (forward_assertion: for all)
# access_rules: []
`
