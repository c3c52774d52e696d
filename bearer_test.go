package sesame_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame"
)

func TestParseBearer(t *testing.T) {
	for _, c := range []struct {
		h, tok string
		err    error
	}{
		{"Bearer abc", "abc", nil},
		{"bearer a.b-c_d~e+f/g==", "a.b-c_d~e+f/g==", nil},
		{"BEARER x", "x", nil},
		{"Basic dXNlcjpwdw==", "", sesame.ErrNoBearer},
		{"Basic x", "", sesame.ErrNoBearer},
		{"", "", sesame.ErrMalformedBearer},
		{"Bearer", "", sesame.ErrMalformedBearer},
		{"Bearer ", "", sesame.ErrMalformedBearer},
		{"Bearer  a", "", sesame.ErrMalformedBearer},
		{"Bearer a b", "", sesame.ErrMalformedBearer},
		{"Bearer =", "", sesame.ErrMalformedBearer},
		{"Bearer a=b", "", sesame.ErrMalformedBearer},
		{"Bearer\ta", "", sesame.ErrMalformedBearer},
		{" Bearer a", "", sesame.ErrMalformedBearer},
		{"Bearer " + strings.Repeat("a", sesame.MaxBearerBytes+1), "", sesame.ErrMalformedBearer},
	} {
		tok, err := sesame.ParseBearer(c.h)
		if tok != c.tok || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("ParseBearer(%.40q) = %q, %v; want %q, %v", c.h, tok, err, c.tok, c.err)
		}
	}
}

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c", "Bearer  a", "Basic x", "Bearer", "", "Bearer a==", "Bearer =", "Bearer a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := sesame.ParseBearer(h)
		if err != nil {
			if tok != "" || !errors.Is(err, sesame.ErrNoBearer) && !errors.Is(err, sesame.ErrMalformedBearer) {
				t.Fatalf("ParseBearer(%q) = %q, %v", h, tok, err)
			}
			return
		}
		if len(h) < 8 || !strings.EqualFold(h[:7], "Bearer ") || h[7:] != tok || strings.TrimLeft(strings.TrimRight(tok, "="), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/") != "" {
			t.Fatalf("ParseBearer(%q) = %q: not the strict form", h, tok)
		}
	})
}
