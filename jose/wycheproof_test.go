package jose

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
)

// Wycheproof vectors (attack 12 "psychic signatures and other edge cases",
// SEC-16, SEC-24). Valid vectors must verify, invalid ones must be
// rejected, and "acceptable" ones are pinned to the behaviour shown here.

func readVectors(t testing.TB, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type sigVectorFile struct {
	NumberOfTests int `json:"numberOfTests"`
	TestGroups    []struct {
		PublicKeyJWK json.RawMessage `json:"publicKeyJwk"`
		KeyJWK       json.RawMessage `json:"keyJwk"`
		PublicKey    struct {
			Uncompressed string `json:"uncompressed"`
		} `json:"publicKey"`
		KeySize json.RawMessage `json:"keySize"`
		TagSize json.RawMessage `json:"tagSize"`
		Tests   []struct {
			TcID    int      `json:"tcId"`
			Comment string   `json:"comment"`
			Flags   []string `json:"flags"`
			Key     string   `json:"key"`
			Msg     string   `json:"msg"`
			Sig     string   `json:"sig"`
			Tag     string   `json:"tag"`
			Result  string   `json:"result"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// tally counts the outcome of a vector file for the final log line.
type tally struct{ valid, invalid, acceptable, total int }

func (c *tally) add(result string) {
	c.total++
	switch result {
	case "valid":
		c.valid++
	case "invalid":
		c.invalid++
	default:
		c.acceptable++
	}
}

func runSignatureVectors(t *testing.T, file string, acceptable map[int]bool) {
	var f sigVectorFile
	readVectors(t, "wycheproof/"+file, &f)
	var c tally
	for _, g := range f.TestGroups {
		jwk := g.PublicKeyJWK
		if jwk == nil {
			jwk = g.KeyJWK
		}
		var key *Key
		var err error
		if jwk != nil {
			key, err = ParseJWK(jwk)
		} else { // groups without a JWK give the uncompressed P-256 point
			var pub *ecdsa.PublicKey
			if pub, err = ecdsa.ParseUncompressedPublicKey(elliptic.P256(), unhex(t, g.PublicKey.Uncompressed)); err == nil {
				key, err = NewKey(ES256, pub, "")
			}
		}
		for _, tc := range g.Tests {
			got := err == nil && key.verify(unhex(t, tc.Msg), unhex(t, tc.Sig))
			want := tc.Result == "valid"
			if tc.Result == "acceptable" {
				pinned, ok := acceptable[tc.TcID]
				if !ok {
					t.Errorf("%s tcId %d: acceptable vector without a pinned outcome", file, tc.TcID)
				}
				want = pinned
			}
			if got != want {
				t.Errorf("%s tcId %d (%s %v): got valid=%v, want %v", file, tc.TcID, tc.Comment, tc.Flags, got, want)
			}
			c.add(tc.Result)
		}
	}
	if c.total != f.NumberOfTests {
		t.Errorf("%s: ran %d vectors, want %d", file, c.total, f.NumberOfTests)
	}
	t.Logf("%s: %d vectors (%d valid, %d invalid, %d acceptable)", file, c.total, c.valid, c.invalid, c.acceptable)
}

func TestWycheproofES256P1363(t *testing.T) {
	runSignatureVectors(t, "ecdsa_secp256r1_sha256_p1363_test.json", nil)
}

func TestWycheproofEd25519(t *testing.T) {
	runSignatureVectors(t, "ed25519_test.json", nil)
}

func TestWycheproofRS256(t *testing.T) {
	// tcId 8 "Missing NULL in the ASN encoding" is acceptable; crypto/rsa
	// requires the NULL parameter, so it is pinned as rejected.
	runSignatureVectors(t, "rsa_signature_2048_sha256_test.json", map[int]bool{8: false})
}

func TestWycheproofPS256(t *testing.T) {
	runSignatureVectors(t, "rsa_pss_2048_sha256_mgf1_32_test.json", nil)
}

// TestWycheproofHS256 runs the HMAC-SHA256 vectors with full 256-bit tags
// (HS256 never truncates). Keys of 256 and 520 bits go through NewKey;
// 128-bit keys are refused by NewKey (shorter than the hash, SEC-23), so
// their vectors exercise the same MAC code on a key built without the check.
func TestWycheproofHS256(t *testing.T) {
	var f sigVectorFile
	readVectors(t, "wycheproof/hmac_sha256_test.json", &f)
	var c, skipped tally
	for _, g := range f.TestGroups {
		if string(g.TagSize) != "256" {
			for _, tc := range g.Tests {
				skipped.add(tc.Result)
			}
			continue
		}
		for _, tc := range g.Tests {
			secret := unhex(t, tc.Key)
			key, err := NewKey(HS256, secret, "k")
			if len(secret) < 32 {
				if err == nil {
					t.Fatalf("tcId %d: NewKey accepted a %d-byte HS256 secret", tc.TcID, len(secret))
				}
				key = &Key{alg: HS256, ops: opVerify, secret: secret, macs: &sync.Pool{New: func() any {
					return &macState{h: hmac.New(sha256.New, secret)}
				}}}
			} else if err != nil {
				t.Fatalf("tcId %d: %v", tc.TcID, err)
			}
			got := key.verify(unhex(t, tc.Msg), unhex(t, tc.Tag))
			if want := tc.Result == "valid"; got != want {
				t.Errorf("tcId %d (%s): got valid=%v, want %v", tc.TcID, tc.Comment, got, want)
			}
			c.add(tc.Result)
		}
	}
	if c.total+skipped.total != f.NumberOfTests {
		t.Errorf("ran %d + skipped %d vectors, want %d", c.total, skipped.total, f.NumberOfTests)
	}
	t.Logf("hmac_sha256_test.json: %d vectors with 256-bit tags (%d valid, %d invalid); %d with truncated tags skipped",
		c.total, c.valid, c.invalid, skipped.total)
}

type jwsVectorFile struct {
	NumberOfTests int `json:"numberOfTests"`
	TestGroups    []struct {
		Comment string          `json:"comment"`
		Public  json.RawMessage `json:"public"`
		Private json.RawMessage `json:"private"`
		Tests   []struct {
			TcID    int             `json:"tcId"`
			Comment string          `json:"comment"`
			JWS     json.RawMessage `json:"jws"`
			Result  string          `json:"result"`
			Flags   []string        `json:"flags"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// jwsDeviation is a vector whose expected result this package deliberately
// does not follow, with the reason and the error it returns instead.
type jwsDeviation struct {
	accept bool
	kind   error
	why    string
}

var jwsDeviations = map[int]jwsDeviation{
	346: {false, ErrAlgorithm, "key alg is PS256 but the token says PS384; the algorithm comes from the key (SEC-17)"},
	350: {false, ErrAlgorithm, "key alg is PS256 but the token says PS384; the algorithm comes from the key (SEC-17)"},
	347: {false, ErrInvalidKey, `key alg "ES521" is not a JWS algorithm, so the key is refused (as json_web_key_test tcId 19 expects)`},
	351: {false, ErrInvalidKey, `key alg "ES521" is not a JWS algorithm, so the key is refused (as json_web_key_test tcId 19 expects)`},
	367: {true, nil, "the vector is byte-identical to the valid tcId 357 upstream (its padding was lost), so it verifies"},
	370: {true, nil, "the vector is byte-identical to the valid tcId 357 upstream (its padding was lost), so it verifies"},
	372: {false, ErrMalformed, `'?' is not a base64url character; strict decoding rejects it instead of skipping it (SEC-24)`},
	373: {false, ErrMalformed, `'?' is not a base64url character; strict decoding rejects it instead of skipping it (SEC-24)`},
}

func vectorToken(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw) // JSON serialization: an object, passed as the token text
}

func TestWycheproofJWS(t *testing.T) {
	var f jwsVectorFile
	readVectors(t, "wycheproof/json_web_signature_test.json", &f)
	var c tally
	deviated := 0
	for _, g := range f.TestGroups {
		jwk := g.Public
		if jwk == nil {
			jwk = g.Private
		}
		key, keyErr := ParseJWK(jwk)
		for _, tc := range g.Tests {
			c.add(tc.Result)
			err := keyErr
			if err == nil {
				_, _, err = Verify(vectorToken(tc.JWS), key)
			}
			want, wantKind := tc.Result == "valid", error(nil)
			if d, ok := jwsDeviations[tc.TcID]; ok {
				want, wantKind = d.accept, d.kind
				deviated++
			}
			if got := err == nil; got != want {
				t.Errorf("tcId %d (%s, %s %v): got err=%v, want valid=%v", tc.TcID, g.Comment, tc.Comment, tc.Flags, err, want)
				continue
			}
			if wantKind != nil && !errors.Is(err, wantKind) {
				t.Errorf("tcId %d: got %v, want an error wrapping %v", tc.TcID, err, wantKind)
			}
		}
	}
	if c.total != f.NumberOfTests || deviated != len(jwsDeviations) {
		t.Errorf("ran %d vectors (%d deviations), want %d (%d)", c.total, deviated, f.NumberOfTests, len(jwsDeviations))
	}
	t.Logf("json_web_signature_test.json: %d vectors (%d valid, %d invalid); %d pinned deviations", c.total, c.valid, c.invalid, deviated)
}

// TestWycheproofJWSDeviationsWithFixedKeys shows that the RFC 7520 tokens of
// the deviating vectors verify once the key carries the token's algorithm.
func TestWycheproofJWSDeviationsWithFixedKeys(t *testing.T) {
	var f jwsVectorFile
	readVectors(t, "wycheproof/json_web_signature_test.json", &f)
	fixes := map[int]Algorithm{346: PS384, 347: ES512}
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			alg, ok := fixes[tc.TcID]
			if !ok {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(g.Public, &m); err != nil {
				t.Fatal(err)
			}
			m["alg"] = string(alg)
			fixed, _ := json.Marshal(m)
			key, err := ParseJWK(fixed)
			if err != nil {
				t.Fatalf("tcId %d: %v", tc.TcID, err)
			}
			if _, _, err := Verify(vectorToken(tc.JWS), key); err != nil {
				t.Errorf("tcId %d with alg %s: got %v, want it to verify", tc.TcID, alg, err)
			}
		}
	}
}

func TestWycheproofJWK(t *testing.T) {
	var f jwsVectorFile
	readVectors(t, "wycheproof/json_web_key_test.json", &f)
	var c tally
	for _, g := range f.TestGroups {
		set := g.Public
		if set == nil {
			set = g.Private
		}
		ks, keyErr := ParseJWKS(set)
		for _, tc := range g.Tests {
			c.add(tc.Result)
			err := keyErr
			if err == nil {
				_, _, err = Verify(vectorToken(tc.JWS), ks)
			}
			if got, want := err == nil, tc.Result == "valid"; got != want {
				t.Errorf("tcId %d (%s, %s): got err=%v, want valid=%v", tc.TcID, g.Comment, tc.Comment, err, want)
			}
			if tc.Comment == "rejectsKeyWithRocaVulnerability" && (err == nil || !strings.Contains(err.Error(), "ROCA")) {
				t.Errorf("tcId %d: got %v, want the ROCA fingerprint to be the reason", tc.TcID, err)
			}
		}
	}
	if c.total != f.NumberOfTests {
		t.Errorf("ran %d vectors, want %d", c.total, f.NumberOfTests)
	}
	t.Logf("json_web_key_test.json: %d vectors (%d valid, %d invalid)", c.total, c.valid, c.invalid)
}
