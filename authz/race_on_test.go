//go:build race

package authz

// raceEnabled: the tests run under -race, where sync.Pool drops items at
// random, so allocation counts are not meaningful.
const raceEnabled = true
