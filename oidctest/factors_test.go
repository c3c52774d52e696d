package oidctest

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/sesame-auth/sesame/factor"
	"github.com/sesame-auth/sesame/oauth"
)

// TestGoOIDCSecondFactorClaims: a user who signed in with a password and
// an authenticator app is at level 2, and the ID token go-oidc verifies
// says so: acr "2", amr ["pwd","otp"] (issue 13: the claims appear in ID
// tokens). The discovery document lists both levels.
func TestGoOIDCSecondFactorClaims(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.User("alice", pw)
	f := s.App.Factors()
	if f == nil {
		t.Fatal("the app has no second factors")
	}
	ctx := context.Background()
	u, err := s.App.Accounts().Lookup(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.BeginTOTP(ctx, u.ID, "alice", "Phone")
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if _, err := f.ConfirmTOTP(ctx, u.ID, e.ID, factor.TOTP(secret, time.Now().Add(-30*time.Second))); err != nil {
		t.Fatal(err)
	}

	cb := callback("app")
	id, sec := s.AddClient(oauth.Client{RedirectURIs: []string{cb}, FirstParty: true})
	r := newRP(t, s, id, sec, cb, oidc.ScopeOpenID)
	ag := s.NewAgent()
	ag.Login("alice", pw) // the pending session cookie
	csrf := agentCSRF(t, ag)
	body, _ := json.Marshal(map[string]string{"code": factor.TOTP(secret, time.Now())})
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/login/second-factor", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", s.URL)
	req.Header.Set("X-CSRF-Token", csrf)
	res, err := ag.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("second factor: %d %s", res.StatusCode, b)
	}

	_, _, c := r.exchange(r.authorize(ag))
	if c.ACR != "2" || !slices.Equal(c.AMR, []string{"pwd", "otp"}) {
		t.Fatalf("ID token acr %q amr %v, want 2 and [pwd otp]", c.ACR, c.AMR)
	}
}

func agentCSRF(t *testing.T, ag *Agent) string {
	t.Helper()
	res, err := ag.Client().Get(ag.s.URL + "/api/v1/csrf")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v struct {
		Token string `json:"csrf_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil || v.Token == "" {
		t.Fatalf("GET /api/v1/csrf: %d %v", res.StatusCode, err)
	}
	return v.Token
}
