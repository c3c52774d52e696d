package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
)

// SEC-53 to SEC-55: every lifecycle event of issue 6 is an audit record
// with UTC time, who, what and from where, and none carries a secret.
func TestSEC53_EveryLifecycleEventAudited(t *testing.T) {
	e := newEnv(t)
	const canary = "canary-pass-9d1e77"
	root := e.admin()
	c := e.client()
	c.signup("alice", canary)
	c.do("POST", "/api/v1/login", map[string]string{"username": "alice", "password": "wrong " + canary})
	c.login("alice", canary, false)
	cookieTok := c.sessionCookie()
	c.want(c.do("POST", "/api/v1/password", map[string]string{"current_password": canary, "new_password": canary + "-2"}), 204) // renews
	api := e.client()
	api.origin = ""
	p := api.loginHeader("alice", canary+"-2")
	var p2 pairBody
	api.want(api.refresh(p.RefreshToken), 200).json(t, &p2)
	e.clock.Add(11 * time.Second)
	api.refresh(p.RefreshToken) // reuse
	api.do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+p2.AccessToken)
	c.do("POST", "/api/v1/logout", nil, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	c.want(c.do("POST", "/api/v1/logout", nil), 204)
	idle := e.client()
	idle.login("alice", canary+"-2", false)
	e.clock.Add(31 * time.Minute)
	idle.me() // expired
	root.login("root", "correct horse battery", false)
	root.want(root.do("POST", "/api/v1/admin/users/alice/block", nil), 200)

	for _, ev := range []sesame.EventType{
		sesame.EventSignup, sesame.EventLoginSuccess, sesame.EventLoginFailure, sesame.EventLogout,
		sesame.EventSessionCreated, sesame.EventSessionRenewed, sesame.EventSessionRevoked, sesame.EventSessionExpired,
		sesame.EventRefreshRotated, sesame.EventRefreshReuse, sesame.EventUserBlocked, sesame.EventCSRFRejected,
		sesame.EventBadToken, sesame.EventPasswordChange, sesame.EventTokenIssued,
	} {
		evs := e.events(ev)
		if len(evs) == 0 {
			t.Errorf("no %s audit record", ev)
			continue
		}
		at, _ := evs[0]["at"].(string)
		if ts, err := time.Parse(time.RFC3339Nano, at); err != nil || !strings.HasSuffix(at, "Z") || ts.IsZero() {
			t.Errorf("%s: at %q, want a UTC RFC 3339 time", ev, at)
		}
	}
	for _, f := range e.events(sesame.EventLoginFailure) {
		if f["reason"] == nil || f["ip"] == nil {
			t.Errorf("login.failure without reason or ip: %v", f)
		}
	}
	logs := e.logs.String()
	for name, secret := range map[string]string{"password": canary, "session token": cookieTok,
		"access token": p.AccessToken, "refresh token": p.RefreshToken, "successor refresh token": p2.RefreshToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("SEC-54: the audit log contains the %s", name)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if line != "" && !json.Valid([]byte(line)) {
			t.Errorf("SEC-55: a log line is not one JSON record: %.80q", line)
		}
	}
}
