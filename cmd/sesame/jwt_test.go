package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/jose"
)

func TestJWTVerify(t *testing.T) {
	key, _, pub := writeKey(t, jose.ES256, "cli-1")
	now := time.Now()
	sign := func(typ string, aud string, exp time.Time) string {
		tok, err := jose.SignJWT(key, jose.Claims{
			Issuer: "https://auth.example", Subject: "user-1", Audience: jose.Audience{aud},
			IssuedAt: jose.NewNumericDate(now), ExpiresAt: jose.NewNumericDate(exp),
		}, jose.SignOptions{Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := sign("at+jwt", "api", now.Add(time.Hour))
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
	}{
		{"valid", "", []string{"--iss", "https://auth.example", "--aud", "api", "--typ", "at+jwt", good}, 0},
		{"valid from stdin", good + "\n", []string{"--aud", "other", "--aud", "api", "-"}, 0},
		{"wrong issuer", "", []string{"--iss", "https://evil.example", good}, 1},
		{"wrong audience", "", []string{"--aud", "billing", good}, 1},
		{"ID token as access token (attack 8)", "", []string{"--typ", "at+jwt", sign("JWT", "api", now.Add(time.Hour))}, 1},
		{"expired", "", []string{sign("at+jwt", "api", now.Add(-time.Minute))}, 1},
		{"expired within leeway", "", []string{"--leeway", "2m", sign("at+jwt", "api", now.Add(-time.Minute))}, 0},
		{"no --jwks", "", nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"jwt", "verify"}
			if tt.wantCode != 2 {
				args = append(args, "--jwks", pub)
			}
			code, stdout, stderr := runCLI(t, tt.stdin, append(args, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("got exit %d (stderr %q), want %d", code, stderr, tt.wantCode)
			}
			if code == 0 {
				var claims map[string]any
				if err := json.Unmarshal([]byte(stdout), &claims); err != nil || claims["sub"] != "user-1" {
					t.Errorf("got output %q (%v), want the claims as JSON", stdout, err)
				}
			}
			if code == 1 && !strings.Contains(stderr, "jwt verify:") {
				t.Errorf("got stderr %q, want a reason", stderr)
			}
		})
	}
}
