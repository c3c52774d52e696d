package main

import (
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/jose"
)

func TestKeysGenerate(t *testing.T) {
	for _, alg := range []string{"ES256", "EdDSA", "HS512", "PS256"} {
		t.Run(alg, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", "keys", "generate", "--alg", alg, "--kid", "k-"+alg)
			if code != 0 {
				t.Fatalf("got exit %d (%s), want 0", code, stderr)
			}
			key, err := jose.ParseJWK([]byte(stdout))
			if err != nil {
				t.Fatalf("output is not a JWK: %v", err)
			}
			if !key.CanSign() || key.KID() != "k-"+alg || string(key.Algorithm()) != alg {
				t.Errorf("got %v, want a private %s key with kid k-%s", key, alg, alg)
			}
		})
	}
	code, stdout, _ := runCLI(t, "", "keys", "generate")
	if key, err := jose.ParseJWK([]byte(stdout)); code != 0 || err != nil || key.Algorithm() != jose.ES256 || key.KID() != key.Thumbprint() {
		t.Errorf("default: got exit %d, key %v (%v), want ES256 with the thumbprint as kid", code, key, err)
	}
	for _, args := range [][]string{{"keys"}, {"keys", "nope"}, {"keys", "generate", "--alg", "none"}, {"keys", "generate", "extra"}} {
		if code, _, _ := runCLI(t, "", args...); code != 2 {
			t.Errorf("%v: got exit %d, want 2", args, code)
		}
	}
	if code, stdout, _ := runCLI(t, "", "keys", "--help"); code != 0 || !strings.Contains(stdout, "generate") {
		t.Errorf("keys --help: got exit %d, output %q", code, stdout)
	}
}
