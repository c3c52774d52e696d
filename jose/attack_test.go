package jose_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/jose"
)

// The attack list of SECURITY.md §2, items 1 to 12, one test each.

// hmacToken builds a token whose signature is HMAC-SHA256 over the given
// header and claims with secret: what an attacker can compute offline.
func hmacToken(header, claims string, secret []byte) string {
	input := b64(header) + "." + b64(claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestAttack01PayloadChangedWithoutResigning(t *testing.T) {
	for _, alg := range []jose.Algorithm{jose.HS256, jose.ES256, jose.EdDSA, jose.RS256} {
		t.Run(string(alg), func(t *testing.T) {
			priv, _ := rawKey(t, alg)
			key := mustKey(t, alg, priv, "k1")
			claims := accessClaims()
			token, err := jose.SignJWT(key, claims, jose.SignOptions{Type: "at+jwt"})
			if err != nil {
				t.Fatal(err)
			}
			claims.Subject = "admin"
			h, _, s := segments(token)
			forged := h + "." + b64JSON(t, claims) + "." + s
			var got AccessClaims
			if err := accessVerifier(key).Verify(forged, &got); !errors.Is(err, jose.ErrSignature) {
				t.Errorf("got %v, want ErrSignature", err)
			}
			if got.Subject == "admin" {
				t.Error("claims of a forged token were decoded (SEC-16: signature first)")
			}
		})
	}
}

func TestAttack02AlgNoneAndEmptySignature(t *testing.T) {
	key := mustKey(t, jose.HS256, make([]byte, 32), "k1")
	claims := `{"sub":"admin","exp":4102444800}`
	tests := []struct {
		name, token string
		want        error
	}{
		{"none", b64(`{"alg":"none","kid":"k1"}`) + "." + b64(claims) + ".", jose.ErrAlgorithm},
		{"NoNe", b64(`{"alg":"NoNe","kid":"k1"}`) + "." + b64(claims) + ".", jose.ErrAlgorithm},
		{"NONE", b64(`{"alg":"NONE"}`) + "." + b64(claims) + ".", jose.ErrAlgorithm},
		{"nOnE with a signature", b64(`{"alg":"nOnE"}`) + "." + b64(claims) + ".AAAA", jose.ErrAlgorithm},
		{"HS256 with empty signature", b64(`{"alg":"HS256","kid":"k1"}`) + "." + b64(claims) + ".", jose.ErrSignature},
		{"missing alg", b64(`{"kid":"k1"}`) + "." + b64(claims) + ".", jose.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := jose.Verifier{Keys: key, Now: fixedNow}
			var c jose.Claims
			if err := v.Verify(tt.token, &c); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	for _, alg := range []jose.Algorithm{"none", "None", "NONE"} {
		if _, err := jose.NewKey(alg, make([]byte, 32), ""); !errors.Is(err, jose.ErrAlgorithm) {
			t.Errorf("NewKey(%q): got %v, want ErrAlgorithm", alg, err)
		}
	}
}

func TestAttack03WeakHMACSecretRefused(t *testing.T) {
	tests := []struct {
		alg  jose.Algorithm
		size int
	}{
		{jose.HS256, 0}, {jose.HS256, 8}, {jose.HS256, 31},
		{jose.HS384, 47}, {jose.HS512, 63},
	}
	for _, tt := range tests {
		if _, err := jose.NewKey(tt.alg, make([]byte, tt.size), ""); !errors.Is(err, jose.ErrInvalidKey) {
			t.Errorf("NewKey(%s, %d bytes): got %v, want ErrInvalidKey", tt.alg, tt.size, err)
		}
	}
	if _, err := jose.NewKey(jose.HS256, []byte("secret"), ""); err == nil {
		t.Error(`NewKey(HS256, "secret"): got nil error, want refusal (SEC-23)`)
	}
	short := `{"kty":"oct","alg":"HS256","k":"` + base64.RawURLEncoding.EncodeToString(make([]byte, 31)) + `"}`
	if _, err := jose.ParseJWK([]byte(short)); !errors.Is(err, jose.ErrInvalidKey) {
		t.Errorf("ParseJWK(31-byte HS256): got %v, want ErrInvalidKey", err)
	}
	for _, tt := range []struct {
		alg  jose.Algorithm
		size int
	}{{jose.HS256, 32}, {jose.HS384, 48}, {jose.HS512, 64}} {
		if _, err := jose.NewKey(tt.alg, make([]byte, tt.size), ""); err != nil {
			t.Errorf("NewKey(%s, %d bytes): %v", tt.alg, tt.size, err)
		}
	}
}

func TestAttack04EmbeddedJWKHeader(t *testing.T) {
	victim := mustKey(t, jose.ES256, mustEC(t), "victim")
	attacker := mustEC(t)
	attackerKey := mustKey(t, jose.ES256, attacker, "victim")
	jwk, _ := attackerKey.MarshalJSON()
	for _, header := range []string{
		`{"alg":"ES256","kid":"victim","jwk":` + string(jwk) + `}`,
		`{"alg":"ES256","jwk":` + string(jwk) + `}`,
		`{"alg":"ES256","kid":"victim","x5c":["MIIB"]}`,
	} {
		input := b64(header) + "." + b64(`{"sub":"admin","exp":4102444800}`)
		sig, err := jose.Sign(attackerKey, []byte("unused"), jose.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, _, s := segments(sig)
		var c jose.Claims
		err = (&jose.Verifier{Keys: victim, Now: fixedNow}).Verify(input+"."+s, &c)
		if !errors.Is(err, jose.ErrMalformed) {
			t.Errorf("header %.40s…: got %v, want ErrMalformed (embedded key material refused)", header, err)
		}
	}
}

func TestAttack05JKUAndX5UNeverFetched(t *testing.T) {
	var fetches atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Write([]byte(`{"keys":[]}`))
	}))
	defer srv.Close()
	key := mustKey(t, jose.HS256, make([]byte, 32), "k1")
	for _, member := range []string{"jku", "x5u"} {
		header := `{"alg":"HS256","kid":"k1","` + member + `":"` + srv.URL + `/jwks.json"}`
		// Signed with the legitimate key, so only the header parameter is at fault.
		token := hmacToken(header, `{"sub":"u","exp":4102444800}`, make([]byte, 32))
		var c jose.Claims
		if err := (&jose.Verifier{Keys: key, Now: fixedNow}).Verify(token, &c); !errors.Is(err, jose.ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", member, err)
		}
		if _, _, err := jose.Verify(token, key); err == nil {
			t.Errorf("%s: Verify accepted the token", member)
		}
	}
	if n := fetches.Load(); n != 0 {
		t.Errorf("key URL server saw %d requests, want 0", n)
	}
}

func TestAttack06KidPathTraversalAndInjection(t *testing.T) {
	ks, err := jose.NewKeySet(mustKey(t, jose.HS256, make([]byte, 32), "k1"), mustKey(t, jose.HS256, make([]byte, 48), "k2"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kid := range []string{"../../../../dev/null", "/dev/null", "' OR '1'='1", "k1\x00", "k1/../k1", "K1", ""} {
		header, _ := json.Marshal(map[string]string{"alg": "HS256", "kid": kid})
		// The classic exploit: /dev/null reads as an empty key.
		token := hmacToken(string(header), `{"sub":"admin","exp":4102444800}`, nil)
		var c jose.Claims
		err := (&jose.Verifier{Keys: ks, Now: fixedNow}).Verify(token, &c)
		if !errors.Is(err, jose.ErrKeyNotFound) {
			t.Errorf("kid %q: got %v, want ErrKeyNotFound", kid, err)
		}
	}
}

func TestAttack07RS256ToHS256Confusion(t *testing.T) {
	rsaPriv := testRSAKey(t)
	key := mustKey(t, jose.RS256, rsaPriv, "rsa1")
	ks, _ := jose.NewKeySet(key.Public())
	pkix, _ := x509.MarshalPKIXPublicKey(&rsaPriv.PublicKey)
	jwk, _ := key.Public().MarshalJSON()
	secrets := map[string][]byte{
		"PEM":            pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}),
		"PKIX DER":       pkix,
		"PKCS#1 DER":     x509.MarshalPKCS1PublicKey(&rsaPriv.PublicKey),
		"PKCS#1 PEM":     pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaPriv.PublicKey)}),
		"JWK":            jwk,
		"modulus":        rsaPriv.N.Bytes(),
		"empty (no key)": nil,
	}
	for name, secret := range secrets {
		for _, alg := range []string{"HS256", "HS384", "HS512"} {
			token := hmacToken(`{"alg":"`+alg+`","kid":"rsa1"}`, `{"sub":"admin","exp":4102444800}`, secret)
			var c jose.Claims
			if err := (&jose.Verifier{Keys: ks, Now: fixedNow}).Verify(token, &c); !errors.Is(err, jose.ErrAlgorithm) {
				t.Errorf("%s as %s secret: got %v, want ErrAlgorithm", name, alg, err)
			}
		}
	}
	// An operator cannot build the confusion either: HMAC and asymmetric
	// keys never share a key set (SEC-17).
	pemKey := mustKey(t, jose.HS256, secrets["PEM"], "rsa-as-hmac")
	if err := ks.Add(pemKey); !errors.Is(err, jose.ErrInvalidKey) {
		t.Errorf("KeySet.Add(HMAC next to RSA): got %v, want ErrInvalidKey", err)
	}
}

