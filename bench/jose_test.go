package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"
	gojosejwt "github.com/go-jose/go-jose/v4/jwt"
	gjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jwa"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/sesame-auth/sesame/jose"
)

// The JWT benchmarks of issue 3. Every implementation signs the same claims
// (sub, iat, exp, iss, aud, jti and one custom string claim) and verifies the
// same token: parse, verify the signature with a pinned algorithm, validate
// exp, iss and aud, and fill a typed claims struct. BenchmarkPrimitive is
// the bare standard-library verification of that token's signature.

var (
	benchNow    = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	benchIssuer = "https://auth.example"
	benchAlgs   = []string{"HS256", "ES256", "EdDSA", "RS256"}
)

// benchKey holds one algorithm's key material in every library's form.
type benchKey struct {
	alg       string
	priv, pub any
	sesame    *jose.Key
	sesameSet *jose.KeySet
	token     string // signed by Sesame, verified by every implementation
}

var benchKeys = map[string]*benchKey{}

func init() {
	for _, alg := range benchAlgs {
		k := &benchKey{alg: alg}
		switch alg {
		case "HS256":
			secret := make([]byte, 32)
			rand.Read(secret)
			k.priv, k.pub = secret, secret
		case "ES256":
			p, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			k.priv, k.pub = p, &p.PublicKey
		case "EdDSA":
			pub, priv, _ := ed25519.GenerateKey(rand.Reader)
			k.priv, k.pub = priv, pub
		case "RS256":
			p, _ := rsa.GenerateKey(rand.Reader, 2048)
			k.priv, k.pub = p, &p.PublicKey
		}
		var err error
		if k.sesame, err = jose.NewKey(jose.Algorithm(alg), k.priv, "bench"); err != nil {
			panic(err)
		}
		verifier := k.sesame.Public()
		if verifier == nil {
			verifier = k.sesame
		}
		if k.sesameSet, err = jose.NewKeySet(verifier); err != nil {
			panic(err)
		}
		c := sesameClaims()
		if k.token, err = jose.SignJWT(k.sesame, &c, jose.SignOptions{}); err != nil {
			panic(err)
		}
		benchKeys[alg] = k
	}
}

type SesameClaims struct {
	jose.Claims
	Scope string `json:"scope"`
}

func sesameClaims() SesameClaims {
	return SesameClaims{
		Claims: jose.Claims{
			Issuer:    benchIssuer,
			Subject:   "user-1234567890",
			Audience:  jose.Audience{"api"},
			IssuedAt:  jose.NewNumericDate(benchNow),
			ExpiresAt: jose.NewNumericDate(benchNow.Add(15 * time.Minute)),
			ID:        "5b4c2f0e-8d4a-4f57-9d43-2f8f0b6a9c1e",
		},
		Scope: "read write",
	}
}

type GolangJWTClaims struct {
	gjwt.RegisteredClaims
	Scope string `json:"scope"`
}

func golangJWTClaims() GolangJWTClaims {
	return GolangJWTClaims{
		RegisteredClaims: gjwt.RegisteredClaims{
			Issuer:    benchIssuer,
			Subject:   "user-1234567890",
			Audience:  gjwt.ClaimStrings{"api"},
			IssuedAt:  gjwt.NewNumericDate(benchNow),
			ExpiresAt: gjwt.NewNumericDate(benchNow.Add(15 * time.Minute)),
			ID:        "5b4c2f0e-8d4a-4f57-9d43-2f8f0b6a9c1e",
		},
		Scope: "read write",
	}
}

type GoJoseCustom struct {
	Scope string `json:"scope"`
}

func goJoseClaims() (gojosejwt.Claims, GoJoseCustom) {
	return gojosejwt.Claims{
		Issuer:   benchIssuer,
		Subject:  "user-1234567890",
		Audience: gojosejwt.Audience{"api"},
		IssuedAt: gojosejwt.NewNumericDate(benchNow),
		Expiry:   gojosejwt.NewNumericDate(benchNow.Add(15 * time.Minute)),
		ID:       "5b4c2f0e-8d4a-4f57-9d43-2f8f0b6a9c1e",
	}, GoJoseCustom{Scope: "read write"}
}

// JWXClaims is the typed struct jwx results are copied into.
type JWXClaims struct {
	Issuer, Subject, ID, Scope string
	Audience                   []string
	IssuedAt, ExpiresAt        time.Time
}

func jwxAlg(alg string) jwa.SignatureAlgorithm {
	switch alg {
	case "HS256":
		return jwa.HS256()
	case "ES256":
		return jwa.ES256()
	case "EdDSA":
		return jwa.EdDSA()
	}
	return jwa.RS256()
}

func jwxToken() jwxjwt.Token {
	tok := jwxjwt.New()
	tok.Set(jwxjwt.IssuerKey, benchIssuer)
	tok.Set(jwxjwt.SubjectKey, "user-1234567890")
	tok.Set(jwxjwt.AudienceKey, []string{"api"})
	tok.Set(jwxjwt.IssuedAtKey, benchNow)
	tok.Set(jwxjwt.ExpirationKey, benchNow.Add(15*time.Minute))
	tok.Set(jwxjwt.JwtIDKey, "5b4c2f0e-8d4a-4f57-9d43-2f8f0b6a9c1e")
	tok.Set("scope", "read write")
	return tok
}

