package authz

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// matrixRules is the list the decision matrix runs against; the comments
// are the indices the cases expect.
var matrixRules = []Rule{
	/* 0 */ {Domain: "public.example.com", Policy: "bypass"},
	/* 1 */ {Domain: "wiki.example.com", Path: "/static", Policy: "bypass"},
	/* 2 */ {Domain: "wiki.example.com", Path: "/admin/", Policy: "admin"},
	/* 3 */ {Domain: "wiki.example.com", Path: `^/api/v[0-9]+/private(/|$)`, Policy: "group:ops,admins"},
	/* 4 */ {Domain: "wiki.example.com", Methods: []string{"DELETE", "put"}, Policy: "group", Groups: []string{"editors"}},
	/* 5 */ {Domain: "wiki.example.com", Networks: []string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"}, Policy: "bypass"},
	/* 6 */ {Domain: "wiki.example.com", Policy: "authenticated"},
	/* 7 */ {Domain: "grafana.example.com:8443", Policy: "bypass"},
	/* 8 */ {Domain: "*.internal.example.com", Policy: "deny"},
	/* 9 */ {Domain: "*.example.com", Path: "/", Policy: "authenticated"},
	/* 10 */ {Domain: "*", Path: "/health", Methods: []string{"GET", "HEAD"}, Policy: "bypass"},
}

var (
	anon   *Caller
	alice  = &Caller{Name: "alice"}
	ops    = &Caller{Name: "olga", Groups: []string{"dev", "ops"}}
	editor = &Caller{Name: "ed", Groups: []string{"editors"}}
	root   = &Caller{Name: "root", Admin: true}
)

// TestDecideMatrix: domain (exact, wildcard, case, trailing dot, port),
// path (prefix, segment boundary, regex), method, network, every policy
// for anonymous, signed-in, group and admin callers, order and the default
// deny.
func TestDecideMatrix(t *testing.T) {
	rs, err := Compile(matrixRules)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                   string
		host, path, method, ip string
		caller                 *Caller
		wantRule               int
		wantOutcome            Outcome
	}{
		// Domain.
		{"exact host", "public.example.com", "/x", "GET", "", anon, 0, Allow},
		{"host case-insensitive", "PUBLIC.Example.COM", "/x", "GET", "", anon, 0, Allow},
		{"host trailing dot", "public.example.com.", "/x", "GET", "", anon, 0, Allow},
		{"port ignored when the rule names none", "public.example.com:8080", "/", "GET", "", anon, 0, Allow},
		{"rule port matches", "grafana.example.com:8443", "/", "GET", "", anon, 7, Allow},
		{"rule port, other port", "grafana.example.com:443", "/", "GET", "", anon, 9, NeedLogin},
		{"rule port, no port", "grafana.example.com", "/", "GET", "", anon, 9, NeedLogin},
		{"rule port, leading zero", "grafana.example.com:08443", "/", "GET", "", anon, 7, Allow},
		{"wildcard one level", "a.internal.example.com", "/", "GET", "", root, 8, Forbidden},
		{"wildcard any depth", "a.b.internal.example.com", "/", "GET", "", root, 8, Forbidden},
		{"wildcard not the bare suffix", "internal.example.com", "/", "GET", "", alice, 9, Allow},
		{"wildcard case", "X.INTERNAL.example.com", "/", "GET", "", root, 8, Forbidden},
		{"suffix is not a substring", "evilexample.com", "/", "GET", "", alice, -1, Forbidden},
		{"other domain: only the * rule", "other.org", "/health", "GET", "", anon, 10, Allow},
		{"other domain: default deny", "other.org", "/", "GET", "", root, -1, Forbidden},
		{"default deny anonymous is forbidden", "other.org", "/", "GET", "", anon, -1, Forbidden},
		// Path.
		{"prefix itself", "wiki.example.com", "/static", "GET", "", anon, 1, Allow},
		{"under prefix", "wiki.example.com", "/static/app.js", "GET", "", anon, 1, Allow},
		{"segment boundary", "wiki.example.com", "/staticfoo", "GET", "", anon, 6, NeedLogin},
		{"query ignored", "wiki.example.com", "/static?x=/admin", "GET", "", anon, 1, Allow},
		{"prefix with trailing slash covers the bare path", "wiki.example.com", "/admin", "GET", "", alice, 2, Forbidden},
		{"admin rule, admin", "wiki.example.com", "/admin/users", "GET", "", root, 2, Allow},
		{"admin rule, anonymous", "wiki.example.com", "/admin/users", "GET", "", anon, 2, NeedLogin},
		{"admin rule, group member", "wiki.example.com", "/admin/users", "GET", "", ops, 2, Forbidden},
		{"paths are case-sensitive", "wiki.example.com", "/ADMIN", "GET", "", alice, 6, Allow},
		{"regex match", "wiki.example.com", "/api/v2/private/x", "GET", "", ops, 3, Allow},
		{"regex end", "wiki.example.com", "/api/v10/private", "GET", "", ops, 3, Allow},
		{"regex no match", "wiki.example.com", "/api/v2/privateer", "GET", "", ops, 6, Allow},
		{"regex, not in group", "wiki.example.com", "/api/v1/private", "GET", "", alice, 3, Forbidden},
		{"regex, admin is not a group member", "wiki.example.com", "/api/v1/private", "GET", "", root, 3, Forbidden},
		{"regex, anonymous", "wiki.example.com", "/api/v1/private", "GET", "", anon, 3, NeedLogin},
		{"regex sees the cleaned path", "wiki.example.com", "/api/v1/public/../private", "GET", "", alice, 3, Forbidden},
		// Method.
		{"method listed", "wiki.example.com", "/page", "DELETE", "", editor, 4, Allow},
		{"method from lower-case rule", "wiki.example.com", "/page", "PUT", "", editor, 4, Allow},
		{"method any case", "wiki.example.com", "/page", "delete", "", alice, 4, Forbidden},
		{"method not listed", "wiki.example.com", "/page", "GET", "", alice, 6, Allow},
		{"method rule anonymous", "wiki.example.com", "/page", "PUT", "", anon, 4, NeedLogin},
		{"health GET", "x.org", "/health", "HEAD", "", anon, 10, Allow},
		{"health POST", "x.org", "/health", "POST", "", anon, -1, Forbidden},
		// Network.
		{"network in CIDR", "wiki.example.com", "/page", "GET", "10.1.2.3", anon, 5, Allow},
		{"network IPv4-mapped client", "wiki.example.com", "/page", "GET", "::ffff:10.1.2.3", anon, 5, Allow},
		{"network single address", "wiki.example.com", "/page", "GET", "192.0.2.7", anon, 5, Allow},
		{"network single address, neighbour", "wiki.example.com", "/page", "GET", "192.0.2.8", anon, 6, NeedLogin},
		{"network IPv6 with a zone", "wiki.example.com", "/page", "GET", "2001:db8::1%eth0", anon, 5, Allow},
		{"network IPv6", "wiki.example.com", "/page", "GET", "2001:db8::1", anon, 5, Allow},
		{"network outside", "wiki.example.com", "/page", "GET", "11.0.0.1", anon, 6, NeedLogin},
		{"network, no client IP", "wiki.example.com", "/page", "GET", "", anon, 6, NeedLogin},
		// Order: the earlier rule wins even where a later one would allow.
		{"order: admin before network bypass", "wiki.example.com", "/admin", "GET", "10.0.0.1", anon, 2, NeedLogin},
		{"order: deny before wildcard authenticated", "db.internal.example.com", "/", "GET", "", alice, 8, Forbidden},
		{"authenticated, signed in", "wiki.example.com", "/page", "GET", "", alice, 6, Allow},
		{"authenticated, anonymous", "wiki.example.com", "/page", "GET", "", anon, 6, NeedLogin},
		{"deny, anonymous is forbidden", "x.internal.example.com", "/", "GET", "", anon, 8, Forbidden},
		// Invalid input.
		{"empty host", "", "/", "GET", "", root, -1, Invalid},
		{"host with a slash", "wiki.example.com/x", "/", "GET", "", root, -1, Invalid},
		{"host with a bad port", "wiki.example.com:http", "/", "GET", "", root, -1, Invalid},
		{"host with an empty label", "wiki..example.com", "/", "GET", "", root, -1, Invalid},
		{"unicode host", "wiki.exampl\u0435.com", "/", "GET", "", root, -1, Invalid},
		{"bad path", "wiki.example.com", "/%zz", "GET", "", root, -1, Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ip netip.Addr
			if tc.ip != "" {
				ip = netip.MustParseAddr(tc.ip)
			}
			got := rs.Decide(Request{Host: tc.host, Path: tc.path, Method: tc.method, ClientIP: ip, Caller: tc.caller})
			if got.Rule != tc.wantRule || got.Outcome != tc.wantOutcome {
				t.Errorf("Decide(%s %s%s from %q as %v): got rule %d %s, want rule %d %s",
					tc.method, tc.host, tc.path, tc.ip, tc.caller, got.Rule, got.Outcome, tc.wantRule, tc.wantOutcome)
			}
		})
	}
}

