package main

import (
	"encoding/base32"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/factor"
)

// TestUserFactorsCommand: `sesame user factors` lists a user's second
// factors without a secret, resets them (every session of the user ends,
// and the password alone signs in again), and requires one: the next
// password login then asks for an enrolment.
func TestUserFactorsCommand(t *testing.T) {
	w := newWorld(t)
	w.addUser("alice", canaryPassword, false)
	s := w.serve()
	defer s.stop(t)
	c := w.client(s.url)
	tok := c.login("alice", canaryPassword)

	resp, body := c.do(http.MethodPost, "/api/v1/factors/totp", tok, map[string]string{"name": "Phone"})
	c.expect(resp, body, http.StatusCreated)
	var en struct{ ID, Secret string }
	if err := json.Unmarshal(body, &en); err != nil {
		t.Fatal(err)
	}
	w.secret(en.Secret)
	secret, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(en.Secret)
	resp, body = c.do(http.MethodPost, "/api/v1/factors/totp/confirm", tok, map[string]string{"id": en.ID, "code": factor.TOTP(secret, time.Now())})
	c.expect(resp, body, http.StatusOK)

	r := w.mustRun(0, "", "user", "factors", "alice", "list")
	for _, want := range []string{"totp " + en.ID + ` "Phone"`, "recovery codes: 10 of 10 unused", "second factor required: false"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("user factors list: %q lacks %q", r.stdout, want)
		}
	}
	// The password alone no longer signs in.
	resp, body = c.do(http.MethodPost, "/api/v1/login", "", map[string]any{"username": "alice", "password": canaryPassword})
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"second_factor_required":true`) {
		t.Fatalf("a password login with a factor: %d %s", resp.StatusCode, body)
	}

	r = w.mustRun(0, "", "user", "factors", "alice", "reset")
	if !strings.Contains(r.stdout, "reset alice: 1 second factors removed") {
		t.Errorf("user factors reset: %q", r.stdout)
	}
	c.eventuallyMe(tok, http.StatusUnauthorized)
	fresh := c.login("alice", canaryPassword) // the password alone again
	if got := c.meStatus(fresh); got != http.StatusOK {
		t.Fatalf("after the reset the password alone does not sign in: %d", got)
	}

	w.mustRun(0, "", "user", "factors", "alice", "require")
	resp, body = c.do(http.MethodPost, "/api/v1/login", "", map[string]any{"username": "alice", "password": canaryPassword})
	if !strings.Contains(string(body), `"enrolment_required":true`) {
		t.Fatalf("a required user without a factor: %d %s", resp.StatusCode, body)
	}
	w.mustRun(2, "", "user", "factors", "alice", "drop")
	w.mustRun(1, "", "user", "factors", "nobody", "list")
	w.checkNoSecrets()
}
