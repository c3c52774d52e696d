package authz

import (
	"fmt"
	"slices"
)

// Shadow is a rule that can never match: an earlier rule matches every
// request it would.
type Shadow struct {
	Rule     int  // the unreachable rule's index
	By       int  // the earlier rule that matches first
	CatchAll bool // By matches every request
}

// Shadowed returns the rules that can never match because an earlier rule
// matches every request they would: a rule after a catch-all (domain "*"
// with no port, path, method or network), or after a rule whose domain,
// path prefix, methods and networks each cover its own. The check is
// conservative: a rule it does not report may still be unreachable (two
// different regular expressions are never compared).
func (rs *Rules) Shadowed() []Shadow {
	var out []Shadow
	for j := range rs.rules {
		for i := 0; i < j; i++ {
			if covers(&rs.rules[i], &rs.rules[j]) {
				out = append(out, Shadow{Rule: j, By: i, CatchAll: rs.rules[i].catchAll()})
				break
			}
		}
	}
	return out
}

// Lint returns a warning for each rule [Rules.Shadowed] reports, naming
// both rules. Warnings are not errors: the rules work as written.
func (rs *Rules) Lint() []string {
	var out []string
	for _, s := range rs.Shadowed() {
		why := "matches every request it would"
		if s.CatchAll {
			why = "is a catch-all (domain *, no path, method or network)"
		}
		out = append(out, fmt.Sprintf("rule %d (%s) is unreachable: rule %d (%s) %s", s.Rule, rs.rules[s.Rule].src, s.By, rs.rules[s.By].src, why))
	}
	return out
}

// catchAll reports whether r matches every request.
func (r *rule) catchAll() bool {
	return r.domKind == domainAny && r.port < 0 && r.re == nil && (r.prefix == "" || r.prefix == "/") &&
		len(r.methods) == 0 && len(r.networks) == 0
}

// covers reports whether every request b matches is matched by a.
func covers(a, b *rule) bool {
	return coversDomain(a, b) && coversPath(a, b) && coversMethods(a, b) && coversNetworks(a, b)
}

func coversDomain(a, b *rule) bool {
	if a.port >= 0 && a.port != b.port {
		return false
	}
	switch a.domKind {
	case domainAny:
		return true
	case domainExact:
		return b.domKind == domainExact && a.dom == b.dom
	}
	// a is *.suffix (a.dom ".suffix"): b's host, or every host of b's
	// wildcard, ends with it.
	switch b.domKind {
	case domainExact:
		return len(b.dom) > len(a.dom) && b.dom[len(b.dom)-len(a.dom):] == a.dom
	case domainSuffix:
		return len(b.dom) >= len(a.dom) && b.dom[len(b.dom)-len(a.dom):] == a.dom
	}
	return false
}

func coversPath(a, b *rule) bool {
	if a.re != nil {
		return b.re != nil && a.re.String() == b.re.String()
	}
	if a.prefix == "" || a.prefix == "/" {
		return true
	}
	if b.re != nil || b.prefix == "" || b.prefix == "/" {
		return false
	}
	return underPrefix(b.prefix, a.prefix)
}

func coversMethods(a, b *rule) bool {
	if len(a.methods) == 0 {
		return true
	}
	if len(b.methods) == 0 {
		return false
	}
	for _, m := range b.methods {
		if !slices.Contains(a.methods, m) {
			return false
		}
	}
	return true
}

func coversNetworks(a, b *rule) bool {
	if len(a.networks) == 0 {
		return true
	}
	if len(b.networks) == 0 {
		return false
	}
	for _, n := range b.networks {
		in := false
		for _, m := range a.networks {
			if m.Bits() <= n.Bits() && m.Contains(n.Addr()) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	return true
}
