package authz_test

import (
	"fmt"
	"net/netip"

	"github.com/sesame-auth/sesame/authz"
)

func ExampleRules_Decide() {
	rules, err := authz.Compile([]authz.Rule{
		{Domain: "wiki.example.com", Path: "/static", Policy: "bypass"},
		{Domain: "wiki.example.com", Path: "/admin", Policy: "group:admins,ops"},
		{Domain: "*.example.com", Networks: []string{"10.0.0.0/8"}, Policy: "authenticated"},
	})
	if err != nil {
		panic(err)
	}
	alice := &authz.Caller{Name: "alice", Groups: []string{"ops"}}
	bob := &authz.Caller{Name: "bob"}
	office := netip.MustParseAddr("10.1.2.3")
	for _, req := range []authz.Request{
		{Host: "wiki.example.com", Path: "/static/app.js", Method: "GET"},
		{Host: "wiki.example.com", Path: "/static/../admin", Method: "GET"},
		{Host: "wiki.example.com", Path: "/admin/users?page=2", Method: "GET", Caller: alice},
		{Host: "wiki.example.com", Path: "/admin/users", Method: "GET", Caller: bob},
		{Host: "grafana.example.com", Path: "/", Method: "GET", ClientIP: office, Caller: bob},
		{Host: "grafana.example.com", Path: "/", Method: "GET", Caller: bob},
		{Host: "wiki.example.com", Path: "/static%2F..%2Fadmin", Method: "GET"},
	} {
		d := rules.Decide(req)
		fmt.Printf("%s%s: rule %d, %s\n", req.Host, req.Path, d.Rule, d.Outcome)
	}
	// Output:
	// wiki.example.com/static/app.js: rule 0, allow
	// wiki.example.com/static/../admin: rule 1, login required
	// wiki.example.com/admin/users?page=2: rule 1, allow
	// wiki.example.com/admin/users: rule 1, forbidden
	// grafana.example.com/: rule 2, allow
	// grafana.example.com/: rule -1, forbidden
	// wiki.example.com/static%2F..%2Fadmin: rule -1, invalid request
}

func ExampleCleanPath() {
	for _, p := range []string{"/a//b/./c/../d/?q=1", "/%2e%2e/admin", "/public/..;/admin"} {
		clean, err := authz.CleanPath(p)
		fmt.Printf("%q %v\n", clean, err)
	}
	// Output:
	// "/a/b/d/" <nil>
	// "/admin" <nil>
	// "" authz: malformed or ambiguous path
}
