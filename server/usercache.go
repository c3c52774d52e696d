package server

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
)

// userCacheTTL is how long a user record read for an authenticated request
// is reused. Revocation does not depend on it: a block revokes every session
// of the user (the session denylist rejects them at once), and this process
// forgets the record of a user it blocks. Only a block made elsewhere that
// could not reach the session store is seen here through the record (its
// Blocked flag and SessionsNotBefore), and then within this long.
const userCacheTTL = 2 * time.Second

// userCacheMax bounds the cache; past it the cache is cleared.
const userCacheMax = 100000

// userCache keeps recently read users so that an authenticated request
// costs no store round-trip. Safe for concurrent use.
type userCache struct {
	mu sync.RWMutex
	m  map[string]cachedUser
}

type cachedUser struct {
	u     *sesame.User
	until time.Time
}

func (c *userCache) get(id string, now time.Time) *sesame.User {
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return nil
	}
	return e.u
}

func (c *userCache) put(u *sesame.User, now time.Time) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= userCacheMax {
		c.m = make(map[string]cachedUser)
	}
	c.m[u.ID] = cachedUser{u: u, until: now.Add(userCacheTTL)}
	c.mu.Unlock()
}

// forget drops a user whose record this process changed.
func (c *userCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// lookupUser returns the user with id, from the cache or the store.
func (s *Server) lookupUser(ctx context.Context, id string) (*sesame.User, error) {
	now := time.Now()
	if u := s.users.get(id, now); u != nil {
		return u, nil
	}
	u, err := s.accounts.Users.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	s.users.put(u, now)
	return u, nil
}

// principal returns who the request acts for, its User looked up: from the
// Principal that the session or token middleware put in the context (a
// token's wins over the session cookie's). No Principal, a deleted or
// blocked user, or a credential created before the user's
// SessionsNotBefore (a block or password reset, SEC-13) is 401; a user
// store that cannot answer, 503.
func (s *Server) principal(r *http.Request) (*sesame.Principal, error) {
	ctx := r.Context()
	p := sesame.PrincipalFrom(ctx)
	if p == nil {
		return nil, errUnauthenticated
	}
	if p.User != nil {
		return p, nil
	}
	u, err := s.lookupUser(ctx, p.UserID)
	if err != nil {
		if sesame.ErrorCode(err) == sesame.ENotFound {
			return nil, errUnauthenticated
		}
		return nil, sesame.Wrap(sesame.EUnavailable, err, "user store unavailable")
	}
	if !u.Admits(p.AuthTime) {
		return nil, errUnauthenticated // blocked, or signed in before a block or a password reset (SEC-13)
	}
	q := *p
	q.User = u
	return &q, nil
}
