//go:build !race

package authz

// raceEnabled: the tests run under -race (see race_on_test.go).
const raceEnabled = false
