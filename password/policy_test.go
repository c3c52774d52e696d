package password

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestPolicyCheck covers SEC-43: ≥8 characters counted in runes, 64 and more
// accepted whole, no composition rules, no trimming or case folding, the
// common list in any letter case, and the username.
func TestPolicyCheck(t *testing.T) {
	chars64 := strings.Repeat("Tr0ub4dor&3-xk", 5)[:64]
	chars200 := strings.Repeat("correct horse battery staple ", 7)[:200]
	emoji64 := strings.Repeat("🔑", 64) // 256 bytes

	tests := []struct {
		name   string
		policy Policy
		pw     string
		inputs []string
		want   error
	}{
		{name: "empty", pw: "", want: ErrTooShort},
		{name: "7 characters", pw: "zq9-Xv3", want: ErrTooShort},
		{name: "exactly 8 characters", pw: "zq9-Xv3k", want: nil},
		{name: "64 characters accepted whole", pw: chars64, want: nil},
		{name: "200 characters accepted whole", pw: chars200, want: nil},
		{name: "1024 bytes, the default limit", pw: strings.Repeat("k", 1024), want: nil},
		{name: "1025 bytes", pw: strings.Repeat("k", 1025), want: ErrTooLong},
		{name: "attack: 1 MB password (SEC-44)", pw: strings.Repeat("k", 1<<20), want: ErrTooLong},
		{name: "7 two-byte runes are 14 bytes but 7 characters", pw: "ééééééé", want: ErrTooShort},
		{name: "8 two-byte runes", pw: "éééééééé", want: nil},
		{name: "8 four-byte runes", pw: strings.Repeat("🔑", 8), want: nil},
		{name: "CJK passphrase", pw: "日本語のパスワード", want: nil},
		{name: "64 four-byte runes fit even when MaxBytes is set lower", policy: Policy{MaxBytes: 10}, pw: emoji64, want: nil},
		{name: "MaxBytes raised to 256, not more", policy: Policy{MaxBytes: 10}, pw: emoji64 + "k", want: ErrTooLong},
		{name: "MinChars below 8 is raised to 8", policy: Policy{MinChars: 4}, pw: "zq9-Xv3", want: ErrTooShort},
		{name: "MinChars 15, 14 characters", policy: Policy{MinChars: 15}, pw: "zq9-Xv3k-Lm2Pw", want: ErrTooShort},
		{name: "MinChars 15, 15 characters", policy: Policy{MinChars: 15}, pw: "zq9-Xv3k-Lm2Pwr", want: nil},
		{name: "no composition rules: lowercase letters only", pw: "horsebatterystaple", want: nil},
		{name: "no composition rules: digits only", pw: "40718293561", want: nil},
		{name: "no trimming: a trailing space counts", pw: "zq9-Xv3 ", want: nil},
		{name: "common, lower case", pw: "password1", want: ErrCommon},
		{name: "attack: common, upper case", pw: "PASSWORD1", want: ErrCommon},
		{name: "attack: common, mixed case", pw: "QwErTyUiOp", want: ErrCommon},
		{name: "common digits", pw: "12345678", want: ErrCommon},
		{name: "common, from the end of the list", pw: "cheerleaers", want: ErrCommon},
		{name: "common but checking disabled", policy: Policy{SkipCommonCheck: true}, pw: "password1", want: nil},
		{name: "common and short reports short first", pw: "letmein", want: ErrTooShort},
		{name: "equal to the username", pw: "alice.liddell", inputs: []string{"alice.liddell"}, want: ErrSameAsUserInput},
		{name: "attack: equal to the username in another case", pw: "Alice.Liddell", inputs: []string{"alice.liddell"}, want: ErrSameAsUserInput},
		{name: "equal to the second input", pw: "alice@example.org", inputs: []string{"alice", "alice@example.org"}, want: ErrSameAsUserInput},
		{name: "containing the username is allowed", pw: "alice-in-wonderland", inputs: []string{"alice"}, want: nil},
		{name: "empty input ignored", pw: "zq9-Xv3k", inputs: []string{""}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(tt.pw, tt.inputs...)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Check(%d bytes) = %v, want %v", len(tt.pw), err, tt.want)
			}
			if err != nil && len(tt.pw) >= 6 && strings.Contains(err.Error(), tt.pw) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

// TestPolicyMessages checks that the messages are specific and safe to show.
func TestPolicyMessages(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		pw     string
		want   string
	}{
		{"short", Policy{}, "abc", "password: too short: use at least 8 characters"},
		{"short, MinChars 12", Policy{MinChars: 12}, "abcdefgh", "password: too short: use at least 12 characters"},
		{"long", Policy{}, strings.Repeat("x", 2000), "password: too long: use at most 1024 bytes"},
		{"common", Policy{}, "iloveyou1", "password: too common: it is on a list of frequently used passwords; choose another"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(tt.pw)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestCommonList checks the embedded list (ASVS 6.2.4): at least 3000
// entries, each lower case, at least 8 characters and unique, and that its
// digest matches the one recorded in SOURCES.md.
func TestCommonList(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(commonList, "\n"), "\n")
	if len(lines) < 3000 {
		t.Fatalf("got %d entries, want at least 3000", len(lines))
	}
	seen := make(map[string]bool, len(lines))
	for i, w := range lines {
		switch {
		case w != strings.ToLower(w):
			t.Errorf("line %d %q: not lower case", i+1, w)
		case utf8.RuneCountInString(w) < DefaultMinChars:
			t.Errorf("line %d %q: shorter than %d characters", i+1, w, DefaultMinChars)
		case seen[w]:
			t.Errorf("line %d %q: duplicate", i+1, w)
		}
		seen[w] = true
	}
	if got := len(commonSet()); got != len(lines) {
		t.Errorf("set has %d entries, want %d", got, len(lines))
	}
	for _, w := range []string{"password", "12345678", "iloveyou", "trustno1", "sunshine"} {
		if !isCommon(w) {
			t.Errorf("isCommon(%q) = false, want true", w)
		}
	}

	sources, err := os.ReadFile("SOURCES.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("common-passwords.txt`[^\n]*sha256 `([0-9a-f]{64})`").FindSubmatch(sources)
	if m == nil {
		t.Fatal("SOURCES.md records no sha256 for common-passwords.txt")
	}
	sum := sha256.Sum256([]byte(commonList))
	if got := hex.EncodeToString(sum[:]); got != string(m[1]) {
		t.Errorf("common-passwords.txt sha256 %s, SOURCES.md says %s", got, m[1])
	}
}

func BenchmarkPolicyCheck(b *testing.B) {
	b.ReportAllocs()
	var p Policy
	for b.Loop() {
		_ = p.Check("correct horse battery staple", "alice")
	}
}
