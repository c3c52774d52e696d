package cookie

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks the Cookie header parser on untrusted input (SEC-04,
// SEC-07): it never panics, honours MaxHeaderBytes, returns only pairs that
// Write would accept, and Get and GetAll agree with Parse, also when the
// header arrives split over two lines as HTTP/2 sends it.
func FuzzParse(f *testing.F) {
	seeds := []struct{ line1, line2, name string }{
		{"a=1; b=2", "", "a"},
		{"__Host-sesame=tok; __Host-sesame=tossed", "", "__Host-sesame"},
		{"s=1", "s=2", "s"},
		{`a="quoted"; a=plain`, "", "a"},
		{"a = 1; =2; junk; ;;", "b=3", "b"},
		{"a=1\r\nSet-Cookie: x=y; b=2", "", "b"},
		{"a=\xff\xfe; é=1; c=3", "", "c"},
		{"a=b=c;d=e==", "\t f=g \t", "d"},
		{headerOfSize(MaxHeaderBytes), "", "c0"},
		{headerOfSize(MaxHeaderBytes - 10), "s=12345", "s"},
		{"x=" + strings.Repeat("v", 4094), "", "x"},
		{"x=" + strings.Repeat("v", 4095), "x=2", "x"},
	}
	for _, s := range seeds {
		f.Add(s.line1, s.line2, s.name)
	}
	f.Fuzz(func(t *testing.T, line1, line2, name string) {
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
	r := requestWithCookies(lines...)
	got, getErr := Get(r, name)
	all, allErr := GetAll(r, name)
	pairs, parseErr := Parse(joined)
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
	oldOnly, err := NewCodec(testKey("old", 1))
	if err != nil {
		f.Fatal(err)
	}

	type sealed struct {
		plain   []byte
		expired bool
	}
	valid := map[[2]string]sealed{}
	seal := func(c *Codec, at time.Time, name string, plain []byte, maxAge time.Duration) string {
		c.Now = func() time.Time { return at }
		v, err := c.Encode(name, plain, maxAge)
		if err != nil {
			f.Fatal(err)
		}
		valid[[2]string{name, v}] = sealed{plain, !at.Add(maxAge).After(now)}
		return v
	}
	fresh := seal(codec, now, "__Host-prefs", []byte("dark"), time.Hour)
	rotated := seal(oldOnly, now, "__Host-prefs", []byte("light"), time.Hour)
	expired := seal(codec, now.Add(-time.Hour), "p", []byte("x"), time.Hour)
	empty := seal(codec, now, "e", nil, time.Minute)
	codec.Now = func() time.Time { return now }

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
		{"p", strings.Repeat("A", 5000)},
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
			if err != nil || !bytes.Equal(got, want.plain) {
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
