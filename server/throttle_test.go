package server_test

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
)

// SEC-46: N failures from one IP → 429 with Retry-After, on both of two
// servers sharing one store; the real user from another IP still logs in.
func TestSEC46_ThrottleAcrossServers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	a, b := newEnvOn(t, path), newEnvOn(t, path)
	user := a.client()
	user.signup("alice", pw)
	attackerA, attackerB := a.client(), b.client()
	const attackerIP = "203.0.113.5"
	for i := range 10 {
		srv := attackerA
		if i%2 == 1 {
			srv = attackerB // the failures land on both nodes
		}
		r := srv.do("POST", "/api/v1/login", map[string]string{"username": "user" + strconv.Itoa(i), "password": "guess guess guess"},
			"X-Forwarded-For", attackerIP)
		if r.StatusCode != 401 {
			t.Fatalf("failure %d: got %d %s, want 401", i+1, r.StatusCode, r.body)
		}
	}
	for name, c := range map[string]*client{"node A": attackerA, "node B": attackerB} {
		r := c.do("POST", "/api/v1/login", map[string]string{"username": "alice", "password": pw}, "X-Forwarded-For", attackerIP)
		if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" || r.errCode(t) != "too_many_requests" {
			t.Fatalf("%s, 11th attempt from the attacker's IP: got %d (Retry-After %q), want 429 with Retry-After",
				name, r.StatusCode, r.Header.Get("Retry-After"))
		}
	}
	// The real user, from elsewhere, is not locked out.
	user.want(user.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw}, "X-Forwarded-For", "198.51.100.7"), 200)
	if len(a.events(sesame.EventLoginFailure))+len(b.events(sesame.EventLoginFailure)) < 12 {
		t.Fatal("SEC-53: throttled and failed logins must be logged")
	}
	// After the wait the attacker's IP may try again.
	a.clock.Add(2 * time.Second)
	r := attackerA.do("POST", "/api/v1/login", map[string]string{"username": "alice", "password": pw}, "X-Forwarded-For", attackerIP)
	if r.StatusCode != 200 {
		t.Fatalf("after the backoff: got %d, want 200", r.StatusCode)
	}
}

// SEC-52: the audit log records the client IP the trusted proxy vouches
// for, and a spoofed X-Forwarded-For from an untrusted peer is not
// believed (the harness trusts only 127.0.0.1, the test's own address, so
// here the right-most entry is what counts).
func TestSEC52_ForwardedForRightMost(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", pw)
	c.do("POST", "/api/v1/login", map[string]string{"username": "alice", "password": "wrong password 1"},
		"X-Forwarded-For", "10.9.9.9, 192.0.2.44")
	evs := e.events(sesame.EventLoginFailure)
	if len(evs) != 1 || evs[0]["ip"] != "192.0.2.44" {
		t.Fatalf("login.failure ip: got %v, want 192.0.2.44 (the entry the trusted proxy added)", evs)
	}
}
