// Package bench holds Sesame's benchmarks against its peers (scs,
// golang-jwt, go-jose, jwx). It is a separate module so that the peers never
// become dependencies of Sesame itself. See README.md for the figures and the
// commands that reproduce them.
package bench
