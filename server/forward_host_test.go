package server_test

import (
	"testing"
)

// SEC-57: nginx accepts '?' and '#' in a Host header (its $host is then
// "wiki.example.com?") and the documented snippet writes
// $scheme://$http_host$request_uri, so a client sending
// "Host: wiki.example.com?" for /admin makes X-Original-URL
// "https://wiki.example.com?/admin". nginx's $request_uri always starts
// with '/', so the host ends only at '/': read as a bare query, that URL
// was decided as the path "/" (the catch-all rule: alice, not an admin,
// got 200 for /admin). It is refused as malformed instead.
func TestSEC57_ForwardHostEndsAtSlash(t *testing.T) {
	e := newForwardEnv(t, nil)
	alice, _, _ := forwardCallers(e)
	for _, u := range []string{
		"https://wiki.example.com?/admin", "https://wiki.example.com?:443/admin", "https://wiki.example.com?/closed",
		"https://wiki.example.com#/admin",
	} {
		for _, who := range []struct {
			name string
			hdr  []string
		}{{"anonymous", nil}, {"alice", alice}} {
			r := e.forward(proxyPeer, join(nginxHeaders("GET", u), apiHeaders, who.hdr)...)
			if r.Code != 400 {
				t.Errorf("%s, X-Original-URL %q: got %d (Remote-User %q), want 400", who.name, u, r.Code, r.Header().Get("Remote-User"))
			}
		}
	}
	// The same request with a plain Host is decided on its path.
	if r := e.forward(proxyPeer, join(nginxHeaders("GET", "https://wiki.example.com/admin"), apiHeaders, alice)...); r.Code != 403 {
		t.Errorf("alice, https://wiki.example.com/admin: got %d, want 403", r.Code)
	}
}