// TestSEC57_PathBypassAttempts: from the attacker's side, every trick
// that reaches /admin on a common upstream is judged by the /admin rule,
// or refused as Invalid; none reaches the bypass rules (SEC-57).
func TestSEC57_PathBypassAttempts(t *testing.T) {
	rs, err := Compile([]Rule{
		{Domain: "app.example.com", Path: "/admin", Policy: "admin"},
		{Domain: "app.example.com", Path: "^/internal", Policy: "deny"},
		{Domain: "app.example.com", Path: "/public", Policy: "bypass"},
		{Domain: "app.example.com", Path: "/", Policy: "bypass"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, attack := range []struct {
		path string
		rule int // the protecting rule, or -1 for Invalid
	}{
		{"/admin", 0},
		{"//admin", 0},
		{"///admin/x", 0},
		{"/./admin", 0},
		{"/public/../admin", 0},
		{"/public/../../admin", 0},
		{"/public/./../admin/", 0},
		{"/%2e%2e/admin", 0},
		{"/public/%2e%2e/admin", 0},
		{"/public/%2E%2e/admin", 0},
		{"/public/.%2e/admin", 0},
		{"/%61dmin", 0},
		{"/%2561dmin", -2}, // decoded once: "/%61dmin", not /admin (and not a bypass of it: upstreams decode once)
		{"/admin?/public", 0},
		{"/admin/..", -3}, // "/" is really the root: the bypass rule, correctly
		{"/public%2F..%2Fadmin", -1},
		{"/public%2f..%2fadmin", -1},
		{"/public\\..\\admin", -1},
		{"/public%5C..%5Cadmin", -1},
		{"/public/..;/admin", -1},
		{"/admin;x", -1},
		{"/admin%00", -1},
		{"/public%00/../admin", -1},
		{"/admin#x", -1},
		{"/internal/x", 1},
		{"/public/../internal", 1},
		{"//internal", 1},
		{"/%69nternal", 1},
	} {
		for _, caller := range []*Caller{nil, alice} {
			d := rs.Decide(Request{Host: "app.example.com", Path: attack.path, Method: "GET", Caller: caller})
			switch {
			case attack.rule >= 0:
				if d.Rule != attack.rule || d.Outcome == Allow {
					t.Errorf("path %q as %v: got rule %d %s, want rule %d refusing", attack.path, caller, d.Rule, d.Outcome, attack.rule)
				}
			case attack.rule == -1:
				if d.Outcome != Invalid || d.Rule != -1 {
					t.Errorf("path %q as %v: got rule %d %s, want Invalid", attack.path, caller, d.Rule, d.Outcome)
				}
			default:
				if d.Rule != 3 {
					t.Errorf("path %q as %v: got rule %d %s, want the root bypass (rule 3)", attack.path, caller, d.Rule, d.Outcome)
				}
			}
		}
	}
	// The host too: a trailing dot, upper case or a port do not escape the
	// rule for app.example.com (a host rule of its own for the attacker to
	// slip past).
	for _, host := range []string{"APP.example.com", "app.example.com.", "app.example.com:443", "App.Example.Com.:8080"} {
		if d := rs.Decide(Request{Host: host, Path: "/admin", Caller: alice}); d.Rule != 0 || d.Outcome != Forbidden {
			t.Errorf("host %q: got rule %d %s, want rule 0 forbidden", host, d.Rule, d.Outcome)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name  string
		rule  Rule
		field string
		msg   string
	}{
		{"empty domain", Rule{Policy: "bypass"}, "domain", "required"},
		{"bad domain", Rule{Domain: "wiki example.com", Policy: "bypass"}, "domain", "want a host"},
		{"wildcard inside", Rule{Domain: "wiki.*.com", Policy: "bypass"}, "domain", "want a host"},
		{"wildcard suffix", Rule{Domain: "*.", Policy: "bypass"}, "domain", "*.example.com"},
		{"bad port", Rule{Domain: "wiki.example.com:99999", Policy: "bypass"}, "domain", "bad port"},
		{"relative path", Rule{Domain: "*", Path: "admin", Policy: "bypass"}, "path", "starting with /"},
		{"unclean path", Rule{Domain: "*", Path: "/a/../b", Policy: "bypass"}, "path", "/b"},
		{"escaped path", Rule{Domain: "*", Path: "/a%20b", Policy: "bypass"}, "path", "plain path prefix"},
		{"bad regex", Rule{Domain: "*", Path: "^/a(", Policy: "bypass"}, "path", "bad regular expression"},
		{"bad method", Rule{Domain: "*", Methods: []string{"GE T"}, Policy: "bypass"}, "methods", "not an HTTP method"},
		{"bad CIDR", Rule{Domain: "*", Networks: []string{"10.0.0.0/33"}, Policy: "bypass"}, "networks", "CIDR"},
		{"host bits", Rule{Domain: "*", Networks: []string{"10.1.2.3/8"}, Policy: "bypass"}, "networks", "10.0.0.0/8"},
		{"bad address", Rule{Domain: "*", Networks: []string{"localhost"}, Policy: "bypass"}, "networks", "CIDR"},
		{"no policy", Rule{Domain: "*"}, "policy", "required"},
		{"unknown policy", Rule{Domain: "*", Policy: "allow"}, "policy", `unknown policy "allow"`},
		{"argument to another policy", Rule{Domain: "*", Policy: "admin:x"}, "policy", "only group"},
		{"group without names", Rule{Domain: "*", Policy: "group"}, "policy", "names no group"},
		{"empty group name", Rule{Domain: "*", Policy: "group:a,,b"}, "policy", "bad group name"},
		{"upper-case group name (could never match a user's groups)", Rule{Domain: "*", Policy: "group:Admins"}, "policy", `write "admins"`},
		{"group name with a space", Rule{Domain: "*", Policy: "group", Groups: []string{"a b"}}, "policy", "bad group name"},
		{"group name beginning with a dot", Rule{Domain: "*", Policy: "group:.x"}, "policy", "bad group name"},
		{"groups with another policy", Rule{Domain: "*", Policy: "authenticated", Groups: []string{"ops"}}, "groups", "only a group policy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok := Rule{Domain: "*", Policy: "bypass"}
			_, err := Compile([]Rule{ok, tc.rule})
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("got error %v, want an Errors", err)
			}
			e := es[0]
			if e.Index != 1 || e.Field != tc.field || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got rule %d field %q message %q, want rule 1 field %q message containing %q", e.Index, e.Field, e.Msg, tc.field, tc.msg)
			}
			if !strings.Contains(err.Error(), "authz: rule 1: "+tc.field+": ") {
				t.Errorf("got error text %q, want it to name rule 1 and %s", err, tc.field)
			}
			var re *RuleError
			if !errors.As(err, &re) || re != e {
				t.Errorf("errors.As(*RuleError): got %v, want the first problem", re)
			}
		})
	}
	t.Run("every problem at once", func(t *testing.T) {
		_, err := Compile([]Rule{{Policy: "nope"}, {Domain: "*", Path: "x", Policy: "deny"}})
		var es Errors
		if !errors.As(err, &es) || len(es) != 3 {
			t.Fatalf("got %v, want 3 problems (domain and policy of rule 0, path of rule 1)", err)
		}
	})
	t.Run("empty list denies everything", func(t *testing.T) {
		rs, err := Compile(nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := rs.Decide(Request{Host: "x.org", Path: "/", Caller: root}); d.Rule != -1 || d.Outcome != Forbidden {
			t.Errorf("got %+v, want the default deny", d)
		}
	})
}

func TestGroupForms(t *testing.T) {
	for _, r := range []Rule{
		{Domain: "*", Policy: "group:ops,admins"},
		{Domain: "*", Policy: "group: ops , admins"},
		{Domain: "*", Policy: "group", Groups: []string{"ops", "admins"}},
		{Domain: "*", Policy: "group:ops", Groups: []string{"admins"}},
	} {
		rs, err := Compile([]Rule{r})
		if err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		for _, c := range []struct {
			caller *Caller
			want   Outcome
		}{
			{&Caller{Groups: []string{"admins"}}, Allow},
			{&Caller{Groups: []string{"x", "ops"}}, Allow},
			{&Caller{Groups: []string{"Ops"}}, Forbidden}, // group names compare exactly
			{&Caller{Admin: true}, Forbidden},
			{nil, NeedLogin},
		} {
			if got := rs.Decide(Request{Host: "h", Path: "/", Caller: c.caller}).Outcome; got != c.want {
				t.Errorf("rule %v, caller %+v: got %s, want %s", r, c.caller, got, c.want)
			}
		}
	}
}

func TestLint(t *testing.T) {
	cases := []struct {
		name  string
		rules []Rule
		want  []string // one substring per warning
	}{
		{"none", matrixRules, nil},
		{"after a catch-all", []Rule{
			{Domain: "a.example.com", Policy: "bypass"},
			{Domain: "*", Policy: "authenticated"},
			{Domain: "b.example.com", Policy: "deny"},
			{Domain: "*", Path: "/", Policy: "deny"},
		}, []string{"rule 2 (domain=b.example.com policy=deny) is unreachable: rule 1", "rule 3 (domain=* path=/ policy=deny) is unreachable: rule 1 (domain=* policy=authenticated) is a catch-all"}},
		{"wildcard covers a host", []Rule{
			{Domain: "*.example.com", Policy: "authenticated"},
			{Domain: "wiki.example.com", Path: "/admin", Policy: "admin"},
			{Domain: "example.com", Policy: "admin"},
		}, []string{"rule 1 "}},
		{"prefix covers a longer prefix", []Rule{
			{Domain: "w.example.com", Path: "/admin", Policy: "admin"},
			{Domain: "W.example.com", Path: "/admin/users", Methods: []string{"GET"}, Policy: "bypass"},
			{Domain: "w.example.com", Path: "/administrator", Policy: "bypass"},
		}, []string{"rule 1 "}},
		{"narrower methods or networks do not cover", []Rule{
			{Domain: "*", Methods: []string{"GET"}, Policy: "bypass"},
			{Domain: "*", Networks: []string{"10.0.0.0/8"}, Policy: "bypass"},
			{Domain: "*", Networks: []string{"10.1.0.0/16"}, Methods: []string{"POST"}, Policy: "deny"},
			{Domain: "x.org", Policy: "deny"},
		}, []string{"rule 2 "}},
		{"a port narrows", []Rule{
			{Domain: "*:8443", Policy: "bypass"},
			{Domain: "*", Policy: "deny"},
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := Compile(tc.rules)
			if err != nil {
				t.Fatal(err)
			}
			got := rs.Lint()
			if len(got) != len(tc.want) {
				t.Fatalf("got %d warnings %q, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) && !strings.Contains(got[i], w) {
					t.Errorf("warning %d: got %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

// TestDecideNoAlloc: the common path (a clean path, any rule kind)
// allocates nothing.
func TestDecideNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("under -race sync.Pool drops items at random (regexp keeps its matchers in one): allocations cannot be counted")
	}
	rs, err := Compile(matrixRules)
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range benchRequests() {
		if n := testing.AllocsPerRun(100, func() { rs.Decide(req) }); n != 0 {
			t.Errorf("Decide(%s%s): got %v allocations, want 0", req.Host, req.Path, n)
		}
	}
}

func benchRequests() []Request {
	ip := netip.MustParseAddr("10.1.2.3")
	return []Request{
		{Host: "wiki.example.com", Path: "/page/edit?x=1", Method: "GET", ClientIP: ip, Caller: alice},
		{Host: "wiki.example.com:443", Path: "/api/v1/private/x", Method: "GET", Caller: ops},
		{Host: "grafana.example.com", Path: "/d/abc", Method: "POST", Caller: editor},
		{Host: "other.org", Path: "/health", Method: "HEAD"},
	}
}

// BenchmarkDecide: one decision over the matrix's 11 rules, for requests
// that match an early rule, a regex rule, a late wildcard rule and the
// last rule.
func BenchmarkDecide(b *testing.B) {
	rs, err := Compile(matrixRules)
	if err != nil {
		b.Fatal(err)
	}
	reqs := benchRequests()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		rs.Decide(reqs[i%len(reqs)])
	}
}

// FuzzDecide: no host, path or method makes Decide panic, an Invalid
// decision names no rule, and a decision on a path equals the decision on
// its cleaned form (cleaning is all the path handling there is).
func FuzzDecide(f *testing.F) {
	rs, err := Compile(matrixRules)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][3]string{
		{"wiki.example.com", "/admin/../static", "GET"},
		{"WIKI.example.com.:8443", "//api/v1/private", "DELETE"},
		{"[::1]:80", "/%2e%2e/x", "put"},
		{"a.internal.example.com", "/a%2fb", ""},
		{"x", "/..;/", "HEAD"},
	} {
		f.Add(s[0], s[1], s[2], true)
	}
	f.Fuzz(func(t *testing.T, host, p, method string, signedIn bool) {
		var c *Caller
		if signedIn {
			c = ops
		}
		d := rs.Decide(Request{Host: host, Path: p, Method: method, Caller: c})
		if d.Outcome == Invalid && d.Rule != -1 || d.Rule < -1 || d.Rule >= rs.Len() {
			t.Fatalf("Decide(%q, %q, %q) = %+v", host, p, method, d)
		}
		if clean, err := CleanPath(p); err == nil && d.Outcome != Invalid {
			if d2 := rs.Decide(Request{Host: host, Path: clean, Method: method, Caller: c}); d2 != d && !strings.ContainsAny(clean, "%?#;") {
				t.Fatalf("Decide(%q) = %+v but Decide(%q) = %+v", p, d, clean, d2)
			}
		}
	})
}

// BenchmarkDecideUncleanPath: the uncommon path, one that must be decoded
// and cleaned first (it allocates the cleaned copy).
func BenchmarkDecideUncleanPath(b *testing.B) {
	rs, err := Compile(matrixRules)
	if err != nil {
		b.Fatal(err)
	}
	req := Request{Host: "wiki.example.com", Path: "/static/%2e%2e/admin//users/", Method: "GET", Caller: alice}
	b.ReportAllocs()
	for b.Loop() {
		rs.Decide(req)
	}
}
