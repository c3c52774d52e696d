// Package proxy holds Sesame's copy-paste forward-auth configurations for
// nginx, Caddy and Traefik (the files beside this one, explained in
// README.md), embedded so that the tests in package proxytest and the
// forward-auth benchmark run exactly these files, with only their
// {{...}} placeholders filled in.
package proxy

import "embed"

// Files holds nginx.conf, Caddyfile and traefik.yml, read-only; safe for
// concurrent use.
//
//go:embed nginx.conf Caddyfile traefik.yml
var Files embed.FS
