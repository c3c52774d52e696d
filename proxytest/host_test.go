package proxytest

import (
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
