package inspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzInspect: any input is either unreadable (ErrUnreadable) or a report
// that renders as text and JSON; never a panic, and the text never holds a
// raw escape character.
func FuzzInspect(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.input"))
	for _, p := range inputs {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "a=b", "Cookie: a=b; a=c", "Set-Cookie: __Host-x=1; Domain=.; Max-Age=-1; SameSite",
		"Bearer a.b.c", "e30.e30.", "eyJhbGciOiJub25lIn0.e30.", `{"keys":[{"kty":"RSA","n":"","e":""}]}`,
		`{"kty":"oct","k":""}`, `{"keys":[null,1,"x",{}]}`, "a.b.c.d.e", "Set-Cookie: a=b; Expires=Mon, 02-Jan-2006 15:04:05 MST",
	} {
		f.Add([]byte(s))
	}
	now := func() time.Time { return goldenNow }
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := Inspect(in, Options{Now: now})
		if err != nil {
			if !errors.Is(err, ErrUnreadable) {
				t.Fatalf("got error %v, want ErrUnreadable", err)
			}
			return
		}
		var text bytes.Buffer
		if err := r.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(text.String(), "\x1b\x07\u009b") {
			t.Fatalf("raw control character in the text output:\n%q", text.String())
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("JSON: %v", err)
		}
		if n := r.Summary.Errors + r.Summary.Warnings + r.Summary.Infos; n != len(r.Findings) {
			t.Fatalf("summary counts %d findings, the report holds %d", n, len(r.Findings))
		}
	})
}

// FuzzJWTParts builds tokens from arbitrary header and claims text, so that
// the fuzzer reaches the header and claims lint without having to find
// base64 by itself.
func FuzzJWTParts(f *testing.F) {
	f.Add(`{"alg":"ES256","kid":"k","typ":"at+jwt"}`, `{"exp":1,"iat":2,"nbf":-1,"auth_time":1e400}`, []byte{1, 2})
	f.Add(`{"alg":"none","crit":["b64"],"b64":false}`, `{"client_id":1,"aud":[1,2],"exp":"x"}`, []byte{})
	f.Add(`{"alg":"RS256","jku":"x","jwk":{},"x5c":[],"x5u":1,"alg":"HS256"}`, `[]`, make([]byte, 256))
	now := func() time.Time { return goldenNow }
	f.Fuzz(func(t *testing.T, header, claims string, sig []byte) {
		tok := jwtOf(header, claims, sig)
		r, err := Inspect([]byte(tok), Options{Now: now, Kind: KindJWT})
		if err != nil {
			if !errors.Is(err, ErrUnreadable) {
				t.Fatalf("got error %v, want ErrUnreadable", err)
			}
			return
		}
		var text bytes.Buffer
		if err := r.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("JSON: %v", err)
		}
	})
}
