// Package benchkit holds what bench/cmd/load and bench/cmd/propagation
// share: a bounded-memory latency histogram, the loopback-only URL check,
// a tuned HTTP client and the few Sesame API calls both tools make.
package benchkit

import (
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: every power of two is split into
// 2^subBits buckets, so a recorded value is known to within 1/2^subBits
// (0.8 %) of itself. Values below 2^(subBits+1) ns are exact.
const (
	subBits  = 7
	subCount = 1 << subBits                   // buckets per power of two
	linear   = 2 * subCount                   // values [0, linear) have a bucket each
	nBuckets = linear + (62-subBits)*subCount // up to 2^63 ns
)

// Histogram is an HDR-style log-linear histogram of durations in
// nanoseconds: fixed memory (about 60 KB) however many values it records,
// relative error under 1 %. The zero value is ready to use. It is not safe
// for concurrent use: give each goroutine its own and Merge them.
type Histogram struct {
	counts        []uint64
	n             uint64
	sum           time.Duration
	min, maxValue time.Duration
}

// bucket returns the index of v's bucket.
func bucket(v uint64) int {
	if v < linear {
		return int(v)
	}
	e := bits.Len64(v) - (subBits + 1) // ≥ 1
	m := v >> uint(e)                  // in [subCount, 2*subCount)
	return linear + (e-1)*subCount + int(m-subCount)
}

// bounds returns the smallest and the largest value of bucket i.
func bounds(i int) (lo, hi uint64) {
	if i < linear {
		return uint64(i), uint64(i)
	}
	e := (i-linear)/subCount + 1
	m := uint64((i-linear)%subCount + subCount)
	lo = m << uint(e)
	return lo, lo + (1 << uint(e)) - 1
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	if h.counts == nil {
		h.counts = make([]uint64, nBuckets)
	}
	h.counts[bucket(uint64(d))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.maxValue {
		h.maxValue = d
	}
	h.n++
	h.sum += d
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, nBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.maxValue = max(h.maxValue, o.maxValue)
	h.n += o.n
	h.sum += o.sum
}

// Count is how many values were recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Min and Max are the exact extremes (0 when empty).
func (h *Histogram) Min() time.Duration { return h.min }
func (h *Histogram) Max() time.Duration { return h.maxValue }

// Mean is the exact mean (0 when empty).
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) by the nearest-rank method:
// the value of rank ceil(q·n), reported as the middle of its bucket and
// clamped to the recorded min and max. 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(q*float64(h.n) + 0.999999999)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bounds(i)
			v := time.Duration(lo + (hi-lo)/2)
			return min(max(v, h.min), h.maxValue)
		}
	}
	return h.maxValue
}
