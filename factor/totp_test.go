package factor

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readVectors returns the fields of each non-comment line of a testdata file.
func readVectors(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Fields(line))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var rfcSeeds = map[Algorithm][]byte{
	SHA1:   []byte("12345678901234567890"),
	SHA256: []byte("12345678901234567890123456789012"),
	SHA512: []byte("1234567890123456789012345678901234567890123456789012345678901234"),
}

func TestTOTPRFC6238AppendixB(t *testing.T) {
	vs := readVectors(t, "rfc6238-appendix-b.txt")
	if len(vs) != 18 {
		t.Fatalf("got %d vectors, want 18", len(vs))
	}
	for _, v := range vs {
		unix, _ := strconv.ParseInt(v[0], 10, 64)
		wantT, _ := strconv.ParseUint(v[1], 16, 64)
		alg := Algorithm(v[3])
		t.Run(v[3]+"/"+v[0], func(t *testing.T) {
			at := time.Unix(unix, 0)
			if got := Step(at); uint64(got) != wantT {
				t.Fatalf("step of %d: got %X, want %X", unix, got, wantT)
			}
			if got := HOTP(rfcSeeds[alg], uint64(Step(at)), 8, alg); got != v[2] {
				t.Fatalf("TOTP: got %s, want %s", got, v[2])
			}
			if alg == SHA1 {
				// Sesame's 6-digit code is the last 6 digits of the 8-digit one.
				if got := TOTP(rfcSeeds[SHA1], at); got != v[2][2:] {
					t.Fatalf("6-digit TOTP: got %s, want %s", got, v[2][2:])
				}
			}
		})
	}
}

func TestHOTPRFC4226AppendixD(t *testing.T) {
	vs := readVectors(t, "rfc4226-appendix-d.txt")
	if len(vs) != 10 {
		t.Fatalf("got %d vectors, want 10", len(vs))
	}
	for _, v := range vs {
		c, _ := strconv.ParseUint(v[0], 10, 64)
		if got := HOTP(rfcSeeds[SHA1], c, 6, SHA1); got != v[1] {
			t.Errorf("HOTP count %d: got %s, want %s", c, got, v[1])
		}
	}
}

func TestStepBoundaries(t *testing.T) {
	for _, tc := range []struct {
		unix int64
		want int64
	}{{0, 0}, {29, 0}, {30, 1}, {59, 1}, {60, 2}, {-1, -1}, {-30, -1}, {-31, -2}} {
		if got := Step(time.Unix(tc.unix, 999999999)); got != tc.want {
			t.Errorf("Step(%d): got %d, want %d", tc.unix, got, tc.want)
		}
	}
}

func TestMatchStepSkew(t *testing.T) {
	secret := rfcSeeds[SHA1]
	const now = int64(56789012)
	for _, tc := range []struct {
		name string
		d    int64
		ok   bool
	}{
		{"now", 0, true},
		{"one step back", -1, true},
		{"one step ahead", 1, true},
		{"two steps back", -2, false},
		{"two steps ahead", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := HOTP(secret, uint64(now+tc.d), 6, SHA1)
			// A code of another step may by chance equal one within the
			// window; this secret and step have none such.
			step, ok := matchStep(secret, code, now, 1)
			if ok != tc.ok {
				t.Fatalf("code of step now%+d: got ok=%v, want %v", tc.d, ok, tc.ok)
			}
			if ok && step != now+tc.d {
				t.Fatalf("got step %d, want %d", step, now+tc.d)
			}
		})
	}
	if _, ok := matchStep(secret, HOTP(secret, uint64(now+2), 6, SHA1), now, 2); !ok {
		t.Fatal("skew 2 refused a code two steps ahead")
	}
}

func TestParseTOTPCode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"123456", "123456", true},
		{"123 456", "123456", true},
		{" 012345 ", "012345", true},
		{"12345", "", false},
		{"1234567", "", false},
		{"", "", false},
		{"12345a", "", false},
		{"１２３４５６", "", false}, // full-width digits
		{"123-456", "", false},
		{"+12345", "", false},
		{"123456\x00", "", false},
		{strings.Repeat(" ", 20) + "123456", "", false},
	} {
		got, ok := parseTOTPCode(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseTOTPCode(%q): got %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzCheckParse holds the code parsers to: no panic; a TOTP code is
// exactly 6 ASCII digits taken from the input in order; a recovery code is
// 10 symbols of the alphabet; no input is both.
func FuzzCheckParse(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "abcde-fghij", "ABCDE FGHIJ", "", "0", "1234567",
		"ab\x00cd", "\xff\xfe", "aaaaa-aaaaa-a", "-----", "23456789ab"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := parseTOTPCode(s)
		if ok {
			if len(c) != 6 || strings.Trim(c, "0123456789") != "" {
				t.Fatalf("parseTOTPCode(%q) = %q", s, c)
			}
			if strings.ReplaceAll(s, " ", "") != c {
				t.Fatalf("parseTOTPCode(%q) = %q: not the input's digits", s, c)
			}
		}
		r, rok := normalizeRecoveryCode(s)
		if rok {
			if len(r) != recoveryLen || strings.Trim(r, recoveryAlphabet) != "" {
				t.Fatalf("normalizeRecoveryCode(%q) = %q", s, r)
			}
		}
		if ok && rok {
			t.Fatalf("%q reads as both a TOTP and a recovery code", s)
		}
	})
}
