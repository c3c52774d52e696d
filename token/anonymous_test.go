package token_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/token"
)

// An anonymous session (no user; package session makes them before login)
// never gets a token: Issue refuses it, and so does the refresh path
// (session.Manager.TouchForRefresh) and the access-token check (Manager.CheckLive).
func TestAnonymousSessionGetsNoToken(t *testing.T) {
	f := newFixture(t, nil)
	anon := &sesame.Session{ID: "anonymous-1", TokenHash: [32]byte{1}, CreatedAt: t0, LastSeen: t0,
		IdleTimeout: time.Hour, ExpiresAt: t0.Add(time.Hour), Data: map[string][]byte{"cart": []byte(`[]`)}}
	if err := f.store.Create(f.ctx, anon); err != nil {
		t.Fatal(err)
	}
	if p, err := f.svc.Issue(f.ctx, anon, "app", ""); !errors.Is(err, token.ErrInvalidGrant) || p != nil {
		t.Fatalf("Issue for an anonymous session: got %v, %v; want ErrInvalidGrant and no pair", p, err)
	}
	if err := f.sessions.CheckLive(f.ctx, anon.ID); err == nil {
		t.Fatal("CheckLive for an anonymous session: got nil, want a refusal")
	}
	if _, err := f.sessions.TouchForRefresh(f.ctx, anon.ID); err == nil {
		t.Fatal("Use for an anonymous session: got nil, want a refusal")
	}
}
