// Package oidctest proves that Sesame's OpenID Provider (package oauth)
// works with relying-party software nobody here wrote: the tests drive the
// whole flow with github.com/coreos/go-oidc/v3 and golang.org/x/oauth2,
// with github.com/zitadel/oidc/v3's RP and resource-server packages as a
// second, independent client, and with oauth2-proxy in front of a small
// upstream, its sign-in clicked through in real Chromium.
//
// Its exported harness ([Start], [Sesame.AddClient], [Agent]) is shared with
// the test of examples/oidc-client: a real Sesame built through package app
// (the wiring `sesame serve` uses) with a temporary SQLite database, on a
// loopback server whose URL, http://localhost:PORT, is the issuer; clients
// registered in its store; and a Go user agent whose cookie jar follows the
// authorization redirects with Sesame's Secure session cookie.
//
// oauth2-proxy is found through $SESAME_TEST_OAUTH2_PROXY (.ci/run builds
// it once with `go install` into a cache directory), then PATH; Chromium
// through $SESAME_TEST_CHROMIUM, /usr/bin/chromium, then PATH. Without them
// those tests skip and say how to get them, except under CI=true, where a
// missing program is a failure.
package oidctest
