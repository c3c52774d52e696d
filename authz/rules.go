package authz

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sesame-auth/sesame"
)

// Rule is one access rule as written in a configuration. A rule matches a
// request when every condition it sets matches; the empty value of
// Methods and Networks means any.
type Rule struct {
	// Domain is the request host the rule applies to, required: an exact
	// host ("wiki.example.com"), "*.example.com" for any subdomain of
	// example.com at any depth (but not example.com itself), or "*" for
	// any host. Compared without regard to ASCII case and to one trailing
	// dot. A port ("wiki.example.com:8443", "*:8443") makes the rule match
	// only a request host that names that port; without one, the request's
	// port is ignored. The port is what the client wrote in Host: proxies
	// route by name and pass any port on, so a port never makes a rule
	// safe to loosen (SEC-57).
	Domain string
	// Path is empty (any path), a prefix ("/admin": the path "/admin" and
	// everything under "/admin/", but not "/administrator"; a trailing
	// slash on the prefix changes nothing), or a regular expression when it
	// starts with '^' (Go RE2 syntax, unanchored at the end unless it ends
	// with '$'). Both are matched against the cleaned path (see
	// [CleanPath]), never the query. Paths are case-sensitive; write
	// "^(?i)/admin" for an upstream that is not.
	Path string
	// Methods lists the HTTP methods the rule applies to (any case); empty:
	// every method.
	Methods []string
	// Networks lists the client networks the rule applies to: CIDR
	// prefixes ("10.0.0.0/8") or single addresses; empty: every client.
	Networks []string
	// Policy says who may pass: "bypass" (anyone, signed in or not),
	// "deny" (no one), "authenticated" (any signed-in user), "admin"
	// (administrators) or "group:NAME[,NAME...]" (members of any of the
	// groups; names are compared exactly). An administrator is not
	// implicitly in every group. Policy names are case-insensitive.
	Policy string
	// Groups adds groups to a group policy: with it, Policy may be just
	// "group". Allowed only with a group policy.
	Groups []string
	// Assertion asks the forward-auth endpoint to sign an assertion for
	// the upstream (Sesame-Assertion) on the requests this rule allows
	// for a signed-in caller, also when assertions are not on for every
	// rule. It plays no part in the decision.
	Assertion bool
}

// String writes the rule in one line, the form `sesame authz test` and
// `sesame config check` print: "domain=wiki.example.com path=/admin
// methods=GET,POST networks=10.0.0.0/8 policy=group:admins,ops" (and
// " assertion=true" when set).
func (r Rule) String() string {
	var b strings.Builder
	b.WriteString("domain=" + r.Domain)
	if r.Path != "" {
		b.WriteString(" path=" + r.Path)
	}
	if len(r.Methods) > 0 {
		b.WriteString(" methods=" + strings.Join(r.Methods, ","))
	}
	if len(r.Networks) > 0 {
		b.WriteString(" networks=" + strings.Join(r.Networks, ","))
	}
	b.WriteString(" policy=" + r.Policy)
	if len(r.Groups) > 0 {
		b.WriteString(" groups=" + strings.Join(r.Groups, ","))
	}
	if r.Assertion {
		b.WriteString(" assertion=true")
	}
	return b.String()
}

// RuleError is a problem with one rule: its index in the list and the
// field at fault.
type RuleError struct {
	Index int    // the rule's index in the list given to Compile, from 0
	Field string // "domain", "path", "methods", "networks", "policy" or "groups"
	Msg   string // what is wrong, in lower case
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("authz: rule %d: %s: %s", e.Index, e.Field, e.Msg)
}

// Errors is the error [Compile] returns: every problem found, in rule
// order.
type Errors []*RuleError

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap returns the individual errors, for errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// policy is a compiled Rule.Policy.
type policy uint8

const (
	policyDeny policy = iota
	policyBypass
	policyAuthenticated
	policyAdmin
	policyGroup
)

// domainKind says how a compiled rule compares the host.
type domainKind uint8

const (
	domainAny    domainKind = iota // "*"
	domainExact                    // "wiki.example.com"
	domainSuffix                   // "*.example.com": host ends with ".example.com"
)

// rule is a compiled Rule.
type rule struct {
	src      Rule
	domKind  domainKind
	dom      string // lower case; for domainSuffix with its leading '.'
	port     int    // -1: any
	prefix   string // "" with re == nil: any path; "/" matches every path
	re       *regexp.Regexp
	methods  []string // upper case
	networks []netip.Prefix
	policy   policy
	groups   []string
}

// Rules is a compiled, ordered list of rules: the first rule that matches
// a request decides; a request no rule matches is denied. It is immutable
// and safe for concurrent use.
type Rules struct {
	rules []rule
}

// Len returns the number of rules.
func (rs *Rules) Len() int { return len(rs.rules) }

// Rule returns rule i as it was given to Compile.
func (rs *Rules) Rule(i int) Rule { return rs.rules[i].src }