func BenchmarkJWTSign(b *testing.B) {
	for _, alg := range benchAlgs {
		k := benchKeys[alg]
		b.Run(alg+"/sesame", func(b *testing.B) {
			c := sesameClaims()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := jose.SignJWT(k.sesame, &c, jose.SignOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/golang-jwt", func(b *testing.B) {
			c := golangJWTClaims()
			method := gjwt.GetSigningMethod(alg)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := gjwt.NewWithClaims(method, c).SignedString(k.priv); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/go-jose", func(b *testing.B) {
			std, custom := goJoseClaims()
			signer, err := gojose.NewSigner(gojose.SigningKey{Algorithm: gojose.SignatureAlgorithm(alg), Key: k.priv}, (&gojose.SignerOptions{}).WithType("JWT"))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := gojosejwt.Signed(signer).Claims(std).Claims(custom).Serialize(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/jwx", func(b *testing.B) {
			tok := jwxToken()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := jwxjwt.Sign(tok, jwxjwt.WithKey(jwxAlg(alg), k.priv)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkJWTVerify(b *testing.B) {
	for _, alg := range benchAlgs {
		k := benchKeys[alg]
		b.Run(alg+"/sesame", func(b *testing.B) {
			v := &jose.Verifier{Keys: k.sesameSet, Issuer: benchIssuer, Audience: []string{"api"}, Now: func() time.Time { return benchNow }}
			var c SesameClaims
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Verify(k.token, &c); err != nil {
					b.Fatal(err)
				}
			}
			if c.Scope != "read write" {
				b.Fatalf("got scope %q", c.Scope)
			}
		})
		b.Run(alg+"/golang-jwt", func(b *testing.B) {
			p := gjwt.NewParser(gjwt.WithValidMethods([]string{alg}), gjwt.WithIssuer(benchIssuer), gjwt.WithAudience("api"),
				gjwt.WithExpirationRequired(), gjwt.WithTimeFunc(func() time.Time { return benchNow }))
			keyfunc := func(*gjwt.Token) (any, error) { return k.pub, nil }
			b.ReportAllocs()
			for b.Loop() {
				var c GolangJWTClaims
				if _, err := p.ParseWithClaims(k.token, &c, keyfunc); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/go-jose", func(b *testing.B) {
			algs := []gojose.SignatureAlgorithm{gojose.SignatureAlgorithm(alg)}
			want := gojosejwt.Expected{Issuer: benchIssuer, AnyAudience: gojosejwt.Audience{"api"}, Time: benchNow}
			b.ReportAllocs()
			for b.Loop() {
				tok, err := gojosejwt.ParseSigned(k.token, algs)
				if err != nil {
					b.Fatal(err)
				}
				var std gojosejwt.Claims
				var custom GoJoseCustom
				if err := tok.Claims(k.pub, &std, &custom); err != nil {
					b.Fatal(err)
				}
				if std.Expiry == nil {
					b.Fatal("no exp")
				}
				if err := std.ValidateWithLeeway(want, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/jwx", func(b *testing.B) {
			token := []byte(k.token)
			opts := []jwxjwt.ParseOption{jwxjwt.WithKey(jwxAlg(alg), k.pub), jwxjwt.WithValidate(true),
				jwxjwt.WithIssuer(benchIssuer), jwxjwt.WithAudience("api"),
				jwxjwt.WithClock(jwxjwt.ClockFunc(func() time.Time { return benchNow }))}
			b.ReportAllocs()
			for b.Loop() {
				tok, err := jwxjwt.Parse(token, opts...)
				if err != nil {
					b.Fatal(err)
				}
				var c JWXClaims
				c.Issuer, _ = tok.Issuer()
				c.Subject, _ = tok.Subject()
				c.ID, _ = tok.JwtID()
				c.Audience, _ = tok.Audience()
				c.IssuedAt, _ = tok.IssuedAt()
				c.ExpiresAt, _ = tok.Expiration()
				if err := tok.Get("scope", &c.Scope); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPrimitive is the floor: the standard library verifying the same
// token's signature over its signing input, with everything decoded ahead.
func BenchmarkPrimitive(b *testing.B) {
	for _, alg := range benchAlgs {
		k := benchKeys[alg]
		dot := strings.LastIndexByte(k.token, '.')
		input := []byte(k.token[:dot])
		sig, err := base64.RawURLEncoding.DecodeString(k.token[dot+1:])
		if err != nil {
			b.Fatal(err)
		}
		b.Run(alg, func(b *testing.B) {
			var verify func() bool
			switch alg {
			case "HS256":
				secret := k.pub.([]byte)
				verify = func() bool {
					m := hmac.New(sha256.New, secret)
					m.Write(input)
					return hmac.Equal(m.Sum(nil), sig)
				}
			case "ES256":
				pub := k.pub.(*ecdsa.PublicKey)
				der := p1363ToASN1(sig)
				verify = func() bool {
					h := sha256.Sum256(input)
					return ecdsa.VerifyASN1(pub, h[:], der)
				}
			case "EdDSA":
				pub := k.pub.(ed25519.PublicKey)
				verify = func() bool { return ed25519.Verify(pub, input, sig) }
			case "RS256":
				pub := k.pub.(*rsa.PublicKey)
				verify = func() bool {
					h := sha256.Sum256(input)
					return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if !verify() {
					b.Fatal("signature does not verify")
				}
			}
		})
	}
}

// p1363ToASN1 converts r‖s to the DER form crypto/ecdsa verifies.
func p1363ToASN1(sig []byte) []byte {
	n := len(sig) / 2
	r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
	intDER := func(v *big.Int) []byte {
		b := v.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return append([]byte{0x02, byte(len(b))}, b...)
	}
	body := append(intDER(r), intDER(s)...)
	return append([]byte{0x30, byte(len(body))}, body...)
}
