package proxytest

import (
	"slices"
	"testing"
)

// Group rules through each proxy: a member of the rule's group passes and
// the app gets the groups in Remote-Groups; a non-member gets 403.
func TestGroupsThroughProxy(t *testing.T) {
	for _, kind := range proxies {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			e.user("alice", alicePW, "wiki-admins", "staff")
			e.user("bob", bobPW, "staff")
			for _, tc := range []struct {
				user, pw string
				want     int
			}{{"alice", alicePW, 200}, {"bob", bobPW, 403}} {
				for transport, cred := range map[string][]string{
					"bearer": bearerHeader(e.login(tc.user, tc.pw, "header")),
					"cookie": cookieHeader(e.login(tc.user, tc.pw, "session")),
				} {
					a := e.do("GET", "/admin/settings", hdrs(api, cred)...)
					if a.status != tc.want || (a.reached != nil) != (tc.want == 200) {
						t.Errorf("%s (%s) on /admin: got %d (reached the app: %v), want %d", tc.user, transport, a.status, a.reached != nil, tc.want)
						continue
					}
					if a.reached != nil && !slices.Equal(a.reached.Identity["Remote-Groups"], []string{"staff,wiki-admins"}) {
						t.Errorf("%s (%s): the app got Remote-Groups %q, want [staff,wiki-admins]", tc.user, transport, a.reached.Identity["Remote-Groups"])
					}
				}
			}
		})
	}
}
