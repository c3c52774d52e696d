package tokencache

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestGetPut(t *testing.T) {
	c := New[int](10)
	if _, ok := c.Get("a", t0); ok {
		t.Fatal("got a hit on an empty cache, want a miss")
	}
	c.Put("a", 1, t0.Add(time.Minute))
	if v, ok := c.Get("a", t0); !ok || v != 1 {
		t.Fatalf("got %d, %v, want 1, true", v, ok)
	}
	c.Put("a", 2, t0.Add(time.Minute))
	if v, _ := c.Get("a", t0); v != 2 {
		t.Fatalf("after replacing: got %d, want 2", v)
	}
	if n := c.Len(); n != 1 {
		t.Fatalf("got Len %d, want 1", n)
	}
	c.Delete("a")
	if _, ok := c.Get("a", t0); ok {
		t.Fatal("got a hit after Delete, want a miss")
	}
}

func TestExpiryBoundary(t *testing.T) {
	exp := t0.Add(15 * time.Minute)
	tests := []struct {
		name string
		now  time.Time
		want bool
	}{
		{"1s before exp", exp.Add(-time.Second), true},
		{"1ns before exp", exp.Add(-time.Nanosecond), true},
		{"at exp", exp, false},
		{"after exp", exp.Add(time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[string](4)
			c.Put("tok", "v", exp)
			if _, ok := c.Get("tok", tt.now); ok != tt.want {
				t.Fatalf("got hit %v, want %v", ok, tt.want)
			}
			if !tt.want && c.Len() != 0 {
				t.Fatalf("got Len %d after reading an expired entry, want 0", c.Len())
			}
		})
	}
}

func TestBoundedEvictsSoonestExpiry(t *testing.T) {
	const max = 100
	c := New[int](max)
	// Insert in a scrambled expiry order.
	for i := range 3 * max {
		k := (i * 37) % (3 * max)
		c.Put(strconv.Itoa(k), k, t0.Add(time.Duration(k)*time.Second))
		if n := c.Len(); n > max {
			t.Fatalf("got Len %d, want at most %d", n, max)
		}
	}
	if n := c.Len(); n != max {
		t.Fatalf("got Len %d, want %d", n, max)
	}
	// The survivors are the max entries that expire last.
	for k := range 3 * max {
		_, ok := c.Get(strconv.Itoa(k), t0)
		if want := k >= 2*max; ok != want {
			t.Fatalf("entry %d: got present %v, want %v", k, ok, want)
		}
	}
}

func TestEvictsExpiredFirst(t *testing.T) {
	c := New[int](2)
	c.Put("old", 1, t0)
	c.Put("live", 2, t0.Add(time.Hour))
	c.Put("new", 3, t0.Add(2*time.Hour))
	if _, ok := c.Get("old", t0); ok {
		t.Fatal("got the expired entry, want it evicted")
	}
	for _, k := range []string{"live", "new"} {
		if _, ok := c.Get(k, t0); !ok {
			t.Fatalf("entry %s: got a miss, want a hit", k)
		}
	}
}

func TestPruneAndClear(t *testing.T) {
	c := New[int](0)
	for i := range 10 {
		c.Put(strconv.Itoa(i), i, t0.Add(time.Duration(i)*time.Second))
	}
	if n := c.Prune(t0.Add(4 * time.Second)); n != 5 {
		t.Fatalf("Prune removed %d, want 5 (exp at or before now)", n)
	}
	if n := c.Len(); n != 5 {
		t.Fatalf("got Len %d, want 5", n)
	}
	c.Clear()
	if n := c.Len(); n != 0 {
		t.Fatalf("got Len %d after Clear, want 0", n)
	}
	c.Put("x", 1, t0.Add(time.Hour))
	if _, ok := c.Get("x", t0); !ok {
		t.Fatal("got a miss after Clear and Put, want a hit")
	}
}

func TestDefaultMax(t *testing.T) {
	if c := New[int](-1); c.max != DefaultMaxEntries {
		t.Fatalf("got max %d, want %d", c.max, DefaultMaxEntries)
	}
}

// TestHeapInvariant replaces, deletes and evicts at random positions and
// checks the heap after each step.
func TestHeapInvariant(t *testing.T) {
	c := New[int](50)
	for i := range 2000 {
		k := strconv.Itoa((i * 7919) % 173)
		switch i % 5 {
		case 0:
			c.Delete(k)
		default:
			c.Put(k, i, t0.Add(time.Duration((i*104729)%1000)*time.Millisecond))
		}
		checkHeap(t, c)
	}
}

func checkHeap(t *testing.T, c *Cache[int]) {
	t.Helper()
	if len(c.heap) != len(c.byID) {
		t.Fatalf("heap has %d entries, map %d", len(c.heap), len(c.byID))
	}
	for i, e := range c.heap {
		if e.index != i || c.byID[e.token] != e {
			t.Fatalf("entry %d is misindexed", i)
		}
		if i > 0 && c.less(i, (i-1)/2) {
			t.Fatalf("heap order broken at %d", i)
		}
	}
}

func TestConcurrent(t *testing.T) {
	const max = 64
	c := New[int](max)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				k := strconv.Itoa((g*131 + i) % 200)
				now := t0.Add(time.Duration(i) * time.Millisecond)
				if v, ok := c.Get(k, now); ok && strconv.Itoa(v) != k {
					t.Errorf("key %s: got value %d", k, v)
					return
				}
				n, _ := strconv.Atoi(k)
				c.Put(k, n, now.Add(time.Duration(i%50)*time.Millisecond))
				if i%100 == 0 {
					c.Prune(now)
				}
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n > max {
		t.Fatalf("got Len %d, want at most %d", n, max)
	}
	checkHeap(t, c)
}

func BenchmarkGet(b *testing.B) {
	tok := fmt.Sprintf("%0600d", 42) // about the size of an access token
	c := New[*int](DefaultMaxEntries)
	v := 1
	c.Put(tok, &v, t0.Add(time.Hour))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := c.Get(tok, t0); !ok {
				b.Fatal("miss")
			}
		}
	})
}

func BenchmarkPutFull(b *testing.B) {
	c := New[int](1000)
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprintf("%0600d", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Put(keys[i%len(keys)], i, t0.Add(time.Duration(i)*time.Millisecond))
		i++
	}
}
