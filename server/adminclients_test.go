package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/oauth"
)

// TestAdminPageListsClients: /admin lists every OAuth client, configured
// and stored (ID, name, type, first-party, redirect URIs, back-channel
// URI), read-only, and never a secret nor its hash; a non-admin gets no
// page.
func TestAdminPageListsClients(t *testing.T) {
	dir := t.TempDir()
	const secret = "canary-admin-page-client-secret-0123456789"
	if err := os.WriteFile(filepath.Join(dir, "wiki.secret"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DB = filepath.Join(dir, "sesame.db")
	cfg.Clients = []config.Client{{ID: "wiki", Name: "Team <wiki>", SecretFile: filepath.Join(dir, "wiki.secret"),
		RedirectURIs: []string{"https://wiki.example.com/cb"}, BackchannelLogoutURI: "https://wiki.example.com/bc", FirstParty: true}}
	e := newEnvConfig(t, cfg)
	if e.app.OAuth() == nil {
		t.Fatal("no OAuth provider with oidc on")
	}
	stored, hash := oauth.NewSecret()
	if err := e.app.OAuthStore().CreateClient(context.Background(), &oauth.Client{ID: "dash-1", Name: "Dashboard", Public: true,
		RedirectURIs: []string{"https://dash.example.com/a", "http://127.0.0.1:9000/b"}, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := e.app.OAuthStore().CreateClient(context.Background(), &oauth.Client{ID: "svc", Name: "Worker", SecretHash: hash,
		GrantTypes: []string{oauth.GrantClientCredentials}, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	admin := e.admin()
	page := string(admin.want(admin.do("GET", "/admin", nil), 200).body)
	for _, want := range []string{
		`<table id="clients" class="cards">`,
		`<tr data-client="wiki">`, `<code>wiki</code> <span class="badge">config</span>`, `Team &lt;wiki&gt;`, `<code>https://wiki.example.com/cb</code>`, `<code>https://wiki.example.com/bc</code>`,
		`<tr data-client="dash-1">`, `<td data-label="Type">public</td>`, `<code>https://dash.example.com/a</code><br><code>http://127.0.0.1:9000/b</code>`,
		`<tr data-client="svc">`, `<td data-label="Type">confidential</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("admin page: want %q in\n%s", want, page)
		}
	}
	if strings.Count(page, "data-client=") != 3 {
		t.Errorf("want 3 client rows in\n%s", page)
	}
	if i := strings.Index(page, `<table id="clients">`); i >= 0 && strings.Contains(page[i:], "<form") {
		t.Error("the clients section has a form: it is read-only")
	}
	for _, s := range []string{secret, stored} {
		h := sha256.Sum256([]byte(s))
		for _, form := range []string{s, hex.EncodeToString(h[:]), base64.StdEncoding.EncodeToString(h[:]), base64.RawURLEncoding.EncodeToString(h[:])} {
			if strings.Contains(page, form) {
				t.Errorf("the admin page shows a secret or its hash (%q)", form)
			}
		}
	}
	// A signed-in user who is not an administrator sees no client.
	if _, err := e.accounts.Signup(context.Background(), "bob", "correct horse battery", false); err != nil {
		t.Fatal(err)
	}
	bob := e.client()
	bob.login("bob", "correct horse battery", false)
	if r := bob.do("GET", "/admin", nil); r.StatusCode != 403 || strings.Contains(string(r.body), "data-client") {
		t.Errorf("non-admin: got %d", r.StatusCode)
	}
}
