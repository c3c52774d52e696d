// Package tokencache remembers tokens that were already verified, so that a
// token presented again is not verified again until it expires.
//
// The cache is keyed by the whole token text: a token that differs in any
// byte (a re-encoded or malleated signature, say) is a different key and is
// verified afresh. Memory is bounded by a maximum number of entries; when
// the cache is full, the entry that expires soonest is evicted (an expired
// one first). An entry is never returned at or after its expiry.
//
// Only cache the result of a successful verification, with the token's own
// expiry (plus any leeway) as the entry's expiry. Checks that can change
// while a token is valid, such as revocation, must still run on every use.
//
//	cache := tokencache.New[*Claims](10000)
//	if c, ok := cache.Get(token, now); ok {
//		return c, nil
//	}
//	c, err := verifySignature(token)
//	...
//	cache.Put(token, c, c.ExpiresAt)
package tokencache
