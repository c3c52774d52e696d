package proxytest

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/authz"
	"github.com/sesame-auth/sesame/config"
)

// SEC-57: the host Sesame decides on is the host the proxy serves. A
// request in absolute form ("GET http://localhost:PORT/wiki/secret") with
// the Host header of a bypass host: nginx picks the server block by the
// request line's host, so the snippet must not describe the request to
// Sesame with the Host header's, or the bypass host's rule lets the
// request through to the protected app.
func TestSEC57_AbsoluteFormHostThroughProxy(t *testing.T) {
	bypass := func(cfg *config.Config) {
		cfg.AccessRules = append([]authz.Rule{{Domain: "public.example.com", Policy: "bypass"}}, cfg.AccessRules...)
	}
	for _, kind := range proxies {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, bypass)
			port := e.frontIP[strings.LastIndexByte(e.frontIP, ':'):]
			a := e.doHost("public.example.com", "GET", "http://localhost"+port+"/wiki/secret", api...)
			if a.reached != nil || a.status/100 != 4 {
				t.Errorf("anonymous GET http://localhost%s/wiki/secret with Host public.example.com: got %d (reached the app: %+v), want a 4xx that never reaches it", port, a.status, a.reached)
			}
		})
	}
}

// A browser navigation to a long URL (within what the proxies accept) is
// sent to the login page with that URL as its return target, never
// answered 500: the login URL repeats the original URL percent-encoded
// (up to three times its length), more than nginx's default buffer for
// the headers of Sesame's answer (4 KiB or 8 KiB) holds.
func TestLongURLNavigationThroughProxy(t *testing.T) {
	for _, kind := range proxies {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			for _, n := range []int{1000, 2000, 2600} {
				path := "/wiki/" + strings.Repeat("%41", n/6) + "?q=" + strings.Repeat("a&", n/4)
				a := e.do("GET", path, navigation...)
				loc := a.header.Get("Location")
				if a.status != 302 || !strings.HasPrefix(loc, e.sesame+"/login?next=") || a.reached != nil {
					t.Errorf("navigation to a %d-byte URL: got %d with Location of %d bytes (reached the app: %v), want 302 to the login page", len(path), a.status, len(loc), a.reached != nil)
				}
			}
		})
	}
}

// SEC-57: nginx lets '?' into a Host header, and the snippet writes
// $scheme://$http_host$request_uri, so "Host: localhost?" for
// /admin/settings reached Sesame as "http://localhost?:PORT/admin/settings".
// Sesame must not read the part after '?' as a query on "/" (the
// catch-all rule, which lets bob in): bob, outside wiki-admins, never
// reaches /admin through a Host with '?' or '#'. Sent over a raw
// connection: Go's client refuses such a Host. nginx only: Caddy, a Go
// server, answers such a Host 400 itself ("malformed Host header").
func TestSEC57_QueryMarkInHostThroughProxy(t *testing.T) {
	for _, kind := range []string{"nginx"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			e.user("bob", bobPW)
			cookie := e.login("bob", bobPW, "session")
			port := e.frontIP[strings.LastIndexByte(e.frontIP, ':'):]
			for _, host := range []string{"localhost?" + port, "localhost?", "localhost#" + port} {
				before := len(e.up.Requests())
				c, err := net.Dial("tcp", e.frontIP)
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.Write([]byte("GET /admin/settings HTTP/1.1\r\nHost: " + host + "\r\nAccept: application/json\r\nCookie: " +
					sessionCookie + "=" + cookie + "\r\nConnection: close\r\n\r\n"))
				if err != nil {
					t.Fatal(err)
				}
				res, err := http.ReadResponse(bufio.NewReader(c), nil)
				c.Close()
				if err != nil {
					t.Fatalf("Host %q: %v", host, err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				// The Go upstream itself refuses such a Host (400 "malformed
				// Host header") where a PHP or Python app would serve it: an
				// answer from the upstream counts as reaching the app.
				reached := len(e.up.Requests()) > before || strings.Contains(string(b), "malformed Host header")
				if reached || res.StatusCode/100 != 4 {
					t.Errorf("bob, GET /admin/settings with Host %q: got %d (reached the app: %v), want a 4xx from the proxy or Sesame", host, res.StatusCode, reached)
				}
			}
		})
	}
}
