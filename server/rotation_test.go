package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/keyring"
)

// Key rotation end to end (issue 4): the new key is published first and
// signs only after the activation delay; a token signed by the old key keeps
// verifying until it expires; the JWKS shows both keys meanwhile, then only
// the new one.
func TestKeyRotationEndToEnd(t *testing.T) {
	e := newEnvWith(t, filepath.Join(t.TempDir(), "sesame.db"), true)
	c := e.client()
	c.origin = ""
	c.signup("alice", pw)
	jwks := func() []string { // the ES256 keys, which sign access tokens (the RS256 keys rotate alike)
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
				Alg string `json:"alg"`
			} `json:"keys"`
		}
		c.want(c.do("GET", "/.well-known/jwks.json", nil), 200).json(t, &set)
		var kids []string
		for _, k := range set.Keys {
			if k.Alg == "ES256" {
				kids = append(kids, k.Kid)
			}
		}
		slices.Sort(kids)
		return kids
	}
	k1 := kidOf(t, c.loginHeader("alice", pw).AccessToken)
	if got := jwks(); !slices.Equal(got, []string{k1}) {
		t.Fatalf("JWKS before rotation: %v, want [%s]", got, k1)
	}
	k2info, err := e.ring.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	k2 := k2info.KID
	both := []string{k1, k2}
	slices.Sort(both)
	if got := jwks(); !slices.Equal(got, both) {
		t.Fatalf("JWKS after rotation: %v, want both keys (the new one published before it signs)", got)
	}
	e.clock.Set(k2info.ActivateAt.Add(-time.Second))
	last := c.loginHeader("alice", pw) // the old key's last token
	if kidOf(t, last.AccessToken) != k1 {
		t.Fatal("the new key signed before its activation")
	}
	e.clock.Set(k2info.ActivateAt)
	if kidOf(t, c.loginHeader("alice", pw).AccessToken) != k2 {
		t.Fatal("the new key does not sign from its activation")
	}
	// The old key's last token verifies until its own expiry.
	exp := k2info.ActivateAt.Add(-time.Second).Add(15 * time.Minute)
	e.clock.Set(exp.Add(-time.Second))
	if e.meBearer(last.AccessToken) != 200 {
		t.Fatal("a token of the retired key was refused before its expiry")
	}
	if got := jwks(); !slices.Equal(got, both) {
		t.Fatalf("JWKS while the old key's tokens live: %v, want both", got)
	}
	e.clock.Set(exp)
	if e.meBearer(last.AccessToken) != 401 {
		t.Fatal("a token of the retired key verified at its expiry")
	}
	var k1info keyring.KeyInfo
	for _, k := range e.ring.Keys() {
		if k.KID == k1 {
			k1info = k
		}
	}
	e.clock.Set(k1info.ExpireAt.Add(-time.Nanosecond))
	if got := jwks(); !slices.Equal(got, both) {
		t.Fatalf("JWKS just before the old key leaves: %v, want both", got)
	}
	e.clock.Set(k1info.ExpireAt)
	if got := jwks(); !slices.Equal(got, []string{k2}) {
		t.Fatalf("JWKS after every old token expired: %v, want only [%s]", got, k2)
	}
}

// kidOf returns the kid of a compact JWS's header.
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.SplitN(tok, ".", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	json.Unmarshal(h, &hdr)
	return hdr.Kid
}
