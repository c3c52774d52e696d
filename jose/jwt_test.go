package jose_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/jose"
)

// signRaw signs an arbitrary claims JSON text as a JWT.
func signRaw(t testing.TB, key *jose.Key, claims string) string {
	t.Helper()
	tok, err := jose.Sign(key, []byte(claims), jose.SignOptions{Type: "at+jwt"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifierClaims(t *testing.T) {
	key := mustKey(t, jose.HS256, make([]byte, 32), "k1")
	now := testClock.Unix()
	exp := now + 900
	base := func(extra string) string {
		return `{"iss":"https://auth.example","sub":"user-1","aud":"api","exp":` + itoa(exp) + `,"iat":` + itoa(now) +
			`,"jti":"jti-1","sid":"sid-1","client_id":"client-1"` + extra + `}`
	}
	tests := []struct {
		name   string
		claims string
		edit   func(v *jose.Verifier)
		want   error
	}{
		{"valid", base(""), nil, nil},
		{"aud as array", strings.Replace(base(""), `"aud":"api"`, `"aud":["x","api"]`, 1), nil, nil},
		{"wrong issuer", strings.Replace(base(""), "https://auth.example", "https://evil.example", 1), nil, jose.ErrInvalidClaims},
		{"issuer differs in case", strings.Replace(base(""), "https://auth.example", "https://AUTH.example", 1), nil, jose.ErrInvalidClaims},
		{"aud not allowed", strings.Replace(base(""), `"aud":"api"`, `"aud":["x","y"]`, 1), nil, jose.ErrInvalidClaims},
		{"aud empty array", strings.Replace(base(""), `"aud":"api"`, `"aud":[]`, 1), nil, jose.ErrInvalidClaims},
		{"aud is a number", strings.Replace(base(""), `"aud":"api"`, `"aud":1`, 1), nil, jose.ErrInvalidClaims},
		{"exp is a string", strings.Replace(base(""), `"exp":`+itoa(exp), `"exp":"`+itoa(exp)+`"`, 1), nil, jose.ErrInvalidClaims},
		{"exp is null", strings.Replace(base(""), `"exp":`+itoa(exp), `"exp":null`, 1), nil, jose.ErrInvalidClaims},
		{"exp is negative", strings.Replace(base(""), `"exp":`+itoa(exp), `"exp":-1`, 1), nil, jose.ErrInvalidClaims},
		{"exp fractional", strings.Replace(base(""), `"exp":`+itoa(exp), `"exp":`+itoa(exp)+`.5`, 1), nil, nil},
		{"exp in exponent form", strings.Replace(base(""), `"exp":`+itoa(exp), `"exp":1.9e9`, 1), nil, nil},
		{"exp missing", strings.Replace(base(""), `"exp":`+itoa(exp)+`,`, ``, 1), func(v *jose.Verifier) { v.Required = nil }, jose.ErrInvalidClaims},
		{"exp missing, allowed", strings.Replace(base(""), `"exp":`+itoa(exp)+`,`, ``, 1), func(v *jose.Verifier) { v.Required = nil; v.AllowMissingExpiry = true }, nil},
		{"EXP is not exp", strings.Replace(base(""), `"exp":`, `"EXP":`, 1), func(v *jose.Verifier) { v.Required = nil }, jose.ErrInvalidClaims},
		{"iat in the future", strings.Replace(base(""), `"iat":`+itoa(now), `"iat":`+itoa(now+1), 1), nil, jose.ErrNotYetValid},
		{"max age: at the limit", base(""), func(v *jose.Verifier) {
			v.Now = func() time.Time { return testClock.Add(time.Minute) }
			v.MaxAge = time.Minute
		}, nil},
		{"max age: 1 s over", base(""), func(v *jose.Verifier) {
			v.Now = func() time.Time { return testClock.Add(61 * time.Second) }
			v.MaxAge = time.Minute
		}, jose.ErrExpired},
		{"max age without iat", strings.Replace(base(""), `,"iat":`+itoa(now), ``, 1), func(v *jose.Verifier) { v.Required = nil; v.MaxAge = time.Hour }, jose.ErrInvalidClaims},
		{"duplicate claim", base(`,"sub":"admin"`), nil, jose.ErrMalformed},
		{"duplicate nested member", base(`,"cnf":{"jkt":"a","jkt":"b"}`), nil, jose.ErrMalformed},
		{"deep nesting", base(`,"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40)), nil, jose.ErrMalformed},
		{"invalid UTF-8", base(`,"x":"` + "\xff" + `"`), nil, jose.ErrMalformed},
		{"lone surrogate", base(`,"x":"\ud800"`), nil, jose.ErrMalformed},
		{"trailing data", base("") + ` {}`, nil, jose.ErrMalformed},
		{"claims are an array", `["sub"]`, nil, jose.ErrMalformed},
		{"client_id wrong type", strings.Replace(base(""), `"client_id":"client-1"`, `"client_id":7`, 1), nil, jose.ErrInvalidClaims},
		{"unknown claims ignored", base(`,"scope":"a b","n":[1,{"a":null}]`), nil, nil},
	}
	for _, name := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id"} { // SEC-22
		claims := base("")
		i := strings.Index(claims, `"`+name+`":`)
		j := i + strings.IndexAny(claims[i:], ",}")
		dropped := strings.Replace(claims[:i]+claims[j:], "{,", "{", 1)
		dropped = strings.Replace(strings.Replace(dropped, ",,", ",", 1), ",}", "}", 1)
		tests = append(tests, struct {
			name   string
			claims string
			edit   func(v *jose.Verifier)
			want   error
		}{"required " + name + " dropped", dropped, func(v *jose.Verifier) { v.Issuer, v.Audience = "", nil }, jose.ErrInvalidClaims})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := accessVerifier(key)
			if tt.edit != nil {
				tt.edit(v)
			}
			var c AccessClaims
			err := v.Verify(signRaw(t, key, tt.claims), &c)
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err == nil && (c.Subject != "user-1" || c.ClientID != "client-1") {
				t.Errorf("got claims %+v", c)
			}
			if err != nil && strings.Contains(err.Error(), "eyJ") {
				t.Errorf("error echoes the token: %v", err)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// customClaims covers every field kind of the claims codec.
type customClaims struct {
	jose.Claims
	Name     string            `json:"name"`
	Admin    bool              `json:"admin,omitempty"`
	Level    int8              `json:"level"`
	Count    uint32            `json:"count"`
	Score    float64           `json:"score"`
	Roles    []string          `json:"roles,omitempty"`
	AuthTime jose.NumericDate  `json:"auth_time,omitzero"`
	Extra    map[string]string `json:"extra,omitempty"`
	Nested   struct{ A int }   `json:"nested"`
	Skipped  string            `json:"-"`
	hidden   string
}

func TestClaimsRoundTrip(t *testing.T) {
	key := mustKey(t, jose.HS256, make([]byte, 32), "k1")
	in := customClaims{
		Claims: jose.Claims{Subject: "u\"1\n<>", ExpiresAt: jose.NewNumericDate(testClock.Add(time.Hour)), Audience: jose.Audience{"a", "b"}},
		Name:   "Zoë \u2028", Admin: true, Level: -3, Count: 7, Score: 1.5,
		Roles: []string{"r1", "r2"}, AuthTime: jose.NewNumericDate(testClock),
		Extra: map[string]string{"k": "v"}, Skipped: "no", hidden: "no",
	}
	in.Nested.A = 4
	token, err := jose.SignJWT(key, &in, jose.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := jose.Verifier{Keys: key, Now: fixedNow, Type: "JWT"}
	out := customClaims{Name: "stale", Skipped: "stale"}
	if err := v.Verify(token, &out); err != nil {
		t.Fatal(err)
	}
	in.Skipped, in.hidden = "", ""
	if got, want := mustJSON(t, out), mustJSON(t, in); got != want {
		t.Errorf("round trip:\n got %s\nwant %s", got, want)
	}
	var m map[string]any
	if err := v.Verify(token, &m); err != nil {
		t.Fatal(err)
	}
	if m["name"] != "Zoë \u2028" || m["sub"] != "u\"1\n<>" {
		t.Errorf("map claims: got %v", m)
	}
	var reg jose.Claims
	if err := v.Verify(token, &reg); err != nil || reg.Subject != in.Subject || len(reg.Audience) != 2 {
		t.Errorf("Claims target: got %+v, %v", reg, err)
	}
	if err := v.Verify(token, reg); err == nil {
		t.Error("non-pointer target: got nil error")
	}
	if _, err := jose.SignJWT(key, []string{"not an object"}, jose.SignOptions{}); err == nil {
		t.Error("SignJWT(array): got nil error")
	}
	type clash struct {
		jose.Claims
		Exp int64 `json:"exp"`
	}
	if _, err := jose.SignJWT(key, clash{}, jose.SignOptions{}); err == nil {
		t.Error("SignJWT(struct with a second exp): got nil error")
	}
}

func TestTokenSizeLimit(t *testing.T) {
	key := mustKey(t, jose.HS256, make([]byte, 32), "k1")
	c := jose.Claims{ExpiresAt: jose.NewNumericDate(testClock.Add(time.Hour)), Subject: strings.Repeat("a", 9000)}
	token, err := jose.SignJWT(key, c, jose.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got jose.Claims
	if err := (&jose.Verifier{Keys: key, Now: fixedNow}).Verify(token, &got); !errors.Is(err, jose.ErrMalformed) {
		t.Errorf("12 KB token: got %v, want ErrMalformed", err)
	}
	if err := (&jose.Verifier{Keys: key, Now: fixedNow, MaxTokenSize: 16 << 10}).Verify(token, &got); err != nil {
		t.Errorf("12 KB token with a 16 KiB limit: %v", err)
	}
}

func TestAudienceJSON(t *testing.T) {
	for _, tt := range []struct {
		aud  jose.Audience
		want string
	}{{jose.Audience{"a"}, `"a"`}, {jose.Audience{"a", "b"}, `["a","b"]`}} {
		b, _ := tt.aud.MarshalJSON()
		if string(b) != tt.want {
			t.Errorf("got %s, want %s", b, tt.want)
		}
		var back jose.Audience
		if err := back.UnmarshalJSON(b); err != nil || len(back) != len(tt.aud) {
			t.Errorf("UnmarshalJSON(%s): got %v, %v", b, back, err)
		}
	}
	var d jose.NumericDate
	if err := d.UnmarshalJSON([]byte(`"1"`)); err == nil {
		t.Error(`NumericDate from "1": got nil error`)
	}
}
