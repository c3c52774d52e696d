// Package proxytest runs Sesame's documented forward-auth configurations
// (docs/proxy) in real proxies: nginx with auth_request and Caddy with
// forward_auth, in front of a small upstream that reports the identity
// headers it receives, with real Chromium for the sign-in (SEC-57). Its
// exported helpers (render a documented file, start nginx or Caddy under a
// temporary prefix, the echoing upstream) are shared with the forward-auth
// benchmark in bench/.
//
// nginx and Caddy are found through $SESAME_TEST_NGINX and
// $SESAME_TEST_CADDY, then /usr/sbin/nginx and /usr/bin/caddy, then PATH.
// Without them the tests skip and say `apt-get install nginx-light caddy`,
// except under CI=true, where a missing proxy is a failure.
package proxytest
