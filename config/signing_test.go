package config

import (
	"slices"
	"strings"
	"testing"
)

func TestSigningAlgs(t *testing.T) {
	c := mustLoad(t, env{}, "")
	if !slices.Equal(c.SigningAlgs, []string{"ES256", "RS256"}) {
		t.Fatalf("default: got %q, want [ES256 RS256]", c.SigningAlgs)
	}
	c = mustLoad(t, env{"SESAME_SIGNING_ALGS": "RS256,ES384"}, "")
	var shown string
	for _, s := range c.Settings() {
		if s.Key == "signing_algs" {
			shown = s.Value
		}
	}
	if !slices.Equal(c.SigningAlgs, []string{"RS256", "ES384"}) || shown != "RS256,ES384" {
		t.Fatalf("from env: got %q (shown %q)", c.SigningAlgs, shown)
	}
	c = mustLoad(t, env{}, writeFile(t, "sesame.yaml", "oidc: false\nsigning_algs: [EdDSA]\n"))
	if !slices.Equal(c.SigningAlgs, []string{"EdDSA"}) {
		t.Fatalf("from the file with oidc off: got %q", c.SigningAlgs)
	}
	if d := c.Clone(); &d.SigningAlgs[0] == &c.SigningAlgs[0] {
		t.Error("Clone shares SigningAlgs")
	}

	for _, tc := range []struct{ file, want string }{
		{"signing_algs: [ES256, HS256]\n", "HMAC"},
		{"signing_algs: [ES256, none]\n", `"none"`},
		{"signing_algs: [es256, RS256]\n", `"es256"`},
		{"signing_algs: [RS256, RS256]\n", "listed twice"},
		{"signing_algs: []\n", "no algorithm"},
		{"signing_algs: [ES256]\n", "requires RS256"},
	} {
		_, err := load(t, env{}, writeFile(t, "sesame.yaml", tc.file))
		if err == nil || !strings.Contains(err.Error(), "signing_algs") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a signing_algs problem with %q", strings.TrimSpace(tc.file), err, tc.want)
		}
	}

	// A client's id_token_alg must be one the keys sign with.
	client := "resources: []\nclients:\n  - id: a\n    public: true\n    redirect_uris: [https://a.example.com/cb]\n    id_token_alg: ES256\n"
	_, err := load(t, env{}, writeFile(t, "sesame.yaml", "signing_algs: [RS256]\n"+client))
	if err == nil || !strings.Contains(err.Error(), `client "a" signs its ID tokens with ES256`) {
		t.Errorf("client id_token_alg ES256 with signing_algs [RS256]: got %v, want a problem", err)
	}
	mustLoad(t, env{}, writeFile(t, "sesame.yaml", "signing_algs: [RS256, ES256]\n"+client))
}
