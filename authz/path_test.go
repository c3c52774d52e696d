package authz

import (
	"errors"
	"path"
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/a", "/a"},
		{"/a/", "/a/"},
		{"/a?x=1", "/a"},
		{"/a?x=/../b", "/a"},
		{"//a", "/a"},
		{"/a//b///c", "/a/b/c"},
		{"/a/./b", "/a/b"},
		{"/a/.", "/a/"},
		{"/a/b/..", "/a/"},
		{"/a/b/../", "/a/"},
		{"/..", "/"},
		{"/../../a", "/a"},
		{"/a/../../b", "/b"},
		{"/%61dmin", "/admin"},
		{"/%2e%2e/admin", "/admin"},
		{"/%2E%2E/admin", "/admin"},
		{"/.%2e/admin", "/admin"},
		{"/public/%2e%2e/admin", "/admin"},
		{"/public/%2e/admin", "/public/admin"},
		{"/a%20b", "/a b"},
		{"/%25", "/%"},
		{"/%252e%252e/x", "/%2e%2e/x"}, // decoded once: literal text, not dots
		{"/caf%C3%A9", "/café"},
		{"/...", "/..."},
		{"/a%3Bb", "/a;b"}, // an encoded ';' is data everywhere
	}
	for _, tc := range cases {
		got, err := CleanPath(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("CleanPath(%q): got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestCleanPathRefuses: every form upstream servers read in different ways
// is refused rather than guessed (SEC-57).
func TestCleanPathRefuses(t *testing.T) {
	for _, in := range []string{
		"admin", "*", "http://x/admin",
		"/%", "/%2", "/%zz", "/a%g0",
		"/public%2F..%2Fadmin", "/a%2fb",
		"/public\\..\\admin", "/a%5Cb", "/a%5cb",
		"/public/..;/admin", "/admin;jsessionid=1", "/;/admin",
		"/a#frag", "/a\x00b", "/a%00b", "/a\nb", "/a%0d%0ab", "/a%7fb", "/a\tb",
		"/" + strings.Repeat("a", MaxPathBytes),
	} {
		if got, err := CleanPath(in); !errors.Is(err, ErrBadPath) {
			t.Errorf("CleanPath(%q): got %q, %v; want ErrBadPath", in, got, err)
		}
	}
}

// TestCleanPathNoAllocClean: the common case, a clean path, is returned
// as it is.
func TestCleanPathNoAllocClean(t *testing.T) {
	in := "/wiki/page/edit?x=1"
	if n := testing.AllocsPerRun(100, func() { CleanPath(in) }); n != 0 {
		t.Errorf("CleanPath(%q): got %v allocations, want 0", in, n)
	}
}

// FuzzCleanPath: a cleaned path is clean (cleaning it again changes
// nothing), has no dot segment or empty segment, and agrees with
// path.Clean but for the trailing slash.
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "//a//b/", "/%2e%2e/x", "/a/./b/..", "/a%2fb", "/..;/x", "/%c3%a9/", "/a?b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := CleanPath(in)
		if err != nil {
			return
		}
		// Decoded data may hold '%', '?', '#' or ';' (from %25, %3F...):
		// only a path without them must clean to itself.
		if !strings.ContainsAny(got, "%?#;") {
			if again, err := CleanPath(got); err != nil || again != got {
				t.Fatalf("CleanPath(%q) = %q, cleaned again: %q, %v", in, got, again, err)
			}
		}
		if got[0] != '/' {
			t.Fatalf("CleanPath(%q) = %q: want a leading slash", in, got)
		}
		for seg := range strings.SplitSeq(strings.TrimSuffix(got[1:], "/"), "/") {
			if seg == "." || seg == ".." || (seg == "" && got != "/") {
				t.Fatalf("CleanPath(%q) = %q: segment %q left", in, got, seg)
			}
		}
		if want := path.Clean(got); strings.TrimSuffix(got, "/") != strings.TrimSuffix(want, "/") && got != "/" {
			t.Fatalf("CleanPath(%q) = %q, path.Clean of it: %q", in, got, want)
		}
	})
}
