package jose

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Fuzz tests for every parser of untrusted input (STYLE 13, SEC-24), seeded
// with the Wycheproof and RFC vectors.

// vectorSeeds returns the tokens and JWKs found in testdata.
func vectorSeeds(t testing.TB) (tokens, jwks []string) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if _, ok := v["kty"]; ok {
					b, _ := json.Marshal(v)
					jwks = append(jwks, string(b))
				}
				for k, e := range v {
					if s, ok := e.(string); ok && (k == "jws" || k == "compact") {
						tokens = append(tokens, s)
					}
					walk(e)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			}
		}
		var v any
		if json.Unmarshal(data, &v) == nil {
			walk(v)
		}
	}
	return tokens, jwks
}

func FuzzParseCompact(f *testing.F) {
	tokens, _ := vectorSeeds(f)
	for _, tok := range tokens {
		f.Add(tok)
	}
	secret := bytes.Repeat([]byte{7}, 32)
	key, err := NewKey(HS256, secret, "k1")
	if err != nil {
		f.Fatal(err)
	}
	good, _ := SignJWT(key, map[string]any{"sub": "u", "exp": 4102444800, "aud": []string{"a", "b"}, "x": map[string]any{"y": []any{1.5, true, nil}}}, SignOptions{})
	f.Add(good)
	f.Add(`{"payload":"e30","protected":"e30","signature":""}`)
	f.Add("a.b.c.d.e")
	v := Verifier{Keys: key, Now: func() time.Time { return time.Unix(1, 0) }}
	f.Fuzz(func(t *testing.T, token string) {
		payload, hdr, err := Verify(token, key)
		if err != nil {
			return
		}
		if strings.Count(token, ".") != 2 || hdr.Algorithm != HS256 {
			t.Fatalf("accepted %q with header %+v", token, hdr)
		}
		again, err := Sign(key, payload, SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := Verify(again, key); err != nil {
			t.Fatalf("re-signed payload does not verify: %v", err)
		}
		var m map[string]any
		var c struct {
			Claims
			X json.RawMessage `json:"x"`
		}
		errMap, errStruct := v.Verify(token, &m), v.Verify(token, &c)
		if (errMap == nil) != (errStruct == nil) {
			t.Fatalf("map and struct targets disagree: %v vs %v", errMap, errStruct)
		}
		if errMap == nil && !json.Valid(payload) {
			t.Fatalf("claims accepted that encoding/json finds invalid: %q", payload)
		}
	})
}

func FuzzParseJWK(f *testing.F) {
	_, jwks := vectorSeeds(f)
	for _, j := range jwks {
		f.Add(j)
	}
	f.Add(`{"kty":"oct","alg":"HS256","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`)
	f.Fuzz(func(t *testing.T, jwk string) {
		key, err := ParseJWK([]byte(jwk))
		if err != nil {
			if ks, err := ParseJWKS([]byte(`{"keys":[` + jwk + `]}`)); err == nil && ks.Len() == 1 {
				t.Fatal("a JWKS of one key that ParseJWK refuses parsed")
			}
			return
		}
		out, err := key.MarshalPrivateJWK()
		if err != nil {
			if out, err = key.MarshalJSON(); err != nil {
				t.Fatal(err)
			}
		}
		back, err := ParseJWK(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if back.Thumbprint() != key.Thumbprint() || back.KID() != key.KID() || back.Algorithm() != key.Algorithm() {
			t.Fatalf("round trip changed the key: %v vs %v", back, key)
		}
	})
}

func FuzzBase64(f *testing.F) {
	for _, s := range []string{"", "A", "AA", "AB", "AAA", "AAB", "AAAA", "_-_-", "a=", "a\nb", "????"} {
		f.Add(s)
	}
	strict := base64.RawURLEncoding.Strict()
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := b64DecodeString(s)
		want, err := strict.DecodeString(s)
		stdOK := err == nil && !strings.ContainsAny(s, "\r\n")
		if ok != stdOK || (ok && !bytes.Equal(got, want)) {
			t.Fatalf("%q: got (%x, %v), want (%x, %v)", s, got, ok, want, stdOK)
		}
		if ok && string(b64EncodeAppend(nil, got)) != s {
			t.Fatalf("%q does not re-encode to itself", s)
		}
	})
}

func FuzzJSONObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":1,"a":2}`, `{"a":{"b":[1,2,{"c":"\u00e9"}]}}`, `{"a":"\ud83d\ude00"}`, `{"a":1e5}`, `{"a":-0.0}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if validJSONObject(s) && !json.Valid([]byte(s)) {
			t.Fatalf("strict scanner accepted invalid JSON %q", s)
		}
	})
}
