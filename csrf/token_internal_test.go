package csrf

import (
	"strings"
	"testing"
)

// FuzzUnmask fuzzes the token parser: it must never panic, and it may accept
// only the one canonical spelling of 64 bytes, so that a token has no second
// form (no padding, no newlines, no non-zero trailing bits).
func FuzzUnmask(f *testing.F) {
	good := b64.EncodeToString(make([]byte, tokenBytes))
	for _, s := range []string{"", good, good + "=", good[:85], good + "A", strings.Repeat("_", 86),
		good[:40] + "\n" + good[41:], good[:85] + "B", "\x00", strings.Repeat("+", 86)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mac, ok := unmask(s)
		if !ok {
			return
		}
		raw, err := b64.DecodeString(s)
		if err != nil || len(s) != tokenLen || len(mac) != macSize || b64.EncodeToString(raw) != s {
			t.Fatalf("accepted non-canonical token %q", s)
		}
	})
}

// FuzzValidPreValue: the pre-session cookie value is accepted only as the
// canonical spelling of 32 bytes.
func FuzzValidPreValue(f *testing.F) {
	good := b64.EncodeToString(make([]byte, preValueSize))
	for _, s := range []string{"", good, good + "=", good[:42], good[:20] + "\r" + good[21:], "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !validPreValue(s) {
			return
		}
		raw, err := b64.DecodeString(s)
		if err != nil || len(raw) != preValueSize || b64.EncodeToString(raw) != s {
			t.Fatalf("accepted non-canonical cookie value %q", s)
		}
	})
}
