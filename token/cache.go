package token

import "time"

// newCache returns the verified-token cache, or nil until one is wired in.
func newCache(int) claimsCache { return nil }

var _ = time.Now
