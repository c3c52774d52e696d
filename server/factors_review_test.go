package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSEC14_OneFactorSessionOfAPasskeyUser: a session signed in with the
// password before the user added a passkey (an attacker's, with a phished
// password) cannot step up with the password alone: the passkey is asked,
// whatever the session's level, so it cannot mint recovery codes that
// would sign in past the passkey.
func TestSEC14_OneFactorSessionOfAPasskeyUser(t *testing.T) {
	e := passkeyEnv(t)
	victim := e.client()
	victim.signup("alice", alicePW)
	attacker := e.client()
	attacker.login("alice", alicePW, false)
	victim.login("alice", alicePW, false)
	victim.registerPasskey("Laptop")
	e.clock.Add(20 * time.Minute)

	r := attacker.do("POST", "/api/v1/reauthenticate", map[string]string{"password": alicePW})
	if r.StatusCode != http.StatusUnauthorized || r.errCode(t) != "step_up_required" {
		t.Fatalf("a passkey user's one-factor session stepped up with the password alone: %d %s", r.StatusCode, r.body)
	}
	for _, rq := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/factors/recovery-codes", map[string]any{}},
		{"POST", "/api/v1/factors/totp", map[string]string{"name": "Attacker"}},
		{"POST", "/api/v1/password", map[string]any{"current_password": alicePW, "new_password": "attacker owns this now 123"}},
	} {
		if r := attacker.do(rq.method, rq.path, rq.body); r.StatusCode != http.StatusUnauthorized || r.errCode(t) != "step_up_required" {
			t.Fatalf("%s %s from the stale one-factor session: %d %s", rq.method, rq.path, r.StatusCode, r.body)
		}
	}
}

// TestSEC14_OneFactorSessionChangesNoPasswordWithoutTheCode: a session
// from before the user enrolled an authenticator app cannot change the
// password with the current password alone once stale: the code is asked
// (the level of the session does not matter, the user's factors do).
func TestSEC14_OneFactorSessionChangesNoPasswordWithoutTheCode(t *testing.T) {
	e := newEnv(t)
	victim := e.client()
	victim.signup("alice", alicePW)
	attacker := e.client()
	attacker.login("alice", alicePW, false)
	victim.login("alice", alicePW, false)
	enrolTOTP(t, e, victim, "Phone")
	e.clock.Add(20 * time.Minute)
	r := attacker.do("POST", "/api/v1/password", map[string]any{"current_password": alicePW, "new_password": "attacker owns this now 123"})
	if r.StatusCode != http.StatusUnauthorized || r.errCode(t) != "step_up_required" {
		t.Fatalf("a stale one-factor session changed the password of a user with TOTP: %d %s", r.StatusCode, r.body)
	}
	if victim.me() != http.StatusOK {
		t.Fatal("the victim was signed out")
	}
}

// TestSEC61_CodeGuessingBoundedPerAccount: an attacker who knows the
// password and uses a new address (and so a new pending session) for
// every guess is still bounded: past 20 codes for the account within a
// quarter of an hour, codes are refused with 429, even the right one,
// until the account has been quiet.
func TestSEC61_CodeGuessingBoundedPerAccount(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", alicePW)
	c.login("alice", alicePW, false)
	app, _ := enrolTOTP(t, e, c, "Phone")
	c.want(c.do("POST", "/api/v1/logout", nil), http.StatusNoContent)
	e.clock.Add(30 * time.Second)
	now := e.clock.Now()
	valid := map[string]bool{app.code(now.Add(-30 * time.Second)): true, app.code(now): true, app.code(now.Add(30 * time.Second)): true}
	checked, throttled := 0, 0
	for round := 0; round < 60; round++ {
		xff := fmt.Sprintf("2001:db8:%x::1", round+1) // a new /64 each round
		a := e.client()
		st := a.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": alicePW}, "X-Forwarded-For", xff)
		if st.StatusCode != http.StatusOK || !strings.Contains(string(st.body), "second_factor_required") {
			t.Fatalf("round %d: password step %d %s", round, st.StatusCode, st.body)
		}
		code := fmt.Sprintf("%06d", round)
		if valid[code] {
			continue
		}
		switch r := a.do("POST", "/api/v1/login/second-factor", map[string]string{"code": code}, "X-Forwarded-For", xff); r.StatusCode {
		case http.StatusTooManyRequests:
			throttled++
		case http.StatusUnauthorized:
			checked++
		default:
			t.Fatalf("round %d: %d %s", round, r.StatusCode, r.body)
		}
	}
	if checked > 20 || throttled == 0 {
		t.Fatalf("%d codes checked for one account from 60 addresses, %d throttled: want at most 20 checked", checked, throttled)
	}
	a := e.client()
	a.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": alicePW}, "X-Forwarded-For", "2001:db8:ffff::1")
	if r := a.do("POST", "/api/v1/login/second-factor", map[string]string{"code": app.code(now)}, "X-Forwarded-For", "2001:db8:ffff::1"); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the right code during the account's wait: %d, want 429", r.StatusCode)
	}
	// Once the account has been quiet for the window, the user gets in.
	e.clock.Add(16 * time.Minute)
	b := e.client()
	passwordStep(t, b, "alice", nil)
	b.want(b.do("POST", "/api/v1/login/second-factor", map[string]string{"code": app.code(e.clock.Now())}), http.StatusOK)
}

// TestConcurrentRemovalKeepsARequiredFactor: two concurrent removals of
// the two factors of a user who must have one leave one (on one node).
func TestConcurrentRemovalKeepsARequiredFactor(t *testing.T) {
	e := newEnv(t)
	adm := e.admin()
	c := e.client()
	c.signup("alice", alicePW)
	adm.want(adm.do("PUT", "/api/v1/admin/users/alice/factors/required", map[string]bool{"required": true}), http.StatusOK)
	c.login("alice", alicePW, false) // a pending session that must enrol: the enrolment signs it in
	a1, _ := enrolTOTP(t, e, c, "One")
	for round := 0; round < 5; round++ {
		e.clock.Add(30 * time.Second)
		a2, _ := enrolTOTP(t, e, c, "Two")
		var wg sync.WaitGroup
		st := make([]int, 2)
		for i, id := range []string{a1.id, a2.id} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st[i] = c.do("DELETE", "/api/v1/factors/"+id, nil).StatusCode
			}()
		}
		wg.Wait()
		var v struct {
			TOTP []struct{ ID string }
		}
		c.want(c.do("GET", "/api/v1/factors", nil), http.StatusOK).json(t, &v)
		if len(v.TOTP) != 1 {
			t.Fatalf("round %d: statuses %v left %d factors, want 1", round, st, len(v.TOTP))
		}
		a1.id = v.TOTP[0].ID
	}
}
