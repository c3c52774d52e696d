package guard

import (
	"math"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const maxDur = time.Duration(math.MaxInt64)
	tests := []struct {
		name        string
		base        time.Duration
		n           int
		limit, want time.Duration
	}{
		{"first", time.Second, 0, time.Minute, time.Second},
		{"doubles", time.Second, 5, time.Minute, 32 * time.Second},
		{"capped", time.Second, 6, time.Minute, time.Minute},
		{"exactly the cap", time.Second, 6, 64 * time.Second, 64 * time.Second},
		{"base above the cap", time.Hour, 0, time.Minute, time.Minute},
		{"huge n", time.Second, math.MaxInt, time.Minute, time.Minute},
		{"no overflow below a huge cap", time.Second, 100, maxDur, maxDur},
		{"1ns base, 62 doublings", time.Nanosecond, 62, maxDur, 1 << 62},
		{"1ns base, 63 doublings", time.Nanosecond, 63, maxDur, maxDur},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := backoff(tc.base, tc.n, tc.limit); got != tc.want {
				t.Fatalf("backoff(%v, %d, %v): got %v, want %v", tc.base, tc.n, tc.limit, got, tc.want)
			}
		})
	}
}

func TestParseForwardedEntry(t *testing.T) {
	tests := []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{" 203.0.113.7 ", "203.0.113.7"},
		{"203.0.113.7:80", "203.0.113.7"},
		{"[2600:1::7]:80", "2600:1::7"},
		{"[2600:1::7]", "2600:1::7"},
		{"[203.0.113.7]", ""},
		{"[2600:1::7]:", ""},
		{"[2600:1::7]:x", ""},
		{"2600:1::7", "2600:1::7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"fe80::1%25eth0", "fe80::1"}, // any zone text is a zone, and stripped
		{"fe80::1%eth0", "fe80::1"},
		{"", ""},
		{"unknown", ""},
		{"_hidden", ""},
		{"203.0.113.7 203.0.113.8", ""},
		{"0203.0.113.7", ""},
	}
	for _, tc := range tests {
		a, ok := parseForwardedEntry(tc.in)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tc.want {
			t.Errorf("parseForwardedEntry(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}
