package token_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

const (
	apiRes     = "https://api.example"
	billingRes = "https://billing.example"
	userinfo   = "https://auth.test/oauth2/userinfo"
)

// audOf returns the aud of a token signed by the fixture's key.
func (f *fixture) audOf(tok string) []string {
	f.t.Helper()
	payload, _, err := jose.Verify(tok, f.keys)
	if err != nil {
		f.t.Fatal(err)
	}
	var c struct {
		Aud jose.Audience `json:"aud"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		f.t.Fatal(err)
	}
	return c.Aud
}

// oauthLogin starts a session for user and issues a family for an OAuth
// client with audience aud.
func (f *fixture) oauthLogin(user string, aud ...string) (*sesame.Session, *token.Pair) {
	f.t.Helper()
	sess, err := f.sessions.StartTokenSession(f.ctx, user, session.LoginOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := f.svc.IssueWith(f.ctx, sess, token.IssueOptions{ClientID: "client1", Scope: "openid profile", Audience: aud})
	if err != nil {
		f.t.Fatalf("IssueWith: %v", err)
	}
	return sess, p
}

func (f *fixture) wantVerify(tok string, aud []string, ok bool) *token.AccessClaims {
	f.t.Helper()
	c, err := f.svc.Verify(f.ctx, tok, aud)
	switch {
	case ok && err != nil:
		f.t.Fatalf("Verify(%v): %v, want success", aud, err)
	case !ok && err == nil:
		f.t.Fatalf("Verify(%v): got success, want rejection", aud)
	case !ok && sesame.ErrorCode(err) != sesame.EUnauthenticated:
		f.t.Fatalf("Verify(%v): got code %s, want unauthenticated", aud, sesame.ErrorCode(err))
	}
	return c
}

// TestRFC8707_IssueWithAudience: a family issued for resources carries
// them as aud, in every token of the family; Sesame's own API never
// accepts such a token, and a resource server accepts it only for its own
// identifier.
func TestRFC8707_IssueWithAudience(t *testing.T) {
	f := newFixture(t, nil)
	sess, p := f.oauthLogin("alice", apiRes, userinfo, apiRes)
	if got := f.audOf(p.AccessToken); !slices.Equal(got, []string{apiRes, userinfo}) {
		t.Fatalf("aud: got %q, want [api userinfo] (duplicates dropped)", got)
	}
	c := f.wantVerify(p.AccessToken, []string{apiRes}, true)
	if c.Subject != "alice" || c.SessionID != sess.ID || c.ClientID != "client1" || c.Scope != "openid profile" {
		t.Errorf("claims: got %+v", c)
	}
	f.wantVerify(p.AccessToken, []string{billingRes}, false)
	f.wantVerify(p.AccessToken, []string{"https://auth.test"}, false)
	f.wantAuth(p.AccessToken, false) // Sesame's own API: aud must be the issuer
	if code, _ := serveMW(f, bearerReq(p.AccessToken)); code != 401 {
		t.Errorf("middleware: got %d, want 401 for a token issued for %s", code, apiRes)
	}

	// The family keeps its audience across refreshes.
	p2, err := f.svc.RefreshWith(f.ctx, p.RefreshToken, token.RefreshOptions{ClientID: "client1"})
	if err != nil {
		t.Fatalf("RefreshWith: %v", err)
	}
	if got := f.audOf(p2.AccessToken); !slices.Equal(got, []string{apiRes, userinfo}) {
		t.Fatalf("aud after refresh: got %q, want the family's", got)
	}
	f.wantAuth(p2.AccessToken, false)

	// Issue (no audience) is first-party: aud = the issuer.
	_, fp := f.login("bob")
	if got := f.audOf(fp.AccessToken); !slices.Equal(got, []string{"https://auth.test"}) {
		t.Errorf("first-party aud: got %q", got)
	}
	if _, err := f.svc.IssueWith(f.ctx, sess, token.IssueOptions{Audience: []string{apiRes, ""}}); !errors.Is(err, token.ErrInvalidTarget) {
		t.Errorf("IssueWith an empty audience value: got %v, want ErrInvalidTarget", err)
	}
}

// TestRFC8707_RefreshNarrowsNeverWidens: a refresh may ask for part of the
// family's audience; the next refresh may ask for all of it again; asking
// for a resource outside it is invalid_target and does not use the token
// up.
func TestRFC8707_RefreshNarrowsNeverWidens(t *testing.T) {
	f := newFixture(t, nil)
	_, p := f.oauthLogin("alice", apiRes, userinfo)

	for _, widen := range [][]string{{billingRes}, {apiRes, billingRes}, {"https://auth.test"}, {""}} {
		_, err := f.svc.RefreshWith(f.ctx, p.RefreshToken, token.RefreshOptions{Audience: widen})
		if !errors.Is(err, token.ErrInvalidTarget) || sesame.ErrorCode(err) != sesame.EInvalid || !strings.HasPrefix(sesame.ErrorMessage(err), "invalid_target") {
			t.Fatalf("refresh asking for %q: got %v, want invalid_target", widen, err)
		}
	}
	narrow, err := f.svc.RefreshWith(f.ctx, p.RefreshToken, token.RefreshOptions{Audience: []string{apiRes}})
	if err != nil {
		t.Fatalf("narrowing refresh after refused ones (the token was not used up): %v", err)
	}
	if got := f.audOf(narrow.AccessToken); !slices.Equal(got, []string{apiRes}) {
		t.Fatalf("narrowed aud: got %q, want [api]", got)
	}
	f.wantVerify(narrow.AccessToken, []string{userinfo}, false)
	again, err := f.svc.RefreshWith(f.ctx, narrow.RefreshToken, token.RefreshOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.audOf(again.AccessToken); !slices.Equal(got, []string{apiRes, userinfo}) {
		t.Fatalf("aud after a narrowed refresh: got %q, want the family's whole audience", got)
	}

	// A replay within the grace gets the audience it asks for, within the
	// family's, and no more.
	replay, err := f.svc.RefreshWith(f.ctx, narrow.RefreshToken, token.RefreshOptions{Audience: []string{userinfo}})
	if err != nil {
		t.Fatalf("replay within the grace: %v", err)
	}
	if got := f.audOf(replay.AccessToken); !slices.Equal(got, []string{userinfo}) {
		t.Errorf("replay aud: got %q, want [userinfo]", got)
	}
	if _, err := f.svc.RefreshWith(f.ctx, narrow.RefreshToken, token.RefreshOptions{Audience: []string{billingRes}}); !errors.Is(err, token.ErrInvalidTarget) {
		t.Errorf("replay asking for another resource: got %v, want ErrInvalidTarget", err)
	}

	// A first-party family's audience is the issuer's.
	_, fp := f.login("bob")
	if _, err := f.svc.RefreshWith(f.ctx, fp.RefreshToken, token.RefreshOptions{Audience: []string{apiRes}}); !errors.Is(err, token.ErrInvalidTarget) {
		t.Errorf("first-party refresh asking for %s: got %v, want ErrInvalidTarget", apiRes, err)
	}
	fp2, err := f.svc.RefreshWith(f.ctx, fp.RefreshToken, token.RefreshOptions{Audience: []string{"https://auth.test"}})
	if err != nil {
		t.Fatal(err)
	}
	f.wantAuth(fp2.AccessToken, true)
}

// TestSEC59_ClientCredentialsTokenNeverAUser: a client's own token (no
// sid, sub = client_id) is refused by Authenticate and the middleware
// (Sesame's own API), even with the issuer as aud; Verify accepts it for
// its audience and says it has no session.
func TestSEC59_ClientCredentialsTokenNeverAUser(t *testing.T) {
	f := newFixture(t, nil)
	p, err := f.svc.ClientCredentials(f.ctx, "svc1", "read", []string{apiRes}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p.RefreshToken != "" || p.ExpiresIn != 900 || p.TokenType != "Bearer" || p.Scope != "read" {
		t.Errorf("pair: got %+v, want a 15 min Bearer token and no refresh token", p)
	}
	if b, _ := json.Marshal(p); strings.Contains(string(b), "refresh_token") {
		t.Errorf("JSON %s has a refresh_token member", b)
	}
	c := f.wantVerify(p.AccessToken, []string{apiRes}, true)
	if c.Subject != "svc1" || c.ClientID != "svc1" || c.SessionID != "" {
		t.Errorf("claims: got sub %q client_id %q sid %q", c.Subject, c.ClientID, c.SessionID)
	}
	payload, _, _ := jose.Verify(p.AccessToken, f.keys)
	if strings.Contains(string(payload), `"sid"`) {
		t.Errorf("payload %s has a sid member", payload)
	}
	f.wantVerify(p.AccessToken, []string{billingRes}, false)

	// Even a client token naming the issuer as audience is not a user's.
	own, err := f.svc.ClientCredentials(f.ctx, "svc1", "", []string{"https://auth.test"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{p.AccessToken, own.AccessToken} {
		f.wantAuth(tok, false)
		if code, got := serveMW(f, bearerReq(tok)); code != 401 || got != nil {
			t.Errorf("middleware: got %d with principal %v, want 401", code, got)
		}
	}
	// Verify caching it does not make Authenticate accept it.
	f.wantVerify(own.AccessToken, []string{"https://auth.test"}, true)
	f.wantAuth(own.AccessToken, false)

	if _, err := f.svc.ClientCredentials(f.ctx, "svc1", "", nil, 0); !errors.Is(err, token.ErrInvalidTarget) {
		t.Errorf("ClientCredentials without audience: got %v, want ErrInvalidTarget", err)
	}
	if _, err := f.svc.ClientCredentials(f.ctx, "", "", []string{apiRes}, 0); err == nil {
		t.Error("ClientCredentials without client_id: got nil error")
	}
	long, err := f.svc.ClientCredentials(f.ctx, "svc1", "", []string{apiRes}, 24*time.Hour)
	if err != nil || long.ExpiresIn != int(token.MaxAccessTTL.Seconds()) {
		t.Errorf("ClientCredentials for 24 h: got %v, %v; want capped at MaxAccessTTL", long, err)
	}
}

// TestSEC59_VerifyRefusesOtherTokenKinds: an ID token (typ JWT), a logout
// token and a token without typ, signed by the same key with the same
// claims, are refused; a sid-less token whose sub is not its client_id is
// refused.
func TestSEC59_VerifyRefusesOtherTokenKinds(t *testing.T) {
	f := newFixture(t, nil)
	sess, _ := f.oauthLogin("alice", apiRes)
	now := f.clock.Now()
	claims := func() *token.AccessClaims {
		return &token.AccessClaims{
			Claims: jose.Claims{Issuer: "https://auth.test", Subject: "alice", Audience: jose.Audience{apiRes},
				IssuedAt: jose.NewNumericDate(now), ExpiresAt: jose.NewNumericDate(now.Add(time.Minute)), ID: "j1"},
			SessionID: sess.ID, ClientID: "client1",
		}
	}
	f.wantVerify(f.sign(claims(), "at+jwt"), []string{apiRes}, true) // the control
	for _, typ := range []string{"JWT", "logout+jwt", ""} {
		f.wantVerify(f.sign(claims(), typ), []string{apiRes}, false)
	}
	noSID := map[string]any{"iss": "https://auth.test", "sub": "alice", "aud": apiRes, "iat": now.Unix(),
		"exp": now.Add(time.Minute).Unix(), "jti": "j2", "client_id": "client1"}
	f.wantVerify(f.sign(noSID, "at+jwt"), []string{apiRes}, false)
	noSID["sub"] = "client1"
	f.wantVerify(f.sign(noSID, "at+jwt"), []string{apiRes}, true)
	other := claims()
	other.Issuer = "https://evil.test"
	f.wantVerify(f.sign(other, "at+jwt"), []string{apiRes}, false)
	if _, err := f.svc.Verify(f.ctx, f.sign(claims(), "at+jwt"), nil); err == nil {
		t.Error("Verify with no audiences: got success")
	}
}

// TestSEC64_VerifyNeedsALiveSession: a token with sid verifies only while
// its session lives, cached or not.
func TestSEC64_VerifyNeedsALiveSession(t *testing.T) {
	f := newFixture(t, nil)
	sess, p := f.oauthLogin("alice", apiRes)
	f.wantVerify(p.AccessToken, []string{apiRes}, true)
	f.wantVerify(p.AccessToken, []string{apiRes}, true) // from the cache
	if _, err := f.sessions.Revoke(f.ctx, sess.ID, "logout"); err != nil {
		t.Fatal(err)
	}
	f.wantVerify(p.AccessToken, []string{apiRes}, false)
	f.clock.Add(15 * time.Minute)
	_, p2 := f.oauthLogin("bob", apiRes)
	f.wantVerify(p2.AccessToken, []string{apiRes}, true)
	f.clock.Add(15 * time.Minute)
	f.wantVerify(p2.AccessToken, []string{apiRes}, false) // expired, though cached
}
