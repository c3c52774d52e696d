package tokencache

import (
	"sync"
	"time"
)

// DefaultMaxEntries is the capacity of a cache made with a non-positive
// maximum.
const DefaultMaxEntries = 10000

// Cache maps token texts to values until their expiry. Its memory is
// bounded by its maximum number of entries, each holding the token text and
// its value. A Cache is safe for concurrent use; the zero value is not
// usable, call [New].
type Cache[V any] struct {
	mu   sync.RWMutex
	max  int
	byID map[string]*entry[V]
	heap []*entry[V] // min-heap on exp: the eviction order
}

type entry[V any] struct {
	token string
	value V
	exp   time.Time
	index int // position in heap
}

// New returns an empty cache holding at most max entries, or
// [DefaultMaxEntries] when max <= 0.
func New[V any](max int) *Cache[V] {
	if max <= 0 {
		max = DefaultMaxEntries
	}
	return &Cache[V]{max: max, byID: make(map[string]*entry[V])}
}

// Get returns the value stored for token, if any and if now is before its
// expiry. An expired entry is removed.
func (c *Cache[V]) Get(token string, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.byID[token]
	var v V
	live := ok && now.Before(e.exp)
	if live {
		v = e.value
	}
	c.mu.RUnlock()
	if ok && !live {
		c.mu.Lock()
		if e2, ok := c.byID[token]; ok && e2 == e {
			c.removeLocked(e)
		}
		c.mu.Unlock()
	}
	return v, live
}

// Put stores v for token until exp, replacing any earlier value. When the
// cache is full, the entry that expires soonest is evicted first.
func (c *Cache[V]) Put(token string, v V, exp time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byID[token]; ok {
		e.value, e.exp = v, exp
		c.fix(e.index)
		return
	}
	for len(c.heap) >= c.max {
		c.removeLocked(c.heap[0])
	}
	e := &entry[V]{token: token, value: v, exp: exp, index: len(c.heap)}
	c.byID[token] = e
	c.heap = append(c.heap, e)
	c.up(e.index)
}

// Delete removes the entry for token, if any.
func (c *Cache[V]) Delete(token string) {
	c.mu.Lock()
	if e, ok := c.byID[token]; ok {
		c.removeLocked(e)
	}
	c.mu.Unlock()
}

// Prune removes every entry whose expiry is at or before now, and returns
// how many it removed. Expired entries are never returned by [Cache.Get]
// and are evicted first when the cache is full, so calling Prune is only
// needed to give their memory back sooner.
func (c *Cache[V]) Prune(now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for len(c.heap) > 0 && !now.Before(c.heap[0].exp) {
		c.removeLocked(c.heap[0])
		n++
	}
	return n
}

// Clear removes every entry, for instance when a verification key is
// withdrawn and tokens it signed must be checked again.
func (c *Cache[V]) Clear() {
	c.mu.Lock()
	clear(c.byID)
	clear(c.heap) // let the entries be collected
	c.heap = c.heap[:0]
	c.mu.Unlock()
}

// Len returns the number of entries, expired ones included until they are
// removed.
func (c *Cache[V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.heap)
}

func (c *Cache[V]) removeLocked(e *entry[V]) {
	delete(c.byID, e.token)
	i, last := e.index, len(c.heap)-1
	if i != last {
		c.swap(i, last)
	}
	c.heap[last] = nil
	c.heap = c.heap[:last]
	if i != last {
		c.fix(i)
	}
}

func (c *Cache[V]) fix(i int) {
	if !c.down(i) {
		c.up(i)
	}
}

func (c *Cache[V]) less(i, j int) bool { return c.heap[i].exp.Before(c.heap[j].exp) }

func (c *Cache[V]) swap(i, j int) {
	c.heap[i], c.heap[j] = c.heap[j], c.heap[i]
	c.heap[i].index = i
	c.heap[j].index = j
}

func (c *Cache[V]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !c.less(i, p) {
			return
		}
		c.swap(i, p)
		i = p
	}
}

// down sifts i towards the leaves and reports whether it moved.
func (c *Cache[V]) down(i int) bool {
	start, n := i, len(c.heap)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && c.less(r, l) {
			m = r
		}
		if !c.less(m, i) {
			break
		}
		c.swap(i, m)
		i = m
	}
	return i > start
}
