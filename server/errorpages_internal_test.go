package server

import (
	"testing"
	"time"
)

// The 429 and 503 pages say when to try again, from Retry-After.
func TestErrorViewRetry(t *testing.T) {
	now := time.Date(2026, 12, 6, 14, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		status          int
		message, header string
		heading, msg    string
		retry           string
	}{
		{429, "too many attempts", "120", "Too many attempts", "Too many attempts.", "Try again in 2 minutes (at 14:02:00 UTC)."},
		{429, "slow down", "1", "Too many attempts", "Slow down.", "Try again in 1 second (at 14:00:01 UTC)."},
		{503, "service temporarily unavailable", "", "Service unavailable", "The service is temporarily unavailable. Nothing was changed.", "Try again in a moment."},
		{503, "user store unavailable", "30", "Service unavailable", "User store unavailable.", "Try again in 30 seconds (at 14:00:30 UTC)."},
		{403, "forbidden", "", "Access denied", "You do not have permission to open this page.", ""},
		{404, "there is no page at this address", "", "Page not found", "There is no page at this address.", ""},
		{418, "odd", "x", "I'm a teapot", "Odd.", ""},
	} {
		v := newErrorView(c.status, c.message, c.header, now)
		if v.Heading != c.heading || v.Message != c.msg || v.Retry != c.retry {
			t.Errorf("%d %q %q: got %q / %q / %q", c.status, c.message, c.header, v.Heading, v.Message, v.Retry)
		}
	}
}
