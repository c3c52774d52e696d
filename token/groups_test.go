package token_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/token"
)

// TestGroupsClaim: Config.Groups is read each time an access token is
// signed and its answer is the groups claim, which Authenticate returns; a
// user that is gone fails with invalid_grant and a store that cannot
// answer with EUnavailable, before any refresh token is created or
// redeemed.
func TestGroupsClaim(t *testing.T) {
	var mu sync.Mutex
	groups := []string{"dev", "ops"}
	var fail error
	f := newFixture(t, func(c *token.Config) {
		c.Grace = -1 // no grace: a token spent by a failed refresh would be a reuse
		c.Groups = func(_ context.Context, userID string) ([]string, error) {
			mu.Lock()
			defer mu.Unlock()
			if userID != "alice" {
				t.Errorf("Groups asked for %q, want alice", userID)
			}
			return slices.Clone(groups), fail
		}
	})
	set := func(g []string, err error) {
		mu.Lock()
		groups, fail = g, err
		mu.Unlock()
	}
	sess, p := f.login("alice")
	if c := f.wantAuth(p.AccessToken, true); !slices.Equal(c.Groups, []string{"dev", "ops"}) {
		t.Fatalf("issued: groups %v, want [dev ops]", c.Groups)
	}
	set([]string{"wiki"}, nil)
	p2, err := f.svc.Refresh(f.ctx, p.RefreshToken, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if c := f.wantAuth(p2.AccessToken, true); !slices.Equal(c.Groups, []string{"wiki"}) {
		t.Fatalf("refreshed after a change: groups %v, want [wiki]", c.Groups)
	}

	// Failures refuse the refresh and leave the refresh token unused: it
	// works once the groups can be read again.
	for _, tc := range []struct {
		name string
		err  error
		code sesame.Code
	}{
		{"user gone", sesame.ErrNotFound, sesame.EUnauthenticated},
		{"store down", errors.New("connection refused"), sesame.EUnavailable},
	} {
		set(nil, tc.err)
		if _, err := f.svc.Refresh(f.ctx, p2.RefreshToken, "", ""); sesame.ErrorCode(err) != tc.code {
			t.Fatalf("%s: refresh got %v, want code %s", tc.name, err, tc.code)
		}
		if _, err := f.svc.Issue(f.ctx, sess, "app", ""); sesame.ErrorCode(err) != tc.code {
			t.Fatalf("%s: issue got %v, want code %s", tc.name, err, tc.code)
		}
	}
	set(nil, nil)
	p3, err := f.svc.Refresh(f.ctx, p2.RefreshToken, "", "")
	if err != nil {
		t.Fatalf("refresh after the failures: %v (a failed groups read must not spend the token)", err)
	}
	if c := f.wantAuth(p3.AccessToken, true); c.Groups != nil {
		t.Fatalf("a user in no group: groups %#v, want the claim omitted", c.Groups)
	}
	if n := f.count(sesame.EventRefreshReuse); n != 0 {
		t.Fatalf("refresh.reuse events: got %d, want 0", n)
	}
}

// TestNoGroupsClaimByDefault: without Config.Groups no token carries one.
func TestNoGroupsClaimByDefault(t *testing.T) {
	f := newFixture(t, nil)
	_, p := f.login("alice")
	if c := f.wantAuth(p.AccessToken, true); c.Groups != nil {
		t.Fatalf("groups %v, want none", c.Groups)
	}
}
