package cookie

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   []Pair
	}{
		{name: "empty", header: "", want: nil},
		{name: "one pair", header: "a=1", want: []Pair{{"a", "1"}}},
		{name: "browser separators", header: "a=1; b=2; c=3", want: []Pair{{"a", "1"}, {"b", "2"}, {"c", "3"}}},
		{name: "no space, tabs and trailing separator", header: "a=1;b=2;\tc=3 ;", want: []Pair{{"a", "1"}, {"b", "2"}, {"c", "3"}}},
		{name: "empty value", header: "a=; b=2", want: []Pair{{"a", ""}, {"b", "2"}}},
		{name: "value containing '='", header: "a=b=c; d=e==", want: []Pair{{"a", "b=c"}, {"d", "e=="}}},
		{name: "prefixed names", header: "__Host-sesame=tok; __Secure-r=x", want: []Pair{{"__Host-sesame", "tok"}, {"__Secure-r", "x"}}},
		{name: "names keep their case", header: "A=1; a=2", want: []Pair{{"A", "1"}, {"a", "2"}}},
		{name: "SEC-07 duplicates kept in order", header: "s=first; t=0; s=second", want: []Pair{{"s", "first"}, {"t", "0"}, {"s", "second"}}},
		{name: "junk: pair without '=' skipped", header: "junk; a=1", want: []Pair{{"a", "1"}}},
		{name: "junk: empty name skipped", header: "=v; a=1", want: []Pair{{"a", "1"}}},
		{name: "junk: space around '=' skipped", header: "a = 1; b =2; c= 3; d=4", want: []Pair{{"d", "4"}}},
		{name: "junk: space inside value skipped", header: "a=1 2; b=2", want: []Pair{{"b", "2"}}},
		{name: "junk: quoted value skipped", header: `a="1"; b=2`, want: []Pair{{"b", "2"}}},
		{name: "junk: lone quote skipped", header: `a="; b=2`, want: []Pair{{"b", "2"}}},
		{name: "junk: comma in value skipped", header: "a=1,b=2; c=3", want: []Pair{{"c", "3"}}},
		{name: "junk: backslash in value skipped", header: `a=1\; c=3`, want: []Pair{{"c", "3"}}},
		{name: "junk: control characters skipped", header: "a=\x00; b\x01=2; c=3\x7f; d=4", want: []Pair{{"d", "4"}}},
		{name: "junk: non-ASCII skipped", header: "a=é; é=1; b=2", want: []Pair{{"b", "2"}}},
		{name: "junk: invalid UTF-8 skipped", header: "a=\xff\xfe; b=2", want: []Pair{{"b", "2"}}},
		{name: "junk: name with separator skipped", header: "a(b)=1; c@d=2; e=3", want: []Pair{{"e", "3"}}},
		{name: "junk: CRLF skipped", header: "a=1\r\nSet-Cookie: x=y; b=2", want: []Pair{{"b", "2"}}},
		{name: "only separators", header: " ; ;; \t;", want: nil},
		{name: "SEC-04 pair of 4096 bytes kept", header: "a=" + strings.Repeat("v", 4095), want: []Pair{{"a", strings.Repeat("v", 4095)}}},
		{name: "SEC-04 pair of 4097 bytes skipped", header: "a=" + strings.Repeat("v", 4096) + "; b=2", want: []Pair{{"b", "2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.header)
			if err != nil {
				t.Fatalf("Parse error %v, want nil", err)
			}
			if pairsString(got) != pairsString(tt.want) {
				t.Errorf("got %s, want %s", pairsString(got), pairsString(tt.want))
			}
		})
	}
}

// pairsString shows pairs with their values, which Pair.String redacts.
func pairsString(pairs []Pair) string {
	var b strings.Builder
	for _, p := range pairs {
		fmt.Fprintf(&b, "%q=%q ", p.Name, p.Value)
	}
	return b.String()
}

func TestPairRedacts(t *testing.T) {
	const canary = "CANARY-token"
	pairs, err := Parse("__Host-sesame=" + canary)
	if err != nil || len(pairs) != 1 {
		t.Fatalf("Parse = %d pairs, %v; want 1, nil", len(pairs), err)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("pairs", "pair", pairs[0], "pairs", pairs)
	for _, out := range []string{fmt.Sprint(pairs), fmt.Sprintf("%+v", pairs[0]), fmt.Sprintf("%#v", pairs), logged.String()} {
		if strings.Contains(out, canary) || !strings.Contains(out, "__Host-sesame") {
			t.Errorf("output %q: want the name and not the value", out)
		}
	}
}

func TestParseSizeLimit(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		wantErr error
	}{
		{"at the limit", MaxHeaderBytes, nil},
		{"one byte over", MaxHeaderBytes + 1, ErrHeaderTooLarge},
		{"1 MB", 1 << 20, ErrHeaderTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := headerOfSize(tt.size)
			got, err := Parse(header)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse(%d bytes) error %v, want %v", len(header), err, tt.wantErr)
			}
			if err != nil && got != nil {
				t.Errorf("got pairs %d with an error, want nil", len(got))
			}
			if err == nil && len(got) == 0 {
				t.Errorf("got no pairs, want some")
			}
		})
	}
}

// headerOfSize returns a valid Cookie header of exactly n bytes.
func headerOfSize(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "c%d=", i)
		b.WriteString(strings.Repeat("v", min(100, max(0, n-b.Len()))))
	}
	return b.String()[:n]
}

