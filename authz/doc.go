// Package authz decides whether a request to a protected application may
// pass: an ordered list of access rules, the first that matches deciding,
// and a default deny when none does. It is the decision behind Sesame's
// forward-auth endpoint and `sesame authz test`; it knows nothing of HTTP
// handlers, sessions or configuration files.
//
//	rules, err := authz.Compile([]authz.Rule{
//		{Domain: "wiki.example.com", Path: "/static", Policy: "bypass"},
//		{Domain: "wiki.example.com", Path: "/admin", Policy: "group:admins,ops"},
//		{Domain: "*.example.com", Networks: []string{"10.0.0.0/8"}, Policy: "authenticated"},
//		{Domain: "*", Path: `^/api/v[0-9]+/internal(/|$)`, Policy: "deny"},
//	})
//	if err != nil { ... } // an authz.Errors: every problem, by rule index and field
//	d := rules.Decide(authz.Request{
//		Host: "wiki.example.com", Path: "/admin/users?page=2", Method: "GET",
//		ClientIP: netip.MustParseAddr("10.1.2.3"),
//		Caller:   &authz.Caller{Name: "alice", Groups: []string{"ops"}},
//	})
//	// d.Rule == 1, d.Outcome == authz.Allow
//
// A rule matches on the host ([Rule.Domain]: exact, "*.suffix" at any
// depth but not the bare suffix, or "*"; ASCII case and one trailing dot
// ignored; the request's port ignored unless the rule names one), the path
// (a segment-wise prefix, or a regular expression starting with '^'), the
// method and the client's network; its policy ("bypass", "deny",
// "authenticated", "admin", "group:NAME,...") then gives the [Outcome]:
// [Allow], [NeedLogin] for an anonymous caller who could pass after
// signing in, or [Forbidden] (a signed-in caller the rule refuses, any
// caller of a "deny" rule, or no rule at all). A request whose host or path
// is malformed or ambiguous is [Invalid]: never allowed.
//
// Paths are matched after [CleanPath] has decoded and cleaned them, so
// "/public/../admin", "//admin", "/%2e%2e/admin" and "/static/%2E%2E/admin"
// are all "/admin" to the rules, and the forms upstream servers disagree
// on (an encoded slash, a backslash, "..;") are refused instead of guessed
// (SEC-57).
//
// [Rules.Decide] runs on every proxied request: it allocates nothing when
// the path is already clean (BenchmarkDecide). [Rules.Lint] warns about
// rules that an earlier rule makes unreachable.
package authz