// Compile checks and compiles rules, in order. The error, an [Errors],
// lists every problem, each naming the rule's index and field: an empty or
// malformed domain, a path that is neither a prefix starting with '/' nor
// a valid regular expression, a malformed method, a bad CIDR or address,
// an unknown policy, a group policy without groups, groups with another
// policy. An empty list compiles: it denies every request.
func Compile(rules []Rule) (*Rules, error) {
	rs := &Rules{rules: make([]rule, 0, len(rules))}
	var errs Errors
	for i, r := range rules {
		c, es := compileRule(i, r)
		errs = append(errs, es...)
		rs.rules = append(rs.rules, c)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return rs, nil
}

func compileRule(i int, r Rule) (rule, Errors) {
	var errs Errors
	bad := func(field, format string, a ...any) {
		errs = append(errs, &RuleError{Index: i, Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	c := rule{src: cloneRule(r), port: -1}
	if err := c.compileDomain(strings.TrimSpace(r.Domain)); err != "" {
		bad("domain", "%s", err)
	}
	switch p := r.Path; {
	case p == "":
	case p[0] == '^':
		re, err := regexp.Compile(p)
		if err != nil {
			bad("path", "bad regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		c.re = re
	case p[0] == '/':
		clean, err := CleanPath(p)
		if err != nil || strings.ContainsRune(p, '%') {
			bad("path", "%q: want a plain path prefix such as /admin (no %%-escapes, '.' or '..' segments, ';' or '\\'), or a regular expression starting with ^", p)
		} else if clean != p && clean != p+"/" && clean+"/" != p {
			bad("path", "%q is not a clean path: write %q", p, clean)
		}
		c.prefix = strings.TrimSuffix(clean, "/")
		if c.prefix == "" {
			c.prefix = "/"
		}
	default:
		bad("path", "%q: want a prefix starting with / or a regular expression starting with ^", p)
	}
	for _, m := range r.Methods {
		m = strings.TrimSpace(m)
		if !IsToken(m) {
			bad("methods", "%q is not an HTTP method", m)
			continue
		}
		c.methods = append(c.methods, strings.ToUpper(m))
	}
	for _, n := range r.Networks {
		p, err := parseNetwork(strings.TrimSpace(n))
		if err != "" {
			bad("networks", "%q: %s", n, err)
			continue
		}
		c.networks = append(c.networks, p)
	}
	c.compilePolicy(r, bad)
	return c, errs
}

func cloneRule(r Rule) Rule {
	r.Methods = slices.Clone(r.Methods)
	r.Networks = slices.Clone(r.Networks)
	r.Groups = slices.Clone(r.Groups)
	return r
}

// compileDomain sets the domain fields of c, or returns what is wrong.
func (c *rule) compileDomain(d string) string {
	if d == "" {
		return `required: a host (wiki.example.com), *.example.com for its subdomains, or "*" for any host`
	}
	name := d
	if i := strings.LastIndexByte(d, ':'); i >= 0 && !strings.HasSuffix(d, "]") {
		name = d[:i]
		port, err := strconv.Atoi(d[i+1:])
		if err != nil || port < 1 || port > 65535 || d[i+1] == '+' || d[i+1] == '-' {
			return fmt.Sprintf("%q: bad port %q", d, d[i+1:])
		}
		c.port = port
	}
	name = toLower(name)
	if name != "*." {
		name = strings.TrimSuffix(name, ".")
	}
	switch {
	case name == "*":
		c.domKind = domainAny
	case strings.HasPrefix(name, "*."):
		if !validName(name[2:]) {
			return fmt.Sprintf("%q: want *.example.com (a wildcard only as the whole first label)", d)
		}
		c.domKind, c.dom = domainSuffix, name[1:]
	default:
		if _, _, ok := splitHost(name); !ok || strings.Contains(name, ":") && !strings.HasPrefix(name, "[") {
			return fmt.Sprintf("%q: want a host name such as wiki.example.com, *.example.com or *", d)
		}
		c.domKind, c.dom = domainExact, name
	}
	return ""
}

func (c *rule) compilePolicy(r Rule, bad func(field, format string, a ...any)) {
	p := strings.TrimSpace(r.Policy)
	name, arg, hasArg := strings.Cut(p, ":")
	switch strings.ToLower(name) {
	case "bypass":
		c.policy = policyBypass
	case "deny":
		c.policy = policyDeny
	case "authenticated":
		c.policy = policyAuthenticated
	case "admin":
		c.policy = policyAdmin
	case "group":
		c.policy = policyGroup
		groups := r.Groups
		if hasArg {
			groups = append(strings.Split(arg, ","), groups...)
		}
		for _, g := range groups {
			g = strings.TrimSpace(g)
			if !sesame.ValidGroupName(g) {
				// A user's groups are always valid names (lower case):
				// a rule naming another could never match.
				if l := strings.ToLower(g); l != g && sesame.ValidGroupName(l) {
					bad("policy", "bad group name %q: group names are lower case (write %q)", g, l)
				} else {
					bad("policy", "bad group name %q: want 1-64 of a-z 0-9 . _ -, beginning with a letter or digit", g)
				}
				continue
			}
			if !slices.Contains(c.groups, g) {
				c.groups = append(c.groups, g)
			}
		}
		if len(c.groups) == 0 {
			bad("policy", `%q names no group: write group:NAME[,NAME...] or add groups: [NAME, ...]`, p)
		}
		return
	case "":
		bad("policy", "required: bypass, deny, authenticated, admin or group:NAME[,NAME...]")
		return
	default:
		bad("policy", "unknown policy %q: want bypass, deny, authenticated, admin or group:NAME[,NAME...]", p)
		return
	}
	if hasArg {
		bad("policy", "unknown policy %q: only group takes names (group:NAME)", p)
	}
	if len(r.Groups) > 0 {
		bad("groups", "only a group policy takes groups (policy is %q)", p)
	}
}

// IsToken reports whether s is an RFC 9110 token: what a method or a header
// field name must be.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// parseNetwork parses a CIDR prefix or a single address.
func parseNetwork(s string) (netip.Prefix, string) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, "want a CIDR prefix (10.0.0.0/8) or an IP address"
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), ""
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, "want a CIDR prefix (10.0.0.0/8) or an IP address"
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, "write an IPv4 prefix as IPv4 (10.0.0.0/8), not IPv4-mapped IPv6"
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Sprintf("host bits set: did you mean %s?", p.Masked())
	}
	return p, ""
}
