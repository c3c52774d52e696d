package inspect

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/cookie"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

var (
	update = flag.Bool("update", false, "rewrite the golden outputs under testdata/")
	mint   = flag.Bool("mint", false, "mint new inputs under testdata/ (new keys and tokens; use with -update)")
)

// goldenNow is the clock of every golden case: tokens were minted relative
// to it, so relative times ("expires in 14 min") never change.
var goldenNow = time.Date(2026, 12, 5, 13, 0, 0, 0, time.UTC)

const issuer = "https://auth.example"

// goldenCase is one input under testdata/ and its expected outputs.
type goldenCase struct {
	name  string
	input string // file name of the input under testdata/ (default name + ".input")
	jwks  bool   // verify with testdata/sesame.jwks
	// wantErrors is whether the report must hold an error finding: the
	// golden files could be regenerated wrong, this cannot.
	wantErrors bool
}

var goldenCases = []goldenCase{
	{name: "access-token"},
	{name: "access-token-jwks", input: "access-token.input", jwks: true},
	{name: "id-token"},
	{name: "expired-token"},
	{name: "alg-none", wantErrors: true},
	{name: "hs256"},
	{name: "hs256-jwks", input: "hs256.input", jwks: true, wantErrors: true},
	{name: "jku", wantErrors: true},
	{name: "no-exp-aud", wantErrors: true},
	{name: "session-cookie"},
	{name: "remember-cookie"},
	{name: "access-cookie"},
	{name: "bad-cookie", wantErrors: true},
	{name: "cookie-header"},
	{name: "sesame-jwks", input: "sesame.jwks"},
	{name: "jwks-private", wantErrors: true},
	{name: "jwks-weak", wantErrors: true},
}

func (c goldenCase) inputFile() string {
	if c.input != "" {
		return c.input
	}
	return c.name + ".input"
}

// TestGolden inspects each input under testdata/ at goldenNow and compares
// the text and JSON outputs with the golden files. Run with -update to
// rewrite the golden files, and -mint -update to mint new inputs with
// Sesame's own packages (keyring, token, session, oauth types) first.
func TestGolden(t *testing.T) {
	if *mint {
		writeInputs(t)
	}
	keys, err := LoadKeySet(context.Background(), filepath.Join("testdata", "sesame.jwks"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			input, err := os.ReadFile(filepath.Join("testdata", c.inputFile()))
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{Now: func() time.Time { return goldenNow }}
			if c.jwks {
				opts.Keys, opts.KeysSource = keys, "sesame.jwks"
			}
			r, err := Inspect(input, opts)
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			if r.HasErrors() != c.wantErrors {
				t.Errorf("got HasErrors %v, want %v; findings: %+v", r.HasErrors(), c.wantErrors, r.Findings)
			}
			var text bytes.Buffer
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			js, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			js = append(js, '\n')
			checkNoCredential(t, string(input), text.String())
			checkNoCredential(t, string(input), string(js))
			compareGolden(t, c.name+".golden", text.Bytes())
			compareGolden(t, c.name+".json", js)
		})
	}
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./inspect -run TestGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run with -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// checkNoCredential fails when out holds a JWT's signature or a cookie's
// value from input, or 12 characters of either.
func checkNoCredential(t *testing.T, input, out string) {
	t.Helper()
	for _, secret := range credentials(input) {
		for i := 0; i+12 <= len(secret); i += 6 {
			if strings.Contains(out, secret[i:i+12]) {
				t.Fatalf("the output holds part of a credential (%q...):\n%s", secret[i:i+12], out)
			}
		}
	}
}

// credentials returns the signatures and cookie values of input.
func credentials(input string) []string {
	var out []string
	text := strings.TrimSpace(input)
	if strings.HasPrefix(text, "{") {
		return nil
	}
	if name, rest, ok := strings.Cut(text, ":"); ok && !strings.ContainsAny(name, "=.") {
		text = strings.TrimSpace(rest)
	}
	addJWT := func(s string) {
		if parts := strings.Split(s, "."); len(parts) == 3 {
			out = append(out, parts[2])
		}
	}
	if strings.Count(text, ".") == 2 && !strings.Contains(text, "=") {
		addJWT(text)
		return out
	}
	for _, p := range strings.Split(text, ";") {
		if _, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && len(v) >= 12 {
			out = append(out, v)
			addJWT(v)
		}
	}
	return out
}

