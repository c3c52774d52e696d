package jose_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/jose"
)

// cookbookFile is the shape of the RFC 7520 / RFC 8037 cookbook examples.
type cookbookFile struct {
	Input struct {
		Payload string          `json:"payload"`
		Key     json.RawMessage `json:"key"`
		Alg     jose.Algorithm  `json:"alg"`
	} `json:"input"`
	Signing struct {
		Protected json.RawMessage `json:"protected"`
	} `json:"signing"`
	Output struct {
		Compact string `json:"compact"`
	} `json:"output"`
}

func readCookbook(t *testing.T, name string) cookbookFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "jose-cookbook", name))
	if err != nil {
		t.Fatal(err)
	}
	var f cookbookFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRFC7520 verifies every RFC 7520 §4.1-4.4 example and the RFC 8037
// A.4 Ed25519 example, and reproduces the deterministic ones (RS256, HS256,
// EdDSA) byte for byte.
func TestRFC7520(t *testing.T) {
	tests := []struct {
		file         string
		reproducible bool
		omitKID      bool
	}{
		{"jws_4_1.rsa_v15_signature.json", true, false},
		{"jws_4_2.rsa-pss_signature.json", false, false},
		{"jws_4_3.ecdsa_signature.json", false, false},
		{"jws_4_4.hmac-sha2_integrity_protection.json", true, false},
		{"curve25519_jws.json", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := readCookbook(t, tt.file)
			key, err := jose.ParseJWKAs(f.Input.Key, f.Input.Alg)
			if err != nil {
				t.Fatalf("ParseJWKAs: %v", err)
			}
			verifier := key.Public()
			if verifier == nil {
				verifier = key // HMAC
			}
			payload, hdr, err := jose.Verify(f.Output.Compact, verifier)
			if err != nil {
				t.Fatalf("Verify(RFC output): %v", err)
			}
			if string(payload) != f.Input.Payload || hdr.Algorithm != f.Input.Alg {
				t.Errorf("got payload %q alg %s, want %q %s", payload, hdr.Algorithm, f.Input.Payload, f.Input.Alg)
			}
			token, err := jose.Sign(key, []byte(f.Input.Payload), jose.SignOptions{OmitKeyID: tt.omitKID})
			if err != nil {
				t.Fatal(err)
			}
			if tt.reproducible && token != f.Output.Compact {
				t.Errorf("Sign:\n got %s\nwant %s", token, f.Output.Compact)
			}
			if _, _, err := jose.Verify(token, verifier); err != nil {
				t.Errorf("Verify(own signature): %v", err)
			}
		})
	}
}

// The RFC 7515 Appendix A examples, typed in from the RFC text. Their
// payload is {"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}.
const (
	rfc7515Payload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

	rfc7515A1Key   = `{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}`
	rfc7515A1Token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." + rfc7515Payload + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

	rfc7515A2Key = `{"kty":"RSA",
	"n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
	"e":"AQAB",
	"d":"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
	"p":"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
	"q":"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
	"dp":"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
	"dq":"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
	"qi":"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"}`
	rfc7515A2Token = "eyJhbGciOiJSUzI1NiJ9." + rfc7515Payload + ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"

	rfc7515A3Key   = `{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}`
	rfc7515A3Token = "eyJhbGciOiJFUzI1NiJ9." + rfc7515Payload + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
)

// TestRFC7515AppendixA verifies A.1 (HS256), A.2 (RS256) and A.3 (ES256)
// as JWTs with a clock set before their exp (2011-03-22T18:43:00Z), and
// checks that they are expired one second after it (SEC-19).
func TestRFC7515AppendixA(t *testing.T) {
	exp := time.Unix(1300819380, 0)
	tests := []struct {
		name, jwk, token string
		alg              jose.Algorithm
	}{
		{"A.1 HS256", rfc7515A1Key, rfc7515A1Token, jose.HS256},
		{"A.2 RS256", rfc7515A2Key, rfc7515A2Token, jose.RS256},
		{"A.3 ES256", rfc7515A3Key, rfc7515A3Token, jose.ES256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := jose.ParseJWKAs([]byte(tt.jwk), tt.alg)
			if err != nil {
				t.Fatal(err)
			}
			var claims struct {
				jose.Claims
				IsRoot bool `json:"http://example.com/is_root"`
			}
			v := jose.Verifier{Keys: key, Issuer: "joe", Now: func() time.Time { return exp.Add(-time.Second) }}
			if err := v.Verify(tt.token, &claims); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !claims.IsRoot || claims.Issuer != "joe" || !claims.ExpiresAt.Equal(exp) {
				t.Errorf("got claims %+v, want iss joe, is_root, exp %v", claims, exp)
			}
			v.Now = func() time.Time { return exp }
			if err := v.Verify(tt.token, &claims); !errors.Is(err, jose.ErrExpired) {
				t.Errorf("at exp: got %v, want ErrExpired", err)
			}
		})
	}
	// A.2 is deterministic: signing its input reproduces the RFC signature.
	key, err := jose.ParseJWKAs([]byte(rfc7515A2Key), jose.RS256)
	if err != nil {
		t.Fatal(err)
	}
	payload, _, err := jose.Verify(rfc7515A2Token, key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := jose.Sign(key, payload, jose.SignOptions{OmitKeyID: true})
	if err != nil {
		t.Fatal(err)
	}
	if got != rfc7515A2Token {
		t.Errorf("A.2 Sign:\n got %s\nwant %s", got, rfc7515A2Token)
	}
}
