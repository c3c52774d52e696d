package inspect

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/cookie"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/token"
)

func inspectAt(t *testing.T, input string, opts Options) *Report {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return goldenNow }
	}
	r, err := Inspect([]byte(input), opts)
	if err != nil {
		t.Fatalf("Inspect(%.40q): %v", input, err)
	}
	return r
}

// codes returns the finding codes of r with their severities.
func codes(r *Report) map[string]Severity {
	m := map[string]Severity{}
	for _, f := range r.Findings {
		m[f.Code] = f.Severity
	}
	return m
}

func wantFinding(t *testing.T, r *Report, code string, sev Severity) {
	t.Helper()
	if got, ok := codes(r)[code]; !ok || got != sev {
		t.Errorf("finding %s: got %q (present %v), want %s; findings: %+v", code, got, ok, sev, r.Findings)
	}
}

func noFinding(t *testing.T, r *Report, code string) {
	t.Helper()
	if _, ok := codes(r)[code]; ok {
		t.Errorf("got finding %s, want none; findings: %+v", code, r.Findings)
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// jwtOf assembles header.claims.sig without signing.
func jwtOf(header, claims string, sig []byte) string {
	return b64(header) + "." + b64(claims) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestDetect(t *testing.T) {
	tok := jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, `{"exp":1}`, make([]byte, 64))
	tests := []struct {
		name  string
		input string
		force Kind
		want  Kind
	}{
		{"bare JWT", tok, "", KindJWT},
		{"Bearer", "Bearer " + tok, "", KindJWT},
		{"Authorization header", "Authorization: Bearer " + tok, "", KindJWT},
		{"trailing newline", tok + "\n", "", KindJWT},
		{"Set-Cookie with name", "Set-Cookie: a=b", "", KindSetCookie},
		{"Set-Cookie lower case", "set-cookie: a=b; Path=/", "", KindSetCookie},
		{"bare Set-Cookie", "a=b; Secure; HttpOnly", "", KindSetCookie},
		{"bare Set-Cookie with a dotted value", "a=x.y.z; Path=/", "", KindSetCookie},
		{"Cookie with name", "Cookie: a=b; c=d", "", KindCookie},
		{"bare Cookie", "a=b; c=d", "", KindCookie},
		{"single pair is a Cookie header", "a=b", "", KindCookie},
		{"forced Set-Cookie", "a=b", KindSetCookie, KindSetCookie},
		{"JWKS", `{"keys":[]}`, "", KindJWKS},
		{"JWK", `{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}`, "", KindJWKS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := inspectAt(t, tt.input, Options{Kind: tt.force})
			if r.Kind != tt.want {
				t.Errorf("got kind %s, want %s", r.Kind, tt.want)
			}
		})
	}
}

func TestUnreadable(t *testing.T) {
	tok := jwtOf(`{"alg":"ES256"}`, `{}`, make([]byte, 64))
	tests := []struct {
		name, input string
		force       Kind
		wantMsg     string
	}{
		{"empty", "  \n", "", "empty"},
		{"word", "hello", "", "not a JWT"},
		{"JWE", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", "", "JWE"},
		{"JSON serialization", `{"payload":"e30","signature":"AA","protected":"e30"}`, "", "JSON serialization"},
		{"two lines", tok + "\n" + tok, "", "more than one line"},
		{"header not base64", "!!!.e30.AA", KindJWT, "not base64url"},
		{"header not JSON", b64("nope") + ".e30.AA", "", "not a JSON object"},
		{"header an array", b64("[1]") + ".e30.AA", "", "not a JSON object"},
		{"Set-Cookie without =", "Set-Cookie: novalue; Path=/", "", "not a valid Set-Cookie"},
		{"Set-Cookie bad name", "Set-Cookie: a b=c", "", "not a valid Set-Cookie"},
		{"Cookie of junk", "Cookie: ;;;x;", "", "no name=value pair"},
		{"JSON neither", `{"a":1}`, "", "neither"},
		{"JSON truncated", `{"keys":[`, "", "not a JSON object"},
		{"keys not an array", `{"keys":{}}`, "", "not an array"},
		{"kind mismatch", "Set-Cookie: a=b", KindJWT, "not a jwt"},
		{"unknown kind", "a=b", "xml", "unknown kind"},
		{"too large", strings.Repeat("a", MaxInput+1), "", "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Inspect([]byte(tt.input), Options{Kind: tt.force})
			if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("got error %v, want ErrUnreadable saying %q", err, tt.wantMsg)
			}
			if len(tt.input) > 8 && strings.Contains(err.Error(), tt.input) {
				t.Errorf("the error echoes the input: %v", err)
			}
		})
	}
}

