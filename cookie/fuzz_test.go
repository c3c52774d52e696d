package cookie

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks the Cookie header parser on untrusted input (SEC-04,
// SEC-07): it never panics, honours MaxHeaderBytes, returns only pairs that
// Write would accept, and Get and GetAll agree with Parse, also when the
// header arrives split over two lines as HTTP/2 sends it.
//
// pad prepends a valid header of that many bytes (modulo twice the limit) to
// the first line, so that inputs near MaxHeaderBytes stay small for the
// fuzzer to mutate and minimize.
func FuzzParse(f *testing.F) {
	seeds := []struct {
		line1, line2, name string
		pad                int
	}{
		{"a=1; b=2", "", "a", 0},
		{"__Host-sesame=tok; __Host-sesame=tossed", "", "__Host-sesame", 0},
		{"s=1", "s=2", "s", 0},
		{`a="quoted"; a=plain`, "", "a", 0},
		{"a = 1; =2; junk; ;;", "b=3", "b", 0},
		{"a=1\r\nSet-Cookie: x=y; b=2", "", "b", 0},
		{"a=\xff\xfe; é=1; c=3", "", "c", 0},
		{"a=b=c;d=e==", "\t f=g \t", "d", 0},
		{"; s=1", "", "s", MaxHeaderBytes - len("; s=1")},
		{"; s=1", "", "s", MaxHeaderBytes - len("; s=1") + 1},
		{"; s=1", "t=2", "t", MaxHeaderBytes - len("; s=1; t=2")},
		{"; s=1", "t=2", "t", MaxHeaderBytes - len("; s=1; t=2") + 1},
		{"; c0=1", "", "c0", 100},
		{"", "", "c0", 4},
	}
	for _, s := range seeds {
		f.Add(s.line1, s.line2, s.name, uint16(s.pad))
	}
	f.Fuzz(func(t *testing.T, line1, line2, name string, pad uint16) {
		line1 = headerOfSize(int(pad)%(2*MaxHeaderBytes)) + line1
		pairs, err := Parse(line1)
		if len(line1) > MaxHeaderBytes {
			if !errors.Is(err, ErrHeaderTooLarge) || pairs != nil {
				t.Fatalf("Parse(%d bytes) = %d pairs, %v; want nil, ErrHeaderTooLarge", len(line1), len(pairs), err)
			}
		} else if err != nil {
			t.Fatalf("Parse(%d bytes) error %v, want nil", len(line1), err)
		}
		for _, p := range pairs {
			if _, err := (Cookie{Name: p.Name, Value: p.Value}).Header(); err != nil {
				t.Errorf("parsed pair %q=%q cannot be written: %v", p.Name, p.Value, err)
			}
		}

		// One line: Get and GetAll agree with Parse.
		checkAgreement(t, []string{line1}, line1, name)
		// Two lines: as if joined with "; " (RFC 9113 §8.2.3).
		checkAgreement(t, []string{line1, line2}, line1+"; "+line2, name)
	})
}

func checkAgreement(t *testing.T, lines []string, joined, name string) {
	t.Helper()
	r := &http.Request{Header: http.Header{"Cookie": lines}}
	got, getErr := Get(r, name)
	all, allErr := GetAll(r, name)
	pairs, parseErr := Parse(joined)
	if sizeErr := CheckHeaderSize(r); sizeErr != parseErr {
		t.Fatalf("%d-byte header: CheckHeaderSize error %v, want %v as Parse", len(joined), sizeErr, parseErr)
	}
	if parseErr != nil {
		if !errors.Is(getErr, ErrHeaderTooLarge) || !errors.Is(allErr, ErrHeaderTooLarge) {
			t.Fatalf("%d-byte header: Get error %v, GetAll error %v; want ErrHeaderTooLarge as Parse", len(joined), getErr, allErr)
		}
		return
	}
	var want []string
	for _, p := range pairs {
		if p.Name == name {
			want = append(want, p.Value)
		}
	}
	if len(want) == 0 {
		if !errors.Is(getErr, ErrNotFound) || !errors.Is(allErr, ErrNotFound) {
			t.Fatalf("name %q absent from Parse: Get = %q, %v; GetAll = %q, %v; want ErrNotFound", name, got, getErr, all, allErr)
		}
		return
	}
	if getErr != nil || got != want[0] {
		t.Fatalf("Get(%q) = %q, %v; want the first parsed value %q", name, got, getErr, want[0])
	}
	if allErr != nil || strings.Join(all, "\x00") != strings.Join(want, "\x00") || len(all) != len(want) {
		t.Fatalf("GetAll(%q) = %q, %v; want %q", name, all, allErr, want)
	}
}

// FuzzDecode checks Codec.Decode on untrusted input: it never panics, every
// rejection is ErrInvalid, and nothing decodes except the exact values the
// codec sealed (no forgery, no second spelling, no moving to another name).
// It also checks that Encode then Decode round-trips any plaintext and name.
func FuzzDecode(f *testing.F) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	codec, err := NewCodec(testKey("new", 2), testKey("old", 1))
	if err != nil {
		f.Fatal(err)
	}
	codec.Now = func() time.Time { return now }

	// These values were sealed once with the test keys. They are fixed
	// because every fuzz worker process runs this setup, and fresh
	// encodings would differ (random nonces).
	const (
		fresh   = "new.5HCUfHV-gJYwh-GzZ6UO4uCApopZh5rAB8BkOECuznr3QopLrBgDUw"  // "__Host-prefs", "dark", sealed at now for 1h
		rotated = "old.ebuCygqDv_VvFXhtwUI_6ZK0B6Xv3GhshZXKRJQd8eOooedM_Drn1Lo" // "__Host-prefs", "light", old key, at now for 1h
		expired = "new.h04amIHSyjw8VQr9PC5wfE2WMcuth5ZmxMR2u_7lv23FM3a6vw"      // "p", "x", sealed 1h before now for 1h
		empty   = "new.TbbzPzU6XqhwlB1oH8Yzf1XCnK5alZVeYhRpVLavNGjkwvTz"        // "e", "", sealed at now for 1m
	)
	type sealed struct {
		plain   string
		expired bool
	}
	valid := map[[2]string]sealed{
		{"__Host-prefs", fresh}:   {"dark", false},
		{"__Host-prefs", rotated}: {"light", false},
		{"p", expired}:            {"x", true},
		{"e", empty}:              {"", false},
	}
	for nv, want := range valid {
		got, err := codec.Decode(nv[0], nv[1])
		if want.expired && !errors.Is(err, ErrExpired) || !want.expired && (err != nil || string(got) != want.plain) {
			f.Fatalf("seed %q: Decode = %q, %v; want %q (expired %t)", nv, got, err, want.plain, want.expired)
		}
	}

	for _, s := range []struct{ name, value string }{
		{"__Host-prefs", fresh},
		{"__Host-other", fresh},
		{"__Host-prefs", rotated},
		{"p", expired},
		{"e", empty},
		{"e", empty + "A"},
		{"e", empty[:len(empty)-1]},
		{"e", strings.Replace(empty, "new.", "old.", 1)},
		{"p", ""},
		{"p", "."},
		{"p", "new."},
		{"p", "new.AAAA"},
		{"p", "new.====" + strings.Repeat("A", 60)},
		{"p", "unknown." + strings.Repeat("A", 60)},
	} {
		f.Add(s.name, s.value, []byte("plain"))
	}
	f.Fuzz(func(t *testing.T, name, value string, plain []byte) {
		got, err := codec.Decode(name, value)
		want, ok := valid[[2]string{name, value}]
		switch {
		case err != nil && !errors.Is(err, ErrInvalid):
			t.Fatalf("Decode error %v, want ErrInvalid", err)
		case ok && want.expired:
			if !errors.Is(err, ErrExpired) {
				t.Fatalf("expired seal: Decode = %q, %v; want ErrExpired", got, err)
			}
		case ok:
			if err != nil || string(got) != want.plain {
				t.Fatalf("own seal: Decode = %q, %v; want %q, nil", got, err, want.plain)
			}
		case err == nil:
			t.Fatalf("Decode(%q, %q) = %q, nil: accepted a value the codec never sealed", name, value, got)
		case errors.Is(err, ErrExpired):
			t.Fatalf("Decode(%q, %q): ErrExpired for a value the codec never sealed", name, value)
		}

		if !isToken(name) {
			return
		}
		v, err := codec.Encode(name, plain, time.Minute)
		if errors.Is(err, ErrTooLarge) {
			if len(name)+len("new.")+(len(plain)+36+2)/3*4 <= MaxCookieBytes {
				t.Fatalf("Encode(%d-byte name, %d-byte plaintext) = ErrTooLarge, want it to fit", len(name), len(plain))
			}
			return
		}
		if err != nil {
			t.Fatalf("Encode error %v", err)
		}
		if len(name)+len(v) > MaxCookieBytes {
			t.Fatalf("Encode gave a %d-byte cookie, over the limit", len(name)+len(v))
		}
		back, err := codec.Decode(name, v)
		if err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("round trip: Decode = %q, %v; want %q, nil", back, err, plain)
		}
	})
}
