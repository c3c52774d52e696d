package storetest

import (
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/audit"
)

// RunAudit runs the conformance suite of audit.Log (the durable audit
// log). newLog is called once per subtest and must return an empty log
// that shares nothing with earlier calls:
//
//	func TestAuditConformance(t *testing.T) {
//		storetest.RunAudit(t, func(t *testing.T) audit.Log { return memstore.New().AuditLog() })
//	}
//
// Beyond the doc comments of audit.Log, the suite holds a log to: Seq
// grows with every Append (in the order of the events), times read back as
// the same instant to the nanosecond, in UTC, and a record keeps every
// field of its event but the user agent.
func RunAudit(t *testing.T, newLog func(t *testing.T) audit.Log) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, l audit.Log)
	}{
		{"AppendAndRecent", testAuditAppendAndRecent},
		{"Filters", testAuditFilters},
		{"Paging", testAuditPaging},
		{"Prune", testAuditPrune},
	} {
		t.Run("Audit/"+tc.name, func(t *testing.T) { tc.fn(t, newLog(t)) })
	}
}

var auditBase = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

func auditEvent(i int, typ sesame.EventType, username string) sesame.Event {
	return sesame.Event{Type: typ, Time: auditBase.Add(time.Duration(i) * time.Minute), UserID: "id-" + username,
		Username: username, SessionID: "sid", IP: "192.0.2.1", UserAgent: "agent", Reason: "r"}
}

func testAuditAppendAndRecent(t *testing.T, l audit.Log) {
	if rs, err := l.Recent(ctx(), audit.Filter{}); err != nil || len(rs) != 0 {
		t.Fatalf("empty log: %v, %v", rs, err)
	}
	must(t, "append nothing", l.Append(ctx(), nil))
	e := sesame.Event{Type: sesame.EventLoginFailure, Time: auditBase.In(time.FixedZone("x", 3600)), UserID: "u1",
		Username: "alice", SessionID: "s1", IP: "2001:db8::1", UserAgent: "Mozilla", Reason: "bad password"}
	must(t, "append", l.Append(ctx(), []sesame.Event{e, auditEvent(1, sesame.EventLoginSuccess, "bob")}))
	rs, err := l.Recent(ctx(), audit.Filter{})
	must(t, "recent", err)
	if len(rs) != 2 {
		t.Fatalf("got %d records, want 2", len(rs))
	}
	if rs[0].Seq <= rs[1].Seq || rs[1].Seq <= 0 {
		t.Errorf("seqs %d, %d: want newest first, positive", rs[0].Seq, rs[1].Seq)
	}
	got := rs[1]
	want := audit.Record{Seq: got.Seq, Type: sesame.EventLoginFailure, At: auditBase, UserID: "u1", Username: "alice",
		SessionID: "s1", IP: "2001:db8::1", Reason: "bad password"}
	if got != want || got.At.Location() != time.UTC {
		t.Errorf("record %+v, want %+v (UTC)", got, want)
	}
	if rs[0].Username != "bob" || rs[0].Type != sesame.EventLoginSuccess {
		t.Errorf("newest %+v, want bob's login.success", rs[0])
	}
	must(t, "append again", l.Append(ctx(), []sesame.Event{auditEvent(2, sesame.EventLogout, "bob")}))
	rs, err = l.Recent(ctx(), audit.Filter{Limit: 1})
	must(t, "recent", err)
	if len(rs) != 1 || rs[0].Type != sesame.EventLogout {
		t.Errorf("limit 1: %+v, want the logout", rs)
	}
}

func testAuditFilters(t *testing.T, l audit.Log) {
	var es []sesame.Event
	for i := range 30 {
		typ, name := sesame.EventLoginSuccess, "alice"
		if i%3 == 1 {
			typ = sesame.EventLoginFailure
		}
		if i%2 == 1 {
			name = "bob"
		}
		es = append(es, auditEvent(i, typ, name))
	}
	must(t, "append", l.Append(ctx(), es))
	check := func(f audit.Filter, want int) {
		t.Helper()
		rs, err := l.Recent(ctx(), f)
		must(t, "recent", err)
		if len(rs) != want {
			t.Errorf("%+v: %d records, want %d", f, len(rs), want)
		}
		for i, r := range rs {
			if f.Type != "" && r.Type != f.Type || f.Username != "" && r.Username != f.Username {
				t.Errorf("%+v: record %+v does not match", f, r)
			}
			if i > 0 && r.Seq >= rs[i-1].Seq {
				t.Errorf("%+v: not newest first", f)
			}
		}
	}
	check(audit.Filter{}, 30)
	check(audit.Filter{Type: sesame.EventLoginFailure}, 10)
	check(audit.Filter{Username: "bob"}, 15)
	check(audit.Filter{Type: sesame.EventLoginFailure, Username: "bob"}, 5) // i = 1, 7, 13, 19, 25
	check(audit.Filter{Username: "Bob"}, 0)                                 // exact
	check(audit.Filter{Type: "nope"}, 0)
}

func testAuditPaging(t *testing.T, l audit.Log) {
	for i := range 25 {
		typ := sesame.EventLoginSuccess
		if i%2 == 0 {
			typ = sesame.EventUserBlocked
		}
		must(t, "append", l.Append(ctx(), []sesame.Event{auditEvent(i, typ, "carol")}))
	}
	for _, typ := range []sesame.EventType{"", sesame.EventUserBlocked} {
		var all []audit.Record
		before := int64(0)
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			rs, err := l.Recent(ctx(), audit.Filter{Type: typ, Before: before, Limit: 4})
			must(t, "recent", err)
			if len(rs) == 0 {
				break
			}
			if len(rs) > 4 {
				t.Fatalf("page of %d, limit 4", len(rs))
			}
			all = append(all, rs...)
			before = rs[len(rs)-1].Seq
		}
		want := 25
		if typ != "" {
			want = 13
		}
		if len(all) != want {
			t.Errorf("type %q: paged through %d records, want %d", typ, len(all), want)
		}
		for i := 1; i < len(all); i++ {
			if all[i].Seq >= all[i-1].Seq {
				t.Errorf("type %q: pages overlap or are out of order at %d", typ, i)
			}
		}
	}
}

func testAuditPrune(t *testing.T, l audit.Log) {
	var es []sesame.Event
	for i := range 10 {
		es = append(es, auditEvent(i, sesame.EventLogout, "dave"))
	}
	must(t, "append", l.Append(ctx(), es))
	n, err := l.Prune(ctx(), auditBase.Add(4*time.Minute)) // events 0..3 are older
	must(t, "prune", err)
	if n != 4 {
		t.Errorf("pruned %d, want 4", n)
	}
	rs, err := l.Recent(ctx(), audit.Filter{})
	must(t, "recent", err)
	if len(rs) != 6 || !rs[len(rs)-1].At.Equal(auditBase.Add(4*time.Minute)) {
		t.Errorf("after prune: %d records, oldest %v", len(rs), rs[len(rs)-1].At)
	}
	if n, err = l.Prune(ctx(), auditBase); err != nil || n != 0 {
		t.Errorf("second prune: %d, %v; want 0", n, err)
	}
	must(t, "append after prune", l.Append(ctx(), []sesame.Event{auditEvent(20, sesame.EventLogout, "dave")}))
	rs2, err := l.Recent(ctx(), audit.Filter{Limit: 1})
	must(t, "recent", err)
	if len(rs2) != 1 || rs2[0].Seq <= rs[0].Seq {
		t.Errorf("seq after prune %+v, want above %d", rs2, rs[0].Seq)
	}
}
