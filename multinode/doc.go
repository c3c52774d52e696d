// Package multinode holds Sesame's multi-node tests: several real `sesame
// serve` processes over one shared deployment (SQLite on one machine;
// PostgreSQL; SQLite or PostgreSQL plus Redis), proving that they behave as
// one node: a credential from one works on all, a revocation on any is
// enforced by every other within a deadline, and a store outage gives
// 503s, never a 500 or an accepted revoked credential.
package multinode
