package factor

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"math"
	"regexp"
	"strings"
	"testing"
)

func TestRecoverySetFormat(t *testing.T) {
	if n := len(recoveryAlphabet); n != 32 {
		t.Fatalf("alphabet has %d symbols, want 32 (5 bits each)", n)
	}
	if bits := float64(recoveryLen) * math.Log2(float64(len(recoveryAlphabet))); bits < 50 {
		t.Fatalf("a code carries %.1f bits, want at least 50", bits)
	}
	if strings.ContainsAny(recoveryAlphabet, "0O1lIo") {
		t.Fatalf("alphabet %q holds a look-alike", recoveryAlphabet)
	}
	shape := regexp.MustCompile(`^[` + recoveryAlphabet + `]{5}-[` + recoveryAlphabet + `]{5}$`)
	key := []byte("a test recovery key of 32 bytes!")
	codes, hashes := newRecoverySet(key, "u1")
	if len(codes) != 10 || len(hashes) != 10 {
		t.Fatalf("got %d codes and %d hashes, want 10", len(codes), len(hashes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if !shape.MatchString(c) {
			t.Errorf("code %q is not xxxxx-xxxxx", c)
		}
		if seen[c] {
			t.Errorf("code %q twice", c)
		}
		seen[c] = true
		m := hmac.New(sha256.New, key)
		m.Write([]byte("u1\x00" + strings.ReplaceAll(c, "-", "")))
		if want := m.Sum(nil); !bytes.Equal(hashes[i], want) {
			t.Errorf("hash of %q: got %x, want HMAC-SHA256 of the user and the code without its dash", c, hashes[i])
		}
		if other := hashRecoveryCode(key, "u2", strings.ReplaceAll(c, "-", "")); bytes.Equal(other, hashes[i]) {
			t.Errorf("the hash of %q does not depend on the user", c)
		}
		if unkeyed := hashRecoveryCode(nil, "u1", strings.ReplaceAll(c, "-", "")); bytes.Equal(unkeyed, hashes[i]) {
			t.Errorf("the hash of %q does not depend on the key", c)
		}
		if bytes.Contains(hashes[i], []byte(c)) {
			t.Errorf("hash holds the code")
		}
	}
}

// TestRecoveryCodesUseTheAlphabet: over many codes every symbol appears in
// every position, so none is stuck (a broken generator would show here).
func TestRecoveryCodesUseTheAlphabet(t *testing.T) {
	seen := make([]map[byte]bool, recoveryLen)
	for i := range seen {
		seen[i] = map[byte]bool{}
	}
	for range 2000 {
		n, _ := normalizeRecoveryCode(newRecoveryCode())
		for i := range n {
			seen[i][n[i]] = true
		}
	}
	for i, s := range seen {
		if len(s) != 32 {
			t.Errorf("position %d used %d symbols in 2000 codes, want 32", i, len(s))
		}
	}
}

func TestNormalizeRecoveryCode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"abcde-fghij", "abcdefghij", true},
		{"ABCDE-FGHIJ", "abcdefghij", true},
		{" abcde fghij ", "abcdefghij", true},
		{"ab-cd-ef-gh-ij", "abcdefghij", true},
		{"abcdefghij", "abcdefghij", true},
		{"abcde-fghi", "", false},
		{"abcde-fghijk", "", false},
		{"abcde-fghi0", "", false}, // 0 is not a symbol
		{"abcde-fghil", "", false}, // nor l
		{"abcde_fghij", "", false},
		{"abcdé-fghij", "", false},
		{"", "", false},
		{strings.Repeat("-", 100) + "abcdefghij", "", false},
	} {
		got, ok := normalizeRecoveryCode(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("normalizeRecoveryCode(%q): got %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