func TestAttack08CrossJWTConfusion(t *testing.T) {
	priv, _ := rawKey(t, jose.ES256)
	key := mustKey(t, jose.ES256, priv, "k1")
	v := accessVerifier(key)
	tests := []struct {
		name string
		typ  string
		aud  jose.Audience
		want error
	}{
		{"access token", "at+jwt", jose.Audience{"api"}, nil},
		{"access token, application/ prefix and upper case", "application/AT+JWT", jose.Audience{"api"}, nil},
		{"access token among several audiences", "at+jwt", jose.Audience{"other", "api"}, nil},
		{"ID token (typ JWT, aud client)", "JWT", jose.Audience{"client-1"}, jose.ErrInvalidClaims},
		{"ID token with access typ but client aud", "at+jwt", jose.Audience{"client-1"}, jose.ErrInvalidClaims},
		{"refresh token", "refresh+jwt", jose.Audience{"api"}, jose.ErrInvalidClaims},
		{"email link token", "email-link+jwt", jose.Audience{"api"}, jose.ErrInvalidClaims},
		{"no typ", "", jose.Audience{"api"}, jose.ErrInvalidClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := accessClaims()
			c.Audience = tt.aud
			opts := jose.SignOptions{Type: tt.typ}
			var token string
			var err error
			if tt.typ == "" {
				token, err = jose.Sign(key, []byte(mustJSON(t, c)), opts)
			} else {
				token, err = jose.SignJWT(key, c, opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			var got AccessClaims
			if err := v.Verify(token, &got); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func mustJSON(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAttack09ExpAndNbfBoundaries(t *testing.T) {
	key := mustKey(t, jose.HS256, make([]byte, 32), "k1")
	T := testClock
	tests := []struct {
		name   string
		exp    time.Time
		nbf    time.Time
		now    time.Time
		leeway time.Duration
		want   error
	}{
		{"exp: 1 s before", T, time.Time{}, T.Add(-time.Second), 0, nil},
		{"exp: at exp", T, time.Time{}, T, 0, jose.ErrExpired},
		{"exp: 1 s after", T, time.Time{}, T.Add(time.Second), 0, jose.ErrExpired},
		{"exp: 1 s after within 2 s leeway", T, time.Time{}, T.Add(time.Second), 2 * time.Second, nil},
		{"exp: at exp+leeway", T, time.Time{}, T.Add(2 * time.Second), 2 * time.Second, jose.ErrExpired},
		{"nbf: 1 s before", T.Add(time.Hour), T, T.Add(-time.Second), 0, jose.ErrNotYetValid},
		{"nbf: at nbf", T.Add(time.Hour), T, T, 0, nil},
		{"nbf: 1 s after", T.Add(time.Hour), T, T.Add(time.Second), 0, nil},
		{"nbf: 1 s before within 1 s leeway", T.Add(time.Hour), T, T.Add(-time.Second), time.Second, nil},
		{"nbf: 2 s before with 1 s leeway", T.Add(time.Hour), T, T.Add(-2 * time.Second), time.Second, jose.ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := jose.Claims{ExpiresAt: jose.NewNumericDate(tt.exp)}
			if !tt.nbf.IsZero() {
				c.NotBefore = jose.NewNumericDate(tt.nbf)
			}
			token, err := jose.SignJWT(key, c, jose.SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			v := jose.Verifier{Keys: key, Leeway: tt.leeway, Now: func() time.Time { return tt.now }}
			var got jose.Claims
			err = v.Verify(token, &got)
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestAttack10ECDSAMalleability: replacing s by n−s yields a second valid
// signature of the same claims (ECDSA is malleable, and peers' signatures
// are not low-s normalised, so it cannot be refused). Revocation is
// therefore keyed on (iss, jti), never on the token text (SEC-25): the
// malleated token carries the same key and stays revoked.
func TestAttack10ECDSAMalleability(t *testing.T) {
	priv := mustEC(t)
	key := mustKey(t, jose.ES256, priv, "k1")
	token, err := jose.SignJWT(key, accessClaims(), jose.SignOptions{Type: "at+jwt"})
	if err != nil {
		t.Fatal(err)
	}
	h, p, s := segments(token)
	sig, _ := base64.RawURLEncoding.DecodeString(s)
	n := priv.Curve.Params().N
	sNeg := new(big.Int).Sub(n, new(big.Int).SetBytes(sig[32:]))
	malleated := make([]byte, 64)
	copy(malleated, sig[:32])
	sNeg.FillBytes(malleated[32:])
	twin := h + "." + p + "." + base64.RawURLEncoding.EncodeToString(malleated)
	if twin == token {
		t.Fatal("malleated token equals the original")
	}

	type revocationKey struct{ iss, jti string }
	denylist := map[revocationKey]bool{{"https://auth.example", "jti-1"}: true}
	v := accessVerifier(key)
	for name, tok := range map[string]string{"original": token, "s→n−s": twin} {
		var c AccessClaims
		if err := v.Verify(tok, &c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !denylist[revocationKey{c.Issuer, c.ID}] {
			t.Errorf("%s: got not revoked, want revoked by (iss, jti)", name)
		}
	}
}

func TestAttack11FormatConfusion(t *testing.T) {
	key := mustKey(t, jose.HS256, make([]byte, 32), "k1")
	token, _ := jose.SignJWT(key, jose.Claims{ExpiresAt: jose.NewNumericDate(testClock.Add(time.Hour))}, jose.SignOptions{})
	h, p, s := segments(token)
	tests := map[string]string{
		"flattened JSON serialization": `{"payload":"` + p + `","protected":"` + h + `","signature":"` + s + `"}`,
		"general JSON serialization":   `{"payload":"` + p + `","signatures":[{"protected":"` + h + `","signature":"` + s + `"}]}`,
		"JWE (five segments)":          h + ".ZW5jcnlwdGVka2V5.aXY." + p + "." + s,
		"four segments":                h + "." + p + "." + s + ".",
		"two segments":                 h + "." + p,
		"JWE header in a JWS":          b64(`{"alg":"HS256","enc":"A128GCM","kid":"k1"}`) + "." + p + "." + s,
		"padded base64":                h + "=." + p + "." + s,
		"line break in segment":        h[:5] + "\n" + h[5:] + "." + p + "." + s,
		"unknown crit":                 b64(`{"alg":"HS256","kid":"k1","crit":["exp"],"exp":1}`) + "." + p + "." + s,
		"duplicate alg":                b64(`{"alg":"HS256","alg":"none","kid":"k1"}`) + "." + p + "." + s,
		"b64 false (RFC 7797)":         b64(`{"alg":"HS256","kid":"k1","b64":false,"crit":["b64"]}`) + "." + p + "." + s,
	}
	for name, tok := range tests {
		var c jose.Claims
		if err := (&jose.Verifier{Keys: key, Now: fixedNow}).Verify(tok, &c); !errors.Is(err, jose.ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

// TestAttack12PsychicSignature: r = s = 0 (CVE-2022-21449) and the other
// degenerate values are refused for every ECDSA curve; the full edge-case
// coverage is the Wycheproof suite (TestWycheproof*).
func TestAttack12PsychicSignature(t *testing.T) {
	for _, tt := range []struct {
		alg   jose.Algorithm
		curve elliptic.Curve
	}{{jose.ES256, elliptic.P256()}, {jose.ES384, elliptic.P384()}, {jose.ES512, elliptic.P521()}} {
		priv, err := ecdsa.GenerateKey(tt.curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key := mustKey(t, tt.alg, &priv.PublicKey, "k1")
		size := (tt.curve.Params().BitSize + 7) / 8
		n := tt.curve.Params().N
		one := big.NewInt(1)
		for name, rs := range map[string][2]*big.Int{
			"r=s=0":   {new(big.Int), new(big.Int)},
			"r=s=n":   {n, n},
			"r=0,s=1": {new(big.Int), one},
			"r=1,s=0": {one, new(big.Int)},
		} {
			sig := make([]byte, 2*size)
			rs[0].FillBytes(sig[:size])
			rs[1].FillBytes(sig[size:])
			token := b64(`{"alg":"`+string(tt.alg)+`"}`) + "." + b64(`{"sub":"admin","exp":4102444800}`) + "." + base64.RawURLEncoding.EncodeToString(sig)
			if _, _, err := jose.Verify(token, key); !errors.Is(err, jose.ErrSignature) {
				t.Errorf("%s %s: got %v, want ErrSignature", tt.alg, name, err)
			}
		}
	}
}

func mustEC(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var _ = strings.Contains
