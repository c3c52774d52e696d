package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
)

type auditEventBody struct {
	Seq       int64  `json:"seq"`
	Type      string `json:"type"`
	At        string `json:"at"`
	UserID    string `json:"user_id"`
	Username  string `json:"username"`
	SessionID string `json:"session_id"`
	IP        string `json:"ip"`
	Reason    string `json:"reason"`
}

type auditBody struct {
	Events []auditEventBody `json:"events"`
	Next   *int64           `json:"next"`
}

func (c *client) audit(query string) auditBody {
	c.e.t.Helper()
	var b auditBody
	c.want(c.do("GET", "/api/v1/admin/audit"+query, nil), 200).json(c.e.t, &b)
	return b
}

// TestAdminAudit: the events of a sign-in, a failed sign-in and a block
// reach the durable audit log and the admin audit view (JSON and page),
// filtered by type and by username, paged by seq; a non-admin is refused;
// bad filters are a 400; no password nor session token is shown.
func TestAdminAudit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	root := e.admin()
	alice := e.client()
	alice.signup("alice", pw)
	alice.login("alice", pw, false)
	cookie := alice.sessionCookie()
	wrong := "wrong-" + pw
	bad := e.client()
	bad.want(bad.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": wrong},
		"X-Forwarded-For", "198.51.100.7"), 401)
	root.want(root.do("POST", "/api/v1/admin/users/alice/block", nil), 200)
	bob := e.client()
	bob.signup("bob", pw)
	bob.login("bob", pw, false)
	e.app.FlushAudit(ctx)

	all := root.audit("")
	if len(all.Events) == 0 {
		t.Fatal("the audit log is empty")
	}
	for i := 1; i < len(all.Events); i++ {
		if all.Events[i].Seq >= all.Events[i-1].Seq {
			t.Fatalf("events not newest first: %+v", all.Events)
		}
	}
	find := func(b auditBody, typ sesame.EventType, user string) *auditEventBody {
		for i := range b.Events {
			if b.Events[i].Type == string(typ) && b.Events[i].Username == user {
				return &b.Events[i]
			}
		}
		return nil
	}
	for _, typ := range []sesame.EventType{sesame.EventLoginSuccess, sesame.EventLoginFailure, sesame.EventUserBlocked} {
		if find(all, typ, "alice") == nil {
			t.Errorf("no %s of alice in %+v", typ, all.Events)
		}
	}
	if f := find(all, sesame.EventLoginFailure, "alice"); f != nil {
		if f.IP != "198.51.100.7" || f.Reason == "" {
			t.Errorf("login.failure: ip %q reason %q, want the client's IP and a reason", f.IP, f.Reason)
		}
		if at, err := time.Parse(time.RFC3339Nano, f.At); err != nil || !at.Equal(e.clock.Now()) {
			t.Errorf("login.failure at %q, want %v", f.At, e.clock.Now())
		}
	}
	if all.Next != nil {
		t.Errorf("next = %d with fewer than 50 events", *all.Next)
	}

	// Filters.
	fails := root.audit("?type=login.failure")
	if len(fails.Events) != 1 || fails.Events[0].Username != "alice" {
		t.Errorf("type=login.failure: %+v, want alice's one failure", fails.Events)
	}
	aliceOnly := root.audit("?user=alice")
	for _, ev := range aliceOnly.Events {
		if ev.Username != "alice" {
			t.Errorf("user=alice: an event of %q", ev.Username)
		}
	}
	if find(aliceOnly, sesame.EventUserBlocked, "alice") == nil || find(aliceOnly, sesame.EventLoginSuccess, "alice") == nil {
		t.Errorf("user=alice: %+v, want her sign-in and block", aliceOnly.Events)
	}
	if b := root.audit("?user=alice&type=login.success"); len(b.Events) != 1 || b.Events[0].Username != "alice" {
		t.Errorf("user=alice&type=login.success: %+v", b.Events)
	}
	if b := root.audit("?user=bob&type=user.blocked"); len(b.Events) != 0 {
		t.Errorf("bob was never blocked: %+v", b.Events)
	}

	// Paging: 120 more events of one user, 50 a page, by seq.
	var many []sesame.Event
	for i := range 120 {
		many = append(many, sesame.Event{Type: sesame.EventLogout, Time: e.clock.Now(), Username: "pager", Reason: fmt.Sprint(i)})
	}
	if err := e.app.AuditLog().Append(ctx, many); err != nil {
		t.Fatal(err)
	}
	var got []auditEventBody
	query := "?user=pager"
	for pages := 1; ; pages++ {
		b := root.audit(query)
		if len(b.Events) > 50 {
			t.Fatalf("page of %d events", len(b.Events))
		}
		got = append(got, b.Events...)
		if b.Next == nil {
			if pages != 3 {
				t.Errorf("%d pages, want 3", pages)
			}
			break
		}
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		query = fmt.Sprintf("?user=pager&before=%d", *b.Next)
	}
	if len(got) != 120 || got[0].Reason != "119" || got[119].Reason != "0" {
		t.Fatalf("paged through %d events (first %+v), want 120 newest first", len(got), got[0])
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq >= got[i-1].Seq {
			t.Fatalf("pages overlap or out of order at %d", i)
		}
	}

	// The page: newest first, filtered, paged, linked from /admin.
	html := func(path string) string {
		t.Helper()
		return string(root.want(root.do("GET", path, nil, "Accept", "text/html"), 200).body)
	}
	if !strings.Contains(html("/admin"), `href="/admin/audit"`) {
		t.Error("/admin does not link to the audit view")
	}
	page := html("/admin/audit?type=login.failure")
	if !strings.Contains(page, `data-type="login.failure"`) || strings.Contains(page, `data-type="login.success"`) ||
		!strings.Contains(page, `<option value="login.failure" selected>`) || !strings.Contains(page, `data-label="IP address"`) {
		t.Errorf("/admin/audit?type=login.failure does not show just the failures:\n%s", page)
	}
	page = html("/admin/audit?user=pager")
	if strings.Count(page, `data-type="logout"`) != 50 || !strings.Contains(page, `id="next-page"`) || strings.Contains(page, `id="first-page"`) {
		t.Errorf("the first page of pager's events: %d rows", strings.Count(page, `data-type="logout"`))
	}
	page = html(fmt.Sprintf("/admin/audit?user=pager&before=%d", got[99].Seq))
	if strings.Count(page, `data-type="logout"`) != 20 || strings.Contains(page, `id="next-page"`) || !strings.Contains(page, `id="first-page"`) {
		t.Errorf("the last page of pager's events: %d rows", strings.Count(page, `data-type="logout"`))
	}

	// Bad input is a 400; a non-admin gets 403.
	for _, q := range []string{"?type=nope", "?before=abc", "?before=-1", "?before=0"} {
		if r := root.do("GET", "/api/v1/admin/audit"+q, nil); r.StatusCode != 400 || r.errCode(t) == "" {
			t.Errorf("%s: %d %s, want a 400 JSON error", q, r.StatusCode, r.body)
		}
	}
	if r := bob.do("GET", "/api/v1/admin/audit", nil); r.StatusCode != 403 {
		t.Errorf("a non-admin's GET /api/v1/admin/audit: %d, want 403", r.StatusCode)
	}
	if r := bob.do("GET", "/admin/audit", nil, "Accept", "text/html"); r.StatusCode != 403 || strings.Contains(string(r.body), "data-seq") {
		t.Errorf("a non-admin's GET /admin/audit: %d, want 403 without events", r.StatusCode)
	}

	// No secret.
	body := string(root.do("GET", "/api/v1/admin/audit", nil).body) + html("/admin/audit")
	for name, secret := range map[string]string{"password": pw, "wrong password": wrong, "session token": cookie} {
		if strings.Contains(body, secret) {
			t.Errorf("the audit view shows the %s", name)
		}
	}
}
