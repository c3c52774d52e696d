package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/jose"
)

// runCLI runs the sesame command line in process.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeKey generates a key and writes its private JWK and public JWKS.
func writeKey(t *testing.T, alg jose.Algorithm, kid string) (key *jose.Key, privPath, pubPath string) {
	t.Helper()
	key, err := jose.GenerateKey(alg, kid)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, _ := key.MarshalPrivateJWK()
	privPath = filepath.Join(dir, "private.jwk")
	if err := os.WriteFile(privPath, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if pub := key.Public(); pub != nil {
		ks, _ := jose.NewKeySet(pub)
		jwks, _ := ks.MarshalJSON()
		pubPath = filepath.Join(dir, "public.jwks")
		if err := os.WriteFile(pubPath, jwks, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return key, privPath, pubPath
}

func TestJWSSignVerify(t *testing.T) {
	for _, alg := range []jose.Algorithm{jose.ES256, jose.EdDSA, jose.HS256} {
		t.Run(string(alg), func(t *testing.T) {
			_, priv, pub := writeKey(t, alg, "cli-1")
			if pub == "" {
				pub = priv // HMAC: the secret verifies
			}
			code, token, stderr := runCLI(t, "", "jws", "sign", "--jwk", priv, "hello")
			if code != 0 {
				t.Fatalf("sign: got exit %d (%s), want 0", code, stderr)
			}
			code, payload, stderr := runCLI(t, "", "jws", "verify", "--jwk", pub, strings.TrimSpace(token))
			if code != 0 || payload != "hello" {
				t.Fatalf("verify: got exit %d, payload %q (%s), want 0 and hello", code, payload, stderr)
			}
			code, payload, _ = runCLI(t, token, "jws", "verify", "--jwk", pub, "-")
			if code != 0 || payload != "hello" {
				t.Errorf("verify from stdin: got exit %d, payload %q", code, payload)
			}
			code, token2, _ := runCLI(t, "from stdin", "jws", "sign", "--jwk", priv)
			if code != 0 {
				t.Fatalf("sign from stdin: exit %d", code)
			}
			if code, payload, _ = runCLI(t, token2, "jws", "verify", "--jwk", pub); code != 0 || payload != "from stdin" {
				t.Errorf("verify of stdin payload: got exit %d, payload %q", code, payload)
			}
		})
	}
}

func TestJWSVerifyFailures(t *testing.T) {
	_, priv, pub := writeKey(t, jose.ES256, "cli-1")
	_, _, otherPub := writeKey(t, jose.ES256, "cli-1")
	_, token, _ := runCLI(t, "", "jws", "sign", "--jwk", priv, "hello")
	token = strings.TrimSpace(token)
	h, rest, _ := strings.Cut(token, ".")
	_, sig, _ := strings.Cut(rest, ".")
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"wrong key", []string{"jws", "verify", "--jwk", otherPub, token}, 1},
		{"payload changed (attack 1)", []string{"jws", "verify", "--jwk", pub, h + ".aGFja2Vk." + sig}, 1},
		{"alg none (attack 2)", []string{"jws", "verify", "--jwk", pub, "eyJhbGciOiJub25lIn0.aGk."}, 1},
		{"garbage", []string{"jws", "verify", "--jwk", pub, "not-a-token"}, 1},
		{"missing key file", []string{"jws", "verify", "--jwk", filepath.Join(t.TempDir(), "nope"), token}, 1},
		{"no --jwk", []string{"jws", "verify", token}, 2},
		{"two tokens", []string{"jws", "verify", "--jwk", pub, token, token}, 2},
		{"unknown flag", []string{"jws", "verify", "--bogus", token}, 2},
		{"no subcommand", []string{"jws"}, 2},
		{"unknown subcommand", []string{"jws", "frobnicate"}, 2},
		{"sign with a public key", []string{"jws", "sign", "--jwk", pub, "x"}, 1},
		{"help", []string{"jws", "verify", "--help"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tt.args...)
			if code != tt.wantCode {
				t.Fatalf("got exit %d (stderr %q), want %d", code, stderr, tt.wantCode)
			}
			if tt.wantCode == 1 && (stdout != "" || stderr == "") {
				t.Errorf("failure: got stdout %q and stderr %q, want only a reason on stderr", stdout, stderr)
			}
			if strings.Contains(stderr, sig) {
				t.Errorf("stderr echoes the token: %s", stderr)
			}
		})
	}
}
