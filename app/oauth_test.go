package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/oauth"
)

func get(t *testing.T, h http.Handler, path string) int {
	t.Helper()
	req := httptest.NewRequest("GET", "https://auth.example.com"+path, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// TestOIDCWithoutTokens: with oidc on and tokens off (the web preset) the
// provider is served with a token service of its own and the JWKS, while
// the first-party token endpoints stay off; with oidc off there is no
// provider; with both on they share one token service.
func TestOIDCWithoutTokens(t *testing.T) {
	cfg := testConfig(t, filepath.Join(t.TempDir(), "sesame.db"))
	cfg.Tokens = false
	a, err := newApp(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a.Tokens() != nil || a.OAuth() == nil || a.OAuth().Config().Tokens == nil {
		t.Fatalf("tokens off, oidc on: Tokens() %v, OAuth() %v", a.Tokens(), a.OAuth())
	}
	h := a.Handler()
	for path, want := range map[string]int{
		"/.well-known/openid-configuration":       200,
		"/.well-known/oauth-authorization-server": 200,
		"/.well-known/jwks.json":                  200,
	} {
		if got := get(t, h, path); got != want {
			t.Errorf("GET %s: got %d, want %d", path, got, want)
		}
	}
	req := httptest.NewRequest("POST", "https://auth.example.com/api/v1/token/refresh", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://auth.example.com")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 404 && rec.Code != 405 {
		t.Errorf("first-party token endpoint with tokens off: got %d, want 404", rec.Code)
	}

	cfg = testConfig(t, filepath.Join(t.TempDir(), "sesame.db"))
	cfg.OIDC = false
	a, err = newApp(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a.OAuth() != nil || get(t, a.Handler(), "/.well-known/openid-configuration") != 404 {
		t.Error("oidc off: the provider is served")
	}

	a, err = newApp(t, testConfig(t, filepath.Join(t.TempDir(), "sesame.db")))
	if err != nil {
		t.Fatal(err)
	}
	if a.Tokens() == nil || a.OAuth() == nil || a.OAuth().Config().Tokens != a.Tokens() {
		t.Error("tokens and oidc on: want one token service")
	}
	if a.Tokens().Config().CheckUser == nil {
		t.Error("the token service does not check the user (SEC-13): a blocked user could refresh through /oauth2/token")
	}
}

// TestRegistryHasConfiguredAndStoredClients: the registry serves the
// configuration's clients (with their secret read from secret_file) and
// the store's; a command's registry reads no secret file.
func TestRegistryHasConfiguredAndStoredClients(t *testing.T) {
	dir := t.TempDir()
	secret := strings.Repeat("s3cr3t", 8)
	if err := os.WriteFile(filepath.Join(dir, "wiki.secret"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, filepath.Join(dir, "sesame.db"))
	cfg.Clients = []config.Client{{ID: "wiki", SecretFile: filepath.Join(dir, "wiki.secret"), RedirectURIs: []string{"https://wiki.example.com/cb"}}}
	a, err := newApp(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.OAuthStore().CreateClient(ctx, &oauth.Client{ID: "dash", Public: true, RedirectURIs: []string{"https://d.example.com/cb"}}); err != nil {
		t.Fatal(err)
	}
	c, err := a.Clients().Client(ctx, "wiki")
	if err != nil || !c.FromConfig || !c.CheckSecret(secret) || c.Name != "wiki" {
		t.Fatalf("configured client: %v %+v", err, c)
	}
	if c, err := a.Clients().Client(ctx, "dash"); err != nil || c.FromConfig || !c.Public {
		t.Fatalf("stored client: %v %+v", err, c)
	}
	a.Close()
	// A command on a machine without the secret file.
	os.Remove(filepath.Join(dir, "wiki.secret"))
	cmd, err := newApp(t, cfg, ForCommand())
	if err != nil {
		t.Fatalf("command without the secret file: %v", err)
	}
	if list, err := cmd.Clients().List(ctx); err != nil || len(list) != 2 || !list[0].FromConfig {
		t.Errorf("command's list: %v %v", err, list)
	}
}

// TestOAuthCleanupDeletesExpiredCodes: the App's loop deletes expired
// authorization codes by the App's clock (the store reads none).
func TestOAuthCleanupDeletesExpiredCodes(t *testing.T) {
	clock := testclock.New(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	a, err := newApp(t, testConfig(t, filepath.Join(t.TempDir(), "sesame.db")), WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := a.OAuthStore()
	code := &oauth.Code{Hash: [32]byte{1}, ClientID: "c", UserID: "u", SessionID: "s", RedirectURI: "https://x.example/cb",
		CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(-time.Second)}
	if err := store.CreateCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	a.Start(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := store.RedeemCode(ctx, [32]byte{1}, clock.Now())
		if errors.Is(err, sesame.ErrNotFound) {
			break // deleted
		}
		if time.Now().After(deadline) {
			t.Fatal("the expired code was not deleted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
