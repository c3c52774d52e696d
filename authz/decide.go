package authz

import "net/netip"

// Caller is who a request acts for, as far as the rules care.
type Caller struct {
	Name   string   // the user name, for logs and identity headers
	Admin  bool     // passes admin rules
	Groups []string // passes group rules naming any of these (compared exactly)
}

// Request is what [Rules.Decide] decides on: the original request that a
// proxy asks about, not the request to the auth endpoint.
type Request struct {
	// Host is the original request's Host as sent, port included when it
	// was ("wiki.example.com", "wiki.example.com:8443", "[::1]:8080"). A
	// malformed host is [Invalid].
	Host string
	// Path is the original request-target's path as sent, still
	// percent-encoded; a query ("?...") may follow and is ignored. Decide
	// cleans it with [CleanPath]; a path CleanPath refuses is [Invalid].
	// Pass the raw path (from X-Original-URL, X-Forwarded-Uri or
	// url.URL.EscapedPath), never one decoded already: decoding twice
	// turns "%252e" into ".".
	Path string
	// Method is the original request's method ("GET"); compared without
	// regard to ASCII case.
	Method string
	// ClientIP is the client's address, resolved from trusted proxies; the
	// zero Addr matches only rules without networks. An IPv4-mapped IPv6
	// address is taken as IPv4, and an IPv6 zone is ignored.
	ClientIP netip.Addr
	// Caller is the signed-in user, or nil for an anonymous request.
	Caller *Caller
}

// Outcome is what a [Decision] tells the caller to do. The zero value is
// Forbidden, so a Decision that was never filled in refuses.
type Outcome uint8

const (
	// Forbidden: refuse (403): the rule denies this caller, the rule is
	// "deny" (for anonymous callers too: signing in would not help), or no
	// rule matched.
	Forbidden Outcome = iota
	// NeedLogin: an anonymous caller on a rule that admits some signed-in
	// users: send them to sign in (302) or answer 401.
	NeedLogin
	// Allow: let the request through.
	Allow
	// Invalid: the host or path is malformed or ambiguous (see
	// [CleanPath]): answer 400, never allow.
	Invalid
)

func (o Outcome) String() string {
	switch o {
	case Allow:
		return "allow"
	case NeedLogin:
		return "login required"
	case Invalid:
		return "invalid request"
	}
	return "forbidden"
}

// Decision is the answer to a [Request].
type Decision struct {
	// Rule is the index of the rule that matched, or -1 when none did (the
	// default deny) or the request is Invalid.
	Rule    int
	Outcome Outcome
}

// Decide returns the decision of the first rule that matches req, or the
// default deny (Rule -1, Forbidden). It does not allocate when req.Path is
// already clean (see [CleanPath]).
func (rs *Rules) Decide(req Request) Decision {
	name, port, ok := splitHost(req.Host)
	if !ok {
		return Decision{Rule: -1, Outcome: Invalid}
	}
	path, err := CleanPath(req.Path)
	if err != nil {
		return Decision{Rule: -1, Outcome: Invalid}
	}
	ip := req.ClientIP.Unmap().WithZone("") // fe80::1%eth0 is in fe80::/10
	for i := range rs.rules {
		r := &rs.rules[i]
		if r.matches(name, port, path, req.Method, ip) {
			return Decision{Rule: i, Outcome: r.outcome(req.Caller)}
		}
	}
	return Decision{Rule: -1, Outcome: Forbidden}
}

// matches reports whether every condition of r holds.
func (r *rule) matches(name string, port int, path, method string, ip netip.Addr) bool {
	if r.port >= 0 && port != r.port {
		return false
	}
	switch r.domKind {
	case domainExact:
		if !equalFold(name, r.dom) {
			return false
		}
	case domainSuffix:
		if len(name) <= len(r.dom) || !equalFold(name[len(name)-len(r.dom):], r.dom) {
			return false
		}
	}
	if r.re != nil {
		if !r.re.MatchString(path) {
			return false
		}
	} else if r.prefix != "" && !underPrefix(path, r.prefix) {
		return false
	}
	if len(r.methods) > 0 && !containsFold(r.methods, method) {
		return false
	}
	if len(r.networks) > 0 {
		if !ip.IsValid() {
			return false
		}
		in := false
		for _, p := range r.networks {
			if p.Contains(ip) {
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

// underPrefix reports whether path is prefix or under it, segment-wise:
// "/admin" covers "/admin", "/admin/" and "/admin/x", not "/administrator".
func underPrefix(path, prefix string) bool {
	if prefix == "/" {
		return true
	}
	if len(path) < len(prefix) || path[:len(prefix)] != prefix {
		return false
	}
	return len(path) == len(prefix) || path[len(prefix)] == '/'
}

// containsFold reports whether the upper-case list holds s, ignoring ASCII
// case.
func containsFold(upper []string, s string) bool {
	for _, u := range upper {
		if len(u) != len(s) {
			continue
		}
		eq := true
		for i := 0; i < len(s); i++ {
			c := s[i]
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			if c != u[i] {
				eq = false
				break
			}
		}
		if eq {
			return true
		}
	}
	return false
}

// outcome applies r's policy to the caller (nil: anonymous).
func (r *rule) outcome(c *Caller) Outcome {
	switch r.policy {
	case policyBypass:
		return Allow
	case policyDeny:
		return Forbidden
	}
	if c == nil {
		return NeedLogin
	}
	switch r.policy {
	case policyAuthenticated:
		return Allow
	case policyAdmin:
		if c.Admin {
			return Allow
		}
	case policyGroup:
		for _, g := range c.Groups {
			for _, want := range r.groups {
				if g == want {
					return Allow
				}
			}
		}
	}
	return Forbidden
}
