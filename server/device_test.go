package server

import (
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
)

// The device column names browsers as people know them, from real user
// agents, and never shows a raw user-agent string.
func TestDeviceName(t *testing.T) {
	for _, c := range []struct{ ua, want string }{
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "Chrome 156 on Linux"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome 131 on Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome 131 on macOS"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36", "Chrome 131 on Android"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "Chrome 131 on iOS"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133 on Windows"},
		{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133 on Linux"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133 on macOS"},
		{"Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", "Firefox 133 on Android"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15", "Safari 18 on macOS"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1", "Safari 18 on iOS"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86", "Edge 131 on Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86", "Edge 131 on macOS"},
		{"curl/8.5.0", "curl 8.5.0"},
		{"okhttp/4.12.0", "okhttp 4.12.0"},
		{"", "Unknown device"},
		{"   ", "Unknown device"},
		{"((( ;; )))", "Unknown client"},
		{"<script>alert(1)</script>/9", "scriptalert1 script9"},
		{"\x00\x01/\x02", "Unknown client"},
	} {
		if got := deviceName(c.ua); got != c.want {
			t.Errorf("deviceName(%q) = %q, want %q", c.ua, got, c.want)
		}
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "just now"}, {59 * time.Second, "just now"}, {2 * time.Minute, "2 min ago"}, {59 * time.Minute, "59 min ago"},
		{time.Hour, "1 hour ago"}, {5 * time.Hour, "5 hours ago"}, {24 * time.Hour, "1 day ago"}, {3 * 24 * time.Hour, "3 days ago"},
		{40 * 24 * time.Hour, "on 27 Oct 2026"},
	} {
		if got := ago(now, now.Add(-c.d)); got != c.want {
			t.Errorf("ago(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestDescribeSession(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	si := sesame.SessionInfo{ID: "s1", CreatedAt: now.Add(-3 * 24 * time.Hour), LastSeen: now.Add(-2 * time.Minute),
		Device: sesame.Device{IP: "127.0.0.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"}}
	v := describeSession(si, now)
	if v.Name != "Chrome 156 on Linux" || v.Meta != "127.0.0.1 · signed in 3 days ago · active 2 min ago" {
		t.Errorf("got %q / %q", v.Name, v.Meta)
	}
	si.Current = true
	if v := describeSession(si, now); v.Meta != "127.0.0.1 · signed in 3 days ago · active now" || !v.Current {
		t.Errorf("current: got %q", v.Meta)
	}
}