// writeInputs mints every input with Sesame's own packages at goldenNow.
func writeInputs(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	clock := testclock.New(goldenNow.Add(-4 * time.Hour))
	store := memstore.New()
	master, err := keyring.NewMasterKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.Open(ctx, store, master, keyring.Config{Clock: clock, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := session.New(store, session.Config{Clock: clock, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := token.New(token.Config{
		Issuer: issuer, Keys: ring, SuccessorKey: bytes.Repeat([]byte{9}, 32),
		Store: store, Sessions: sessions, Clock: clock, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join("testdata", name), []byte(content+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	accessToken := func(at time.Time) string {
		t.Helper()
		clock.Set(at)
		sess, err := sessions.StartTokenSession(ctx, "user-7f3a", session.LoginOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := tokens.Issue(ctx, sess, "web", "profile")
		if err != nil {
			t.Fatal(err)
		}
		return p.AccessToken
	}
	write("sesame.jwks", string(ring.JWKS()))

	// A good access token, 1 min old (15 min lifetime: expires in 14 min).
	access := accessToken(goldenNow.Add(-time.Minute))
	write("access-token.input", access)
	// An access token that expired 3 h ago.
	write("expired-token.input", accessToken(goldenNow.Add(-3*time.Hour-15*time.Minute)))

	// An ID token as the OpenID Provider signs it (RS256 key of the ring,
	// typ JWT, 5 min lifetime).
	clock.Set(goldenNow.Add(-time.Minute))
	id, err := jose.SignJWT(ring.SigningKeyFor(jose.RS256), &oauth.IDClaims{
		Claims: jose.Claims{
			Issuer: issuer, Subject: "user-7f3a", Audience: jose.Audience{"web"},
			IssuedAt: jose.NewNumericDate(goldenNow.Add(-time.Minute)), ExpiresAt: jose.NewNumericDate(goldenNow.Add(4 * time.Minute)),
		},
		AuthTime: jose.NewNumericDate(goldenNow.Add(-20 * time.Minute)), Nonce: "n-0S6_WzA2Mj", SessionID: "s-1",
		ACR: "1", AMR: []string{"pwd"}, AZP: "web",
	}, jose.SignOptions{Type: "JWT"})
	if err != nil {
		t.Fatal(err)
	}
	write("id-token.input", id)

	// alg none: an unsigned token, as an attacker forges it.
	write("alg-none.input", rawJWT(t, `{"alg":"none","typ":"JWT"}`, fmt.Sprintf(`{"iss":%q,"sub":"admin","aud":"web","exp":%d}`, issuer, goldenNow.Add(time.Hour).Unix()), nil))

	// HS256 with a random secret, as a library user inside one service.
	hkey, err := jose.GenerateKey(jose.HS256, "hs-1")
	if err != nil {
		t.Fatal(err)
	}
	hs, err := jose.SignJWT(hkey, jose.Claims{
		Issuer: "https://app.example", Subject: "user-1", Audience: jose.Audience{"app"},
		IssuedAt: jose.NewNumericDate(goldenNow.Add(-2 * time.Minute)), ExpiresAt: jose.NewNumericDate(goldenNow.Add(8 * time.Minute)),
	}, jose.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	write("hs256.input", hs)

	// jku pointing at the attacker's keys (attack 5).
	eckey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	write("jku.input", rawJWT(t, `{"alg":"ES256","kid":"attacker-1","jku":"https://attacker.example/jwks.json","typ":"at+jwt"}`,
		fmt.Sprintf(`{"iss":%q,"sub":"admin","aud":%q,"exp":%d,"iat":%d,"jti":"j-1","client_id":"web","sid":"s-1"}`, issuer, issuer, goldenNow.Add(10*time.Minute).Unix(), goldenNow.Add(-5*time.Minute).Unix()), eckey))

	// No exp and no aud.
	ekey, err := jose.GenerateKey(jose.ES256, "")
	if err != nil {
		t.Fatal(err)
	}
	noexp, err := jose.SignJWT(ekey, jose.Claims{Issuer: issuer, Subject: "user-1", IssuedAt: jose.NewNumericDate(goldenNow.Add(-time.Hour))}, jose.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	write("no-exp-aud.input", noexp)

	// Sesame's session cookie with the default configuration, as Login
	// writes it; then a remember-me one.
	clock.Set(goldenNow)
	for name, remember := range map[string]bool{"session-cookie.input": false, "remember-cookie.input": true} {
		rec := httptest.NewRecorder()
		if _, err := sessions.Login(rec, httptest.NewRequest(http.MethodPost, "https://auth.example/api/v1/login", nil), "user-7f3a", session.LoginOptions{Remember: remember}); err != nil {
			t.Fatal(err)
		}
		write(name, "Set-Cookie: "+rec.Header().Get("Set-Cookie"))
	}

	// Sesame's access-token cookie, as the server writes it.
	line, err := cookie.Cookie{Name: token.AccessCookie, Value: access, SameSite: http.SameSiteLaxMode}.Header()
	if err != nil {
		t.Fatal(err)
	}
	write("access-cookie.input", "Set-Cookie: "+line)

	// A bad cookie: no Secure, HttpOnly or SameSite, shared with every
	// subdomain, persisting a year.
	write("bad-cookie.input", "session_id="+randomValue(t)+"; Path=/; Domain=example.com; Max-Age=31536000")

	// A Cookie header with the session cookie twice (tossing).
	write("cookie-header.input", "Cookie: __Host-sesame="+randomValue(t)+"; theme=dark; __Host-sesame="+randomValue(t))

	// A JWKS with a private key, as MarshalPrivateJWKS writes it.
	priv, err := jose.GenerateKey(jose.ES256, "signing-1")
	if err != nil {
		t.Fatal(err)
	}
	pset, err := jose.NewKeySet(priv)
	if err != nil {
		t.Fatal(err)
	}
	pjwks, err := pset.MarshalPrivateJWKS()
	if err != nil {
		t.Fatal(err)
	}
	write("jwks-private.input", string(pjwks))

	// A weak JWKS: a 1024-bit RSA key, two keys with one kid, an alg that
	// does not fit its key type, no alg or use.
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	x, y := eckey.PublicKey.X.FillBytes(make([]byte, 32)), eckey.PublicKey.Y.FillBytes(make([]byte, 32))
	write("jwks-weak.input", fmt.Sprintf(`{"keys":[
  {"kty":"RSA","kid":"k1","n":%q,"e":"AQAB"},
  {"kty":"EC","kid":"k1","crv":"P-256","alg":"RS256","use":"sig","x":%q,"y":%q}
]}`, b64(small.N.Bytes()), b64(x), b64(y)))
}

// rawJWT assembles a compact JWS by hand, for headers jose refuses to
// write; key nil leaves the signature empty.
func rawJWT(t *testing.T, header, claims string, key *ecdsa.PrivateKey) string {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64([]byte(header)) + "." + b64([]byte(claims))
	if key == nil {
		return input + "."
	}
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return input + "." + b64(sig)
}

func randomValue(t *testing.T) string {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(n.FillBytes(make([]byte, 16)))
}
