package token

import "github.com/sesame-auth/sesame/internal/tokencache"

// newCache returns the verified-token cache: a token this process has
// verified is not verified again until it expires (keyed by the whole token
// text, bounded to max entries). The revocation check is not cached.
func newCache(max int) claimsCache { return tokencache.New[verified](max) }
