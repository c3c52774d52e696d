package server_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/session"
)

// SEC-13, blocking is final everywhere: a block that never reached the
// session store (made, as an operator's command without access to it would
// make it, through a session manager over another store) still refuses the
// blocked user's cookie, access token, refresh token and token exchange
// on every node; and unblocking revives none of them, while a new login
// works. Each phase is checked on a node that has not cached the user.
func TestSEC13_BlockIsFinalWithoutTheSessionStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	a := newEnvOn(t, path)
	browser := a.client()
	browser.signup("alice", pw)
	browser.login("alice", pw, false)
	cookie := browser.sessionCookie()
	app := a.client()
	app.origin = ""
	pair := app.loginHeader("alice", pw)
	if browser.me() != 200 || a.meBearer(pair.AccessToken) != 200 {
		t.Fatal("alice is not signed in")
	}
	aliceID := browser.userID(t, cookie)

	// The block, told to a session store that is not the deployment's.
	a.clock.Add(time.Second)
	elsewhere, err := session.New(memstore.New(), session.Config{Clock: a.clock})
	if err != nil {
		t.Fatal(err)
	}
	cli := *a.accounts
	cli.Sessions = elsewhere
	if _, err := cli.SetBlocked(context.Background(), "alice", true); err != nil {
		t.Fatal(err)
	}
	if list, err := a.sessions.List(context.Background(), aliceID); err != nil || len(list) != 2 {
		t.Fatalf("the deployment's session store: %d sessions (%v); the test wants them untouched", len(list), err)
	}

	check := func(phase string, n *env) {
		t.Helper()
		stolen := n.client()
		stolen.setSessionCookie(cookie)
		if got := stolen.me(); got != 401 {
			t.Errorf("%s: the old session cookie: got %d, want 401", phase, got)
		}
		if got := stolen.do("POST", "/api/v1/token/session", map[string]string{}); got.StatusCode != 401 {
			t.Errorf("%s: exchanging the old session for tokens: got %d %s, want 401", phase, got.StatusCode, got.body)
		}
		if got := n.meBearer(pair.AccessToken); got != 401 {
			t.Errorf("%s: the old access token: got %d, want 401", phase, got)
		}
		api := n.client()
		api.origin = ""
		r := api.refresh(pair.RefreshToken)
		if r.StatusCode != 401 || !strings.Contains(string(r.body), "invalid_grant") {
			t.Errorf("%s: the old refresh token: got %d %s, want 401 invalid_grant", phase, r.StatusCode, r.body)
		}
	}
	b := newEnvOn(t, path)
	b.clock.Set(a.clock.Now())
	check("blocked", b)

	if _, err := cli.SetBlocked(context.Background(), "alice", false); err != nil {
		t.Fatal(err)
	}
	c := newEnvOn(t, path)
	c.clock.Set(a.clock.Now().Add(time.Second))
	check("unblocked", c)

	// A new login works, with every credential.
	fresh := c.client()
	fresh.login("alice", pw, false)
	if fresh.me() != 200 {
		t.Fatal("a new login after unblock: /me refused")
	}
	api := c.client()
	api.origin = ""
	p := api.loginHeader("alice", pw)
	if c.meBearer(p.AccessToken) != 200 {
		t.Fatal("a new access token after unblock refused")
	}
	api.want(api.refresh(p.RefreshToken), 200)
}

// userID returns the user ID of the session with this cookie.
func (c *client) userID(t *testing.T, cookie string) string {
	t.Helper()
	probe := c.e.client()
	probe.setSessionCookie(cookie)
	var me struct {
		User struct{ ID string }
	}
	probe.want(probe.do("GET", "/api/v1/me", nil), 200).json(t, &me)
	return me.User.ID
}