func requestWithCookies(lines ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, l := range lines {
		r.Header.Add("Cookie", l)
	}
	return r
}

func TestGet(t *testing.T) {
	tests := []struct {
		name    string
		lines   []string
		cookie  string
		want    string
		wantErr error
	}{
		{name: "present", lines: []string{"a=1; __Host-sesame=tok; b=2"}, cookie: "__Host-sesame", want: "tok"},
		{name: "absent", lines: []string{"a=1"}, cookie: "__Host-sesame", wantErr: ErrNotFound},
		{name: "no header", cookie: "a", wantErr: ErrNotFound},
		{name: "empty value is present", lines: []string{"a="}, cookie: "a", want: ""},
		{name: "case-sensitive name", lines: []string{"__host-sesame=x"}, cookie: "__Host-sesame", wantErr: ErrNotFound},
		{name: "prefix of another name does not match", lines: []string{"__Host-sesame2=x"}, cookie: "__Host-sesame", wantErr: ErrNotFound},
		{name: "SEC-07 duplicate: first occurrence wins", lines: []string{"__Host-sesame=first; __Host-sesame=second"}, cookie: "__Host-sesame", want: "first"},
		{name: "SEC-07 tossed malformed duplicate first is skipped", lines: []string{`__Host-sesame="evil"; __Host-sesame=good`}, cookie: "__Host-sesame", want: "good"},
		{name: "malformed only", lines: []string{"__Host-sesame=a b"}, cookie: "__Host-sesame", wantErr: ErrNotFound},
		{name: "HTTP/2 split lines", lines: []string{"a=1", "__Host-sesame=tok"}, cookie: "__Host-sesame", want: "tok"},
		{name: "SEC-07 duplicate across lines: first line wins", lines: []string{"s=1", "s=2"}, cookie: "s", want: "1"},
		{name: "header at the limit", lines: []string{headerOfSize(MaxHeaderBytes-len("; s=1")) + "; s=1"}, cookie: "s", want: "1"},
		{name: "header one byte over the limit", lines: []string{"s=1; " + headerOfSize(MaxHeaderBytes-len("s=1; ")+1)}, cookie: "s", wantErr: ErrHeaderTooLarge},
		{name: "lines at the limit when joined", lines: []string{"s=1", headerOfSize(MaxHeaderBytes - len("s=1; "))}, cookie: "s", want: "1"},
		{name: "lines over the limit only when joined", lines: []string{"s=1", headerOfSize(MaxHeaderBytes - len("s=1; ") + 1)}, cookie: "s", wantErr: ErrHeaderTooLarge},
		{name: "many small lines over the limit", lines: strings.Split(strings.Repeat("a=1\n", 2000), "\n"), cookie: "a", wantErr: ErrHeaderTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := requestWithCookies(tt.lines...)
			wantSizeErr := tt.wantErr
			if wantSizeErr != ErrHeaderTooLarge {
				wantSizeErr = nil
			}
			if err := CheckHeaderSize(r); err != wantSizeErr {
				t.Errorf("CheckHeaderSize error %v, want %v", err, wantSizeErr)
			}
			got, err := Get(r, tt.cookie)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Get error %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGetNilRequest(t *testing.T) {
	if _, err := Get(nil, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(nil) error %v, want ErrNotFound", err)
	}
	if _, err := GetAll(&http.Request{}, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetAll with nil Header error %v, want ErrNotFound", err)
	}
}

// TestGetAll checks SEC-07: a caller can see every occurrence of a name and
// so detect cookie tossing.
func TestGetAll(t *testing.T) {
	tests := []struct {
		name    string
		lines   []string
		want    []string
		wantErr error
	}{
		{name: "one", lines: []string{"s=1; t=2"}, want: []string{"1"}},
		{name: "SEC-07 tossed duplicates in order", lines: []string{"s=1; t=2; s=3", "s=4"}, want: []string{"1", "3", "4"}},
		{name: "malformed duplicates left out", lines: []string{`s=1; s="2"; s=3 4`}, want: []string{"1"}},
		{name: "absent", lines: []string{"t=2"}, wantErr: ErrNotFound},
		{name: "over the limit", lines: []string{headerOfSize(MaxHeaderBytes + 1)}, wantErr: ErrHeaderTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := GetAll(requestWithCookies(tt.lines...), "s")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("GetAll error %v, want %v", err, tt.wantErr)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestWriteThenGet checks that every cookie Write accepts comes back intact
// through a request header, as a user agent would send it.
func TestWriteThenGet(t *testing.T) {
	cookies := []Cookie{
		{Name: "__Host-sesame", Value: "dGhpcyBpcyBhIHRva2Vu_-"},
		{Name: "x", Value: allCookieOctets()},
		{Name: "e"},
		{Name: "__Host-big", Value: strings.Repeat("a", MaxCookieBytes-len("__Host-big"))},
	}
	for _, c := range cookies {
		t.Run(c.Name, func(t *testing.T) {
			if _, err := c.Header(); err != nil {
				t.Fatal(err)
			}
			got, err := Get(requestWithCookies("other=1; "+c.Name+"="+c.Value), c.Name)
			if err != nil || got != c.Value {
				t.Errorf("Get = %q, %v; want %q, nil", got, err, c.Value)
			}
		})
	}
}

func TestParseAllocations(t *testing.T) {
	r := requestWithCookies("a=1; b=2; __Host-sesame=tok; c=3")
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Get(r, "__Host-sesame"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Get allocates %v times per call, want 0", allocs)
	}
}
