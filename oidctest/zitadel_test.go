package oidctest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/client/rs"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-auth/sesame/oauth"
)

// signedIn is what the zitadel RP's callback page reports.
type signedIn struct {
	Subject      string         `json:"sub"`
	IDClaims     map[string]any `json:"id_claims"`
	Userinfo     map[string]any `json:"userinfo"`
	AccessToken  string         `json:"access_token"`
	RefreshToken string         `json:"refresh_token"`
	IDToken      string         `json:"id_token"`
}

// TestZitadelRP signs in to a web app built on zitadel/oidc's RP package,
// an independent OpenID Connect implementation: discovery, the code flow
// with PKCE (its own state and verifier cookies), client_secret_post at
// the token endpoint, ID token verification (signature, iss, aud, exp,
// at_hash), userinfo; then its refresh and revocation calls, and its
// resource-server package's introspection (RFC 7662) before and after.
func TestZitadelRP(t *testing.T) {
	t.Parallel()
	s := Start(t, withResources)
	s.User("erin", pw)
	ctx := context.Background()

	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	redirect := app.URL + "/callback"
	// client_secret_post: the RP's AuthStyleInParams below, and its revocation calls.
	id, secret := s.AddClient(oauth.Client{Name: "zitadel RP", RedirectURIs: []string{redirect}, FirstParty: true,
		AuthMethod: oauth.AuthClientSecretPost, PostLogoutRedirectURIs: []string{app.URL + "/bye"}})

	key := make([]byte, 32)
	rand.Read(key)
	cookies := httphelper.NewCookieHandler(key, key, httphelper.WithUnsecure())
	party, err := rp.NewRelyingPartyOIDC(ctx, s.URL, id, secret, redirect,
		[]string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeOfflineAccess},
		rp.WithPKCE(cookies), rp.WithAuthStyle(oauth2.AuthStyleInParams), rp.WithSigningAlgsFromDiscovery())
	if err != nil {
		t.Fatalf("zitadel RP discovery: %v", err)
	}
	if !party.IsPKCE() {
		t.Fatal("the RP is not using PKCE")
	}
	mux.Handle("/login", rp.AuthURLHandler(rand.Text, party, rp.WithURLParam("resource", apiResource)))
	mux.Handle("/callback", rp.CodeExchangeHandler(rp.UserinfoCallback(
		func(w http.ResponseWriter, r *http.Request, tokens *oidc.Tokens[*oidc.IDTokenClaims], state string, _ rp.RelyingParty, info *oidc.UserInfo) {
			idc := map[string]any{}
			b, _ := json.Marshal(tokens.IDTokenClaims)
			_ = json.Unmarshal(b, &idc)
			uic := map[string]any{}
			b, _ = json.Marshal(info)
			_ = json.Unmarshal(b, &uic)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(signedIn{Subject: tokens.IDTokenClaims.GetSubject(), IDClaims: idc, Userinfo: uic,
				AccessToken: tokens.AccessToken, RefreshToken: tokens.RefreshToken, IDToken: tokens.IDToken})
		}), party))

	ag := s.NewAgent()
	ag.Login("erin", pw)
	page := ag.Get(app.URL + "/login")
	if page.Status != 200 || page.URL.Path != "/callback" {
		t.Fatalf("sign-in through the zitadel RP ended %s", page)
	}
	var got signedIn
	if err := json.Unmarshal([]byte(page.Body), &got); err != nil {
		t.Fatalf("callback page: %v\n%s", err, page)
	}
	if got.Subject == "" || got.Userinfo["sub"] != got.Subject {
		t.Errorf("ID token sub %q, userinfo %v", got.Subject, got.Userinfo)
	}
	if got.Userinfo["preferred_username"] != "erin" {
		t.Errorf("userinfo %v: want preferred_username erin", got.Userinfo)
	}
	if got.IDClaims["azp"] != nil && got.IDClaims["azp"] != id {
		t.Errorf("ID token azp %v, want %s", got.IDClaims["azp"], id)
	}
	if got.RefreshToken == "" {
		t.Fatal("no refresh token")
	}

	// Refresh through the RP: a new, verified ID token.
	fresh, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, party, got.RefreshToken, "", "")
	if err != nil {
		t.Fatalf("zitadel RefreshTokens: %v", err)
	}
	if fresh.IDTokenClaims == nil || fresh.IDTokenClaims.GetSubject() != got.Subject {
		t.Errorf("refreshed tokens without a verified ID token for %s: %+v", got.Subject, fresh.IDTokenClaims)
	}

	// The API's view (RFC 7662): the API is registered as a confidential
	// client listing its resource, and authenticates with
	// client_secret_basic.
	apiID, apiSecret := s.AddClient(oauth.Client{Name: "the API", Resources: []string{apiResource}, GrantTypes: []string{oauth.GrantClientCredentials}})
	rss, err := rs.NewResourceServerClientCredentials(ctx, s.URL, apiID, apiSecret)
	if err != nil {
		t.Fatalf("zitadel resource server discovery: %v", err)
	}
	in, err := rs.Introspect[*oidc.IntrospectionResponse](ctx, rss, fresh.AccessToken)
	if err != nil {
		t.Fatalf("introspect: %v", err)
	}
	if !in.Active || in.Subject != got.Subject || in.ClientID != id || in.Issuer != s.URL {
		t.Errorf("introspection of a live token: %+v, want active, sub %s, client_id %s, iss %s", in, got.Subject, id, s.URL)
	}
	if in, err := rs.Introspect[*oidc.IntrospectionResponse](ctx, rss, "garbage"); err != nil || in.Active {
		t.Errorf("introspection of garbage: %+v, %v; want active false", in, err)
	}

	// Revocation through the RP (client_secret_post), then the refresh
	// token is refused.
	live := fresh.RefreshToken
	if live == "" {
		live = got.RefreshToken
	}
	if err := rp.RevokeToken(ctx, party, live, "refresh_token"); err != nil {
		t.Fatalf("zitadel RevokeToken: %v", err)
	}
	if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, party, live, "", ""); err == nil {
		t.Error("a revoked refresh token still refreshes")
	}

	// zitadel's rp.EndSession POSTs the logout request from the RP's
	// server, without the browser's cookie: Sesame ends no session on an
	// id_token_hint alone (a leaked ID token must not sign anyone out) and
	// just answers with the post-logout redirect.
	end, err := rp.EndSession(ctx, party, got.IDToken, app.URL+"/bye", "st4te", "", nil)
	if err != nil || end == nil || end.Query().Get("state") != "st4te" {
		t.Fatalf("zitadel EndSession: %v, %v", end, err)
	}
	if in, err := rs.Introspect[*oidc.IntrospectionResponse](ctx, rss, fresh.AccessToken); err != nil || !in.Active {
		t.Errorf("after a logout request without the browser's cookie: %+v, %v; want the session (and token) alive", in, err)
	}
	// The browser goes to the end_session_endpoint itself: the session
	// ends, and the access token is inactive.
	q := url.Values{"id_token_hint": {got.IDToken}, "client_id": {id}, "post_logout_redirect_uri": {app.URL + "/bye"}, "state": {"st4te"}}
	if back, page := ag.Authorize(party.GetEndSessionEndpoint()+"?"+q.Encode(), app.URL+"/bye"); back == nil || back.Get("state") != "st4te" {
		t.Fatalf("end session did not come back to the RP with its state: %v, %s", back, page)
	}
	in, err = rs.Introspect[*oidc.IntrospectionResponse](ctx, rss, fresh.AccessToken)
	if err != nil {
		t.Fatalf("introspect after logout: %v", err)
	}
	if in.Active {
		t.Errorf("introspection after the session ended: %+v, want active false", in)
	}
}
