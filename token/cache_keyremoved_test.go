package token_test

import (
	"testing"

	"github.com/sesame-auth/sesame/jose"
)

// A key removed from the key set (retired, or compromised) verifies
// nothing more, whether or not a token it signed is in the verified-token
// cache: the cached fast path of the Bearer header, the access cookie and
// Authenticate all refuse it at once, not when the token expires (SEC-21:
// the key must belong to the issuer now).
func TestRemovedKeyEndsCachedTokens(t *testing.T) {
	f := newFixture(t, nil)
	_, p := f.login("alice")
	if code, got := serveMW(f, bearerReq(p.AccessToken)); code != 200 || got == nil {
		t.Fatalf("warm-up: got %d %+v", code, got)
	}
	old := f.keys.SigningKey()
	next, err := jose.GenerateKey(jose.ES256, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.keys.SetSigningKey(next); err != nil {
		t.Fatal(err)
	}
	if !f.keys.Remove(old.KID()) {
		t.Fatal("the old key was not in the set")
	}
	if code, got := serveMW(f, bearerReq(p.AccessToken)); code != 401 || got != nil {
		t.Errorf("Bearer signed by a removed key: got %d %+v, want 401", code, got)
	}
	if _, err := f.svc.Authenticate(f.ctx, p.AccessToken); err == nil {
		t.Error("Authenticate accepted a token signed by a removed key")
	}
}
