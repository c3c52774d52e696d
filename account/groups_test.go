package account_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/password"
)

type eventLog struct {
	mu     sync.Mutex
	events []sesame.Event
}

func (l *eventLog) Emit(_ context.Context, e sesame.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) of(typ sesame.EventType) []sesame.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sesame.Event
	for _, e := range l.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func TestGroups(t *testing.T) {
	s, _ := newService(t, password.Params{Memory: 64, Time: 1, Threads: 1})
	log := &eventLog{}
	s.Events = log
	if _, err := s.Signup(ctx, "alice", "correct horse battery", false); err != nil {
		t.Fatalf("Signup: %v", err)
	}
	steps := []struct {
		name                 string
		do                   func() (*account.GroupUpdate, error)
		want, added, removed []string
		reason               string // of the event; "" for none
	}{
		{"add", func() (*account.GroupUpdate, error) { return s.AddGroups(ctx, "Alice", "Ops", "dev", "ops") },
			[]string{"dev", "ops"}, []string{"dev", "ops"}, nil, "added dev,ops"},
		{"add again", func() (*account.GroupUpdate, error) { return s.AddGroups(ctx, "alice", "ops") },
			[]string{"dev", "ops"}, nil, nil, ""},
		{"remove", func() (*account.GroupUpdate, error) { return s.RemoveGroups(ctx, "alice", "dev", "absent") },
			[]string{"ops"}, nil, []string{"dev"}, "removed dev"},
		{"set", func() (*account.GroupUpdate, error) { return s.SetGroups(ctx, "alice", []string{"wiki", "admins"}) },
			[]string{"admins", "wiki"}, []string{"admins", "wiki"}, []string{"ops"}, "added admins,wiki; removed ops"},
		{"set none", func() (*account.GroupUpdate, error) { return s.SetGroups(ctx, "alice", nil) },
			nil, nil, []string{"admins", "wiki"}, "removed admins,wiki"},
	}
	for _, st := range steps {
		before := len(log.of(sesame.EventGroupsChanged))
		up, err := st.do()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !slices.Equal(up.User.Groups, st.want) || !slices.Equal(up.Added, st.added) || !slices.Equal(up.Removed, st.removed) {
			t.Fatalf("%s: got groups %v added %v removed %v, want %v, %v, %v", st.name, up.User.Groups, up.Added, up.Removed, st.want, st.added, st.removed)
		}
		got, err := s.Groups(ctx, "alice")
		if err != nil || !slices.Equal(got, st.want) {
			t.Fatalf("%s: Groups: got %v, %v, want %v", st.name, got, err, st.want)
		}
		events := log.of(sesame.EventGroupsChanged)[before:]
		switch {
		case st.reason == "" && len(events) != 0:
			t.Fatalf("%s: got events %+v, want none (nothing changed)", st.name, events)
		case st.reason != "" && (len(events) != 1 || events[0].Reason != st.reason || events[0].Username != "alice" || events[0].UserID == ""):
			t.Fatalf("%s: got events %+v, want one for alice with reason %q", st.name, events, st.reason)
		}
	}
}

func TestGroupsInvalid(t *testing.T) {
	s, _ := newService(t, password.Params{Memory: 64, Time: 1, Threads: 1})
	log := &eventLog{}
	s.Events = log
	if _, err := s.Signup(ctx, "alice", "correct horse battery", false); err != nil {
		t.Fatalf("Signup: %v", err)
	}
	if _, err := s.AddGroups(ctx, "alice", "ops"); err != nil {
		t.Fatalf("AddGroups: %v", err)
	}
	many := make([]string, sesame.MaxGroupsPerUser)
	for i := range many {
		many[i] = fmt.Sprintf("g%02d", i) // with ops, one too many
	}
	cases := []struct {
		name string
		do   func() error
		code sesame.Code
		msg  string // a part of the message
	}{
		{"space", func() error { _, err := s.AddGroups(ctx, "alice", "a b"); return err }, sesame.EInvalid, "invalid"},
		{"colon", func() error { _, err := s.AddGroups(ctx, "alice", "group:x"); return err }, sesame.EInvalid, "invalid"},
		{"empty", func() error { _, err := s.AddGroups(ctx, "alice", ""); return err }, sesame.EInvalid, "required"},
		{"leading dash", func() error { _, err := s.AddGroups(ctx, "alice", "-rf"); return err }, sesame.EInvalid, "invalid"},
		{"too long", func() error { _, err := s.AddGroups(ctx, "alice", strings.Repeat("a", 65)); return err }, sesame.EInvalid, "too long"},
		{"non-ASCII", func() error { _, err := s.AddGroups(ctx, "alice", "ädmins"); return err }, sesame.EInvalid, "invalid"},
		{"bad removal", func() error { _, err := s.RemoveGroups(ctx, "alice", "a\nb"); return err }, sesame.EInvalid, "invalid"},
		{"too many in all", func() error { _, err := s.AddGroups(ctx, "alice", many...); return err }, sesame.EInvalid, "too many"},
		{"unknown user", func() error { _, err := s.AddGroups(ctx, "bob", "ops"); return err }, sesame.ENotFound, "no such user"},
		{"bad username", func() error { _, err := s.Groups(ctx, "bob smith"); return err }, sesame.EInvalid, "username"},
	}
	for _, tc := range cases {
		err := tc.do()
		if sesame.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Fatalf("%s: got %v, want code %q with %q", tc.name, err, tc.code, tc.msg)
		}
	}
	if got, _ := s.Groups(ctx, "alice"); !slices.Equal(got, []string{"ops"}) {
		t.Fatalf("groups after refused changes: got %v, want [ops]", got)
	}
	if n := len(log.of(sesame.EventGroupsChanged)); n != 1 {
		t.Fatalf("groups_changed events: got %d, want 1 (only the valid add)", n)
	}
}