func TestJWTLint(t *testing.T) {
	now := goldenNow.Unix()
	access := func(extra string) string {
		return fmt.Sprintf(`{"iss":"https://a","sub":"u","aud":"https://a","exp":%d,"iat":%d,"jti":"j","client_id":"c"%s}`, now+600, now-60, extra)
	}
	sig64 := make([]byte, 64)
	tests := []struct {
		name   string
		token  string
		code   string
		sev    Severity
		absent string // a code that must not be reported
	}{
		{"alg noNE in mixed case (8725bis)", jwtOf(`{"alg":"noNE","typ":"at+jwt"}`, access(""), nil), "jwt.alg-none", Error, ""},
		{"alg unknown", jwtOf(`{"alg":"ES257","kid":"k"}`, access(""), sig64), "jwt.alg-unknown", Error, ""},
		{"alg missing", jwtOf(`{"kid":"k"}`, access(""), sig64), "jwt.alg-missing", Error, ""},
		{"alg not a string", jwtOf(`{"alg":1}`, access(""), sig64), "jwt.alg-type", Error, ""},
		{"jwk header (attack 4)", jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt","jwk":{"kty":"EC"}}`, access(""), sig64), "jwt.jwk", Error, ""},
		{"x5u header", jwtOf(`{"alg":"ES256","kid":"k","x5u":"https://x"}`, access(""), sig64), "jwt.x5u", Error, ""},
		{"x5c header", jwtOf(`{"alg":"ES256","kid":"k","x5c":["AA"]}`, access(""), sig64), "jwt.x5c", Error, ""},
		{"crit header", jwtOf(`{"alg":"ES256","kid":"k","crit":["exp"]}`, access(""), sig64), "jwt.crit", Error, ""},
		{"kid path traversal (attack 6)", jwtOf(`{"alg":"HS256","kid":"../../dev/null"}`, access(""), make([]byte, 32)), "jwt.kid-suspicious", Warning, ""},
		{"kid SQL", jwtOf(`{"alg":"ES256","kid":"x' OR '1'='1"}`, access(""), sig64), "jwt.kid-suspicious", Warning, ""},
		{"DER ECDSA signature", jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, access(""), derSig(t)), "jwt.signature-size", Error, ""},
		{"RSA signature under 2048 bits", jwtOf(`{"alg":"RS256","kid":"k","typ":"at+jwt"}`, access(""), make([]byte, 128)), "jwt.rsa-small", Error, ""},
		{"empty signature with ES256", jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, access(""), nil), "jwt.signature-empty", Error, ""},
		{"padded base64", b64(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`) + "=." + b64(access("")) + "." + base64.RawURLEncoding.EncodeToString(sig64), "jwt.base64", Error, ""},
		{"duplicate claim", jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, access(`,"sub":"admin"`), sig64), "jwt.claim-duplicate", Error, ""},
		{"duplicate header member", jwtOf(`{"alg":"ES256","alg":"none","kid":"k"}`, access(""), sig64), "jwt.header-duplicate", Error, ""},
		{"access token as typ JWT (attack 8)", jwtOf(`{"alg":"ES256","kid":"k","typ":"JWT"}`, access(""), sig64), "jwt.typ-access", Error, ""},
		{"access token missing jti", jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, strings.Replace(access(""), `"jti":"j",`, "", 1), sig64), "jwt.missing-jti", Error, ""},
		{"typ application/at+jwt", jwtOf(`{"alg":"ES256","kid":"k","typ":"application/AT+JWT"}`, access(""), sig64), "", "", "jwt.typ-access"},
		{"exp a string", jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, strings.Replace(access(""), fmt.Sprint(now+600), `"soon"`, 1), sig64), "jwt.date-type", Error, ""},
		{"nbf in the future", jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, access(fmt.Sprintf(`,"nbf":%d`, now+120)), sig64), "jwt.not-yet-valid", Warning, ""},
		{"iat in the future", jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, strings.Replace(access(""), fmt.Sprint(now-60), fmt.Sprint(now+300), 1), sig64), "jwt.iat-future", Warning, ""},
		{"exp before iat", jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, strings.Replace(access(""), fmt.Sprint(now-60), fmt.Sprint(now+6000), 1), sig64), "jwt.exp-before-start", Error, ""},
		{"access token of 30 min", jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, strings.Replace(access(""), fmt.Sprint(now+600), fmt.Sprint(now+1740), 1), sig64), "jwt.lifetime", Warning, ""},
		{"access token of a day", jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, strings.Replace(access(""), fmt.Sprint(now+600), fmt.Sprint(now+86400), 1), sig64), "jwt.lifetime", Error, ""},
		{"typ not a string: Sesame's verifier refuses it", jwtOf(`{"alg":"ES256","kid":"k","typ":1}`, access(""), sig64), "jwt.strict", Error, ""},
		{"nested duplicate claim", jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, access(`,"x":[{"a":1,"b":{"a":1},"a":2}]`), sig64), "jwt.claim-nested-duplicate", Error, ""},
		{"no nested duplicate in siblings", jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, access(`,"x":[{"a":1},{"a":2}],"y":{"a":{"a":1}}`), sig64), "", "", "jwt.claim-nested-duplicate"},
		{"payload not JSON", jwtOf(`{"alg":"ES256","kid":"k"}`, "hello", sig64), "jwt.payload-not-json", Warning, ""},
		{"good access token", jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, access(""), sig64), "", "", "jwt.typ-access"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := inspectAt(t, tt.token, Options{})
			if tt.code != "" {
				wantFinding(t, r, tt.code, tt.sev)
			} else if r.HasErrors() {
				t.Errorf("got errors, want none: %+v", r.Findings)
			}
			if tt.absent != "" {
				noFinding(t, r, tt.absent)
			}
		})
	}
}

// derSig is an ASN.1 DER ECDSA signature, the form JWS does not use.
func derSig(t *testing.T) []byte {
	t.Helper()
	b, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).Lsh(big.NewInt(1), 255), new(big.Int).Lsh(big.NewInt(1), 254)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRelativeTimes(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0 s"}, {59 * time.Second, "59 s"}, {time.Minute, "1 min"}, {14*time.Minute + 59*time.Second, "14 min"},
		{time.Hour, "1 h"}, {3*time.Hour + 15*time.Minute, "3 h 15 min"}, {11*time.Hour + 5*time.Minute, "11 h"},
		{-3 * time.Hour, "3 h"}, {72 * time.Hour, "3 days"},
	}
	for _, tt := range tests {
		if got := relative(tt.d); got != tt.want {
			t.Errorf("relative(%v): got %q, want %q", tt.d, got, tt.want)
		}
	}
	now := goldenNow
	for _, tt := range []struct {
		claim string
		at    time.Time
		want  string
	}{
		{"exp", now.Add(14 * time.Minute), "expires in 14 min"},
		{"exp", now.Add(-3 * time.Hour), "expired 3 h ago"},
		{"exp", now, "expired 0 s ago"},
		{"iat", now.Add(-time.Minute), "1 min ago"},
		{"nbf", now.Add(5 * time.Minute), "in 5 min"},
	} {
		if got := relativeFor(tt.claim, tt.at, now); got != tt.want {
			t.Errorf("relativeFor(%s, %v): got %q, want %q", tt.claim, tt.at.Sub(now), got, tt.want)
		}
	}
}

// TestClockInjected: the same token reads as valid or expired by the
// injected clock alone.
func TestClockInjected(t *testing.T) {
	tok := jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, fmt.Sprintf(`{"exp":%d}`, goldenNow.Unix()), make([]byte, 64))
	before := inspectAt(t, tok, Options{Now: func() time.Time { return goldenNow.Add(-time.Second) }})
	at := inspectAt(t, tok, Options{Now: func() time.Time { return goldenNow }})
	noFinding(t, before, "jwt.expired")
	wantFinding(t, at, "jwt.expired", Warning)
	if got := before.JWT.Times[0].Relative; got != "expires in 1 s" {
		t.Errorf("got %q, want expires in 1 s", got)
	}
}

func TestCookieLint(t *testing.T) {
	tests := []struct {
		name, line string
		code       string
		sev        Severity
	}{
		{"__Host- with Domain", "__Host-sid=abc; Secure; Path=/; Domain=example.com; HttpOnly; SameSite=Lax", "cookie.host-domain", Error},
		{"__Host- without Path=/", "__Host-sid=abc; Secure; Path=/app; HttpOnly; SameSite=Lax", "cookie.host-path", Error},
		{"__Host- without Secure", "__Host-sid=abc; Path=/; HttpOnly; SameSite=Lax", "cookie.host-secure", Error},
		{"__Secure- without Secure", "__Secure-rt=abc; Path=/t; HttpOnly; SameSite=Strict", "cookie.secure-prefix", Error},
		{"prefix in odd case", "__host-sid=abc; Secure; Path=/; HttpOnly; SameSite=Lax", "cookie.prefix-case", Warning},
		{"SameSite=None without Secure", "theme=dark; Path=/; SameSite=None", "cookie.samesite-none-insecure", Error},
		{"SameSite=None on a session cookie", "__Host-sid=abc; Secure; Path=/; HttpOnly; SameSite=None", "cookie.samesite-none", Warning},
		{"SameSite invalid", "__Host-sid=abc; Secure; Path=/; HttpOnly; SameSite=Loose", "cookie.samesite-invalid", Error},
		{"SameSite missing", "__Host-sid=abc; Secure; Path=/; HttpOnly", "cookie.samesite-missing", Error},
		{"no HttpOnly on a non-session cookie", "__Host-theme=dark; Secure; Path=/; SameSite=Lax", "cookie.httponly", Warning},
		{"too large (SEC-04)", "__Host-sid=" + strings.Repeat("a", 4090) + "; Secure; Path=/; HttpOnly; SameSite=Lax", "cookie.size", Error},
		{"attribute too large", "__Secure-sid=abc; Secure; Path=/" + strings.Repeat("p", 1100) + "; HttpOnly; SameSite=Lax", "cookie.attribute-size", Error},
		{"Domain a TLD", "__Secure-sid=abc; Secure; Domain=com; HttpOnly; SameSite=Lax; Path=/", "cookie.domain-tld", Error},
		{"Domain a public suffix", "__Secure-sid=abc; Secure; Domain=.co.uk; HttpOnly; SameSite=Lax; Path=/", "cookie.domain-public-suffix", Error},
		{"Domain a hosting suffix", "__Secure-sid=abc; Secure; Domain=github.io; HttpOnly; SameSite=Lax; Path=/", "cookie.domain-public-suffix", Error},
		{"Domain on a session cookie", "__Secure-sid=abc; Secure; Domain=example.co.uk; HttpOnly; SameSite=Lax; Path=/", "cookie.domain", Warning},
		{"session cookie without prefix", "sid=abc; Secure; Path=/; HttpOnly; SameSite=Lax", "cookie.prefix", Warning},
		{"deletion", "__Host-sid=; Secure; Path=/; Max-Age=0; HttpOnly; SameSite=Lax", "cookie.deletes", Info},
		{"past Expires deletes", "__Host-sid=; Secure; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax", "cookie.deletes", Info},
		{"Expires not a date", "__Host-sid=abc; Secure; Path=/; Expires=tomorrow; HttpOnly; SameSite=Lax", "cookie.expires-invalid", Warning},
		{"over 400 days", "__Host-theme=dark; Secure; Path=/; Max-Age=40000000; HttpOnly; SameSite=Lax", "cookie.lifetime-cap", Warning},
		{"session cookie for a year", "__Host-sid=abc; Secure; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax", "cookie.session-persistent", Warning},
		{"refresh cookie with Lax (SEC-34)", "__Secure-sesame-rt=abc; Secure; Path=/api/v1/token; HttpOnly; SameSite=Lax", "cookie.refresh-samesite", Warning},
		{"unknown attribute", "__Host-sid=abc; Secure; Path=/; HttpOnly; SameSite=Lax; Priority=High", "cookie.unknown-attribute", Info},
		{"JWT value with alg none", "__Host-at=" + jwtOf(`{"alg":"none"}`, `{"exp":1}`, nil) + "; Secure; Path=/; HttpOnly; SameSite=Lax", "value.jwt.alg-none", Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := inspectAt(t, "Set-Cookie: "+tt.line, Options{})
			wantFinding(t, r, tt.code, tt.sev)
		})
	}
}

func TestCookieHeaderJWTValue(t *testing.T) {
	tok := jwtOf(`{"alg":"none"}`, `{"exp":1}`, nil)
	r := inspectAt(t, "Cookie: a=1; __Host-sesame-at="+tok, Options{})
	wantFinding(t, r, "value.jwt.alg-none", Error)
	if r.Cookie.Cookies[1].JWT == nil {
		t.Errorf("got no decoded JWT for the cookie value")
	}
}

func TestCookieHeaderTooLarge(t *testing.T) {
	r := inspectAt(t, "Cookie: a="+strings.Repeat("b", 9000), Options{})
	wantFinding(t, r, "cookie.header-size", Error)
}

// TestTerminalEscapes: claims and names cannot move the cursor, change
// colours or rewrite the terminal's title (the terminal's form of SEC-55's
// log injection).
func TestTerminalEscapes(t *testing.T) {
	tok := jwtOf(`{"alg":"ES256","kid":"k\u009b2J","typ":"at+jwt"}`, `{"sub":"\u001b]0;pwned\u0007","exp":1,"x\u009b":"\u202e"}`, make([]byte, 64))
	r := inspectAt(t, tok, Options{})
	var out bytes.Buffer
	if err := r.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"\x1b", "\u009b", "\x07", "\u202e"} {
		if strings.Contains(out.String(), bad) {
			t.Errorf("the output holds %q:\n%s", bad, out.String())
		}
	}
	if !strings.Contains(out.String(), `\u009b`) {
		t.Errorf("want the C1 control escaped as \\u009b:\n%s", out.String())
	}
	js, err := jsonOf(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"\u009b", "\u202e"} {
		if strings.Contains(js, bad) {
			t.Errorf("the JSON output holds %q raw:\n%s", bad, js)
		}
	}
	for _, in := range []string{
		"Set-Cookie: __Host-a=b; Secure; Path=/; HttpOnly; SameSite=Lax; X\u009b=1",
		`{"keys":[{"kty":"EC","crv":"P-256","kid":"\u009b","x":"AA","y":"AA"}]}`,
	} {
		r := inspectAt(t, in, Options{})
		var text bytes.Buffer
		r.WriteText(&text)
		js, _ := jsonOf(r)
		if strings.Contains(text.String()+js, "\u009b") {
			t.Errorf("%q: the output holds a raw C1 control:\n%s\n%s", in, text.String(), js)
		}
	}
}

// TestNeverPrintsCredentials: no signature and no cookie value, nor 12
// characters of one, reach the text or JSON output (SEC-54: tokens are
// never logged, and terminal scrollback is a log).
func TestNeverPrintsCredentials(t *testing.T) {
	key, err := jose.GenerateKey(jose.ES256, "k1")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jose.SignJWT(key, jose.Claims{Subject: "u", ExpiresAt: jose.NewNumericDate(goldenNow.Add(time.Minute))}, jose.SignOptions{Type: "at+jwt"})
	if err != nil {
		t.Fatal(err)
	}
	value := "Zm9vYmFyYmF6cXV4cXV1eGNvcmdl" // a cookie value
	for _, input := range []string{
		tok,
		"Set-Cookie: __Host-sesame=" + value + "; Secure; Path=/; HttpOnly; SameSite=Lax",
		"Set-Cookie: __Host-sesame-at=" + tok + "; Secure; Path=/; HttpOnly; SameSite=Lax",
		"Cookie: __Host-sesame=" + value + "; __Host-sesame-at=" + tok,
		"Cookie: __Host-sesame=" + value + "; __Host-sesame=" + value,
	} {
		r := inspectAt(t, input, Options{})
		var text bytes.Buffer
		r.WriteText(&text)
		js, _ := jsonOf(r)
		checkNoCredential(t, input, text.String())
		checkNoCredential(t, input, js)
	}
}

// TestVerify: with keys, a token verifies only as Sesame's verifier would
// verify it (SEC-16, attack 1: an altered payload does not verify).
func TestVerify(t *testing.T) {
	key, err := jose.GenerateKey(jose.ES256, "k1")
	if err != nil {
		t.Fatal(err)
	}
	other, err := jose.GenerateKey(jose.ES256, "k2")
	if err != nil {
		t.Fatal(err)
	}
	set, err := jose.NewKeySet(key.Public(), other.Public())
	if err != nil {
		t.Fatal(err)
	}
	claims := jose.Claims{Issuer: "https://a", Subject: "u", Audience: jose.Audience{"x"}, ExpiresAt: jose.NewNumericDate(goldenNow.Add(time.Minute))}
	good, err := jose.SignJWT(key, claims, jose.SignOptions{Type: "at+jwt"})
	if err != nil {
		t.Fatal(err)
	}
	// Signed by k1 but naming k2: only trying every key finds it.
	misnamed, _ := jose.NewKey(jose.ES256, keyMaterial(t, key), "k2")
	wrongKid, err := jose.SignJWT(misnamed, claims, jose.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + b64(`{"iss":"https://a","sub":"admin","aud":"x","exp":9999999999}`) + "." + parts[2]

	r := inspectAt(t, good, Options{Keys: set, KeysSource: "test"})
	if v := r.JWT.Verification; v == nil || !v.Verified || v.KeyID != "k1" {
		t.Errorf("good token: got verification %+v, want verified by k1", v)
	}
	r = inspectAt(t, wrongKid, Options{Keys: set})
	if v := r.JWT.Verification; v == nil || !v.Verified || v.KeyID != "k1" {
		t.Errorf("misnamed kid: got verification %+v, want verified by k1", v)
	}
	wantFinding(t, r, "jwt.kid-mismatch", Warning)
	r = inspectAt(t, tampered, Options{Keys: set})
	if v := r.JWT.Verification; v == nil || v.Verified {
		t.Errorf("tampered payload (attack 1): got verification %+v, want not verified", v)
	}
	wantFinding(t, r, "jwt.not-verified", Error)
	r = inspectAt(t, jwtOf(`{"alg":"none","kid":"k1"}`, `{"exp":9999999999}`, nil), Options{Keys: set})
	wantFinding(t, r, "jwt.not-verified", Error)
	// alg/kty confusion: an RS256 header naming an EC key.
	r = inspectAt(t, jwtOf(`{"alg":"RS256","kid":"k1","typ":"at+jwt"}`, `{"exp":9999999999}`, make([]byte, 256)), Options{Keys: set})
	wantFinding(t, r, "jwt.alg-key-mismatch", Error)
	wantFinding(t, r, "jwt.not-verified", Error)
}

// keyMaterial returns the private key of k through its JWK.
func keyMaterial(t *testing.T, k *jose.Key) *ecdsa.PrivateKey {
	t.Helper()
	j, err := k.MarshalPrivateJWK()
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ D, X, Y string }
	if err := jsonUnmarshal(j, &f); err != nil {
		t.Fatal(err)
	}
	d, _ := base64.RawURLEncoding.DecodeString(f.D)
	priv := &ecdsa.PrivateKey{D: new(big.Int).SetBytes(d)}
	priv.Curve = elliptic.P256()
	priv.PublicKey.X, priv.PublicKey.Y = priv.Curve.ScalarBaseMult(d)
	return priv
}

func TestLoadKeySet(t *testing.T) {
	key, err := jose.GenerateKey(jose.EdDSA, "ed-1")
	if err != nil {
		t.Fatal(err)
	}
	set, _ := jose.NewKeySet(key.Public())
	jwks, _ := set.MarshalJSON()
	jwk, _ := key.Public().MarshalJSON()
	dir := t.TempDir()
	for name, data := range map[string][]byte{"set.json": jwks, "key.json": jwk} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ks, err := LoadKeySet(context.Background(), path, nil)
		if err != nil || ks.Len() != 1 {
			t.Errorf("%s: got %v, %v; want one key", name, ks, err)
		}
	}
	if _, err := LoadKeySet(context.Background(), filepath.Join(dir, "missing.json"), nil); err == nil {
		t.Errorf("missing file: got no error")
	}

	fetches := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches++
		switch r.URL.Path {
		case "/jwks.json":
			w.Write(jwks)
		case "/huge":
			w.Write(bytes.Repeat([]byte(" "), MaxKeySetBytes+10))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	if ks, err := LoadKeySet(context.Background(), srv.URL+"/jwks.json", srv.Client()); err != nil || ks.Len() != 1 {
		t.Errorf("URL: got %v, %v; want one key", ks, err)
	}
	if _, err := LoadKeySet(context.Background(), srv.URL+"/huge", srv.Client()); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge body: got %v, want a size error", err)
	}
	if _, err := LoadKeySet(context.Background(), srv.URL+"/nope", srv.Client()); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: got %v, want a status error", err)
	}

}

func jsonOf(r *Report) (string, error) {
	b, err := json.Marshal(r)
	return string(b), err
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// TestSesameTokenCookies: the token cookies as the server writes them
// (server/tokens.go) pass the lint without a warning.
func TestSesameTokenCookies(t *testing.T) {
	tok := jwtOf(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, fmt.Sprintf(`{"iss":"https://a","sub":"u","aud":"https://a","exp":%d,"iat":%d,"jti":"j","client_id":"c","sid":"s"}`, goldenNow.Unix()+600, goldenNow.Unix()-300), make([]byte, 64))
	for _, c := range []cookie.Cookie{
		{Name: token.AccessCookie, Value: tok, SameSite: http.SameSiteLaxMode},
		{Name: token.RefreshCookie, Value: "Zm9vYmFyYmF6cXV4cXV1eGNvcmdl", Path: "/api/v1/token", SameSite: http.SameSiteStrictMode},
	} {
		line, err := c.Header()
		if err != nil {
			t.Fatal(err)
		}
		r := inspectAt(t, "Set-Cookie: "+line, Options{})
		if !r.SetCookie.Session || r.Summary.Errors+r.Summary.Warnings != 0 {
			t.Errorf("%s: got session %v, findings %+v; want a session cookie without errors or warnings", c.Name, r.SetCookie.Session, r.Findings)
		}
	}
}
