package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/sqlite"
)

// TestCloseWaitsForBackgroundWork: Close stops the background work and
// waits for it before it closes the stores. A back-channel logout
// delivery in flight when the node shuts down gives its claim back, so
// the next node delivers at once; had the stores been closed under it
// (before), the give-back failed and the notice waited out its 30 s lease.
func TestCloseWaitsForBackgroundWork(t *testing.T) {
	inFlight := make(chan struct{}, 1)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		select {
		case inFlight <- struct{}{}:
		default:
		}
		<-r.Context().Done() // hangs until the dispatcher gives up on it
	}))
	defer rp.Close()

	path := filepath.Join(t.TempDir(), "sesame.db")
	a, err := newApp(t, testConfig(t, path))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.OAuthStore().CreateClient(ctx, &oauth.Client{ID: "rp", Public: true, RedirectURIs: []string{"https://rp.example.com/cb"},
		BackchannelLogoutURI: rp.URL + "/backchannel"}); err != nil {
		t.Fatal(err)
	}
	s, err := a.Sessions().StartTokenSession(ctx, "user-1", session.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.OAuthStore().AddLogoutTarget(ctx, &oauth.LogoutTarget{SessionID: s.ID, ClientID: "rp", UserID: "user-1", CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	a.Start(ctx)
	if _, err := a.Sessions().Revoke(ctx, s.ID, "test"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatal("no back-channel delivery attempt within 30 s of the logout")
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	ts, err := db.ClaimLogouts(ctx, now.Add(time.Second), now.Add(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].SessionID != s.ID {
		t.Fatalf("claimable notices after Close: got %d, want the interrupted one, given back due now (still claimed: Close closed the stores under the delivery)", len(ts))
	}
}
