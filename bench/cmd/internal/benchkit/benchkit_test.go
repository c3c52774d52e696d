package benchkit

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// Every value falls in a bucket whose bounds contain it, and consecutive
// buckets tile the range without gaps.
func TestBucketBounds(t *testing.T) {
	prevHi := uint64(0)
	for i := 0; i < nBuckets; i++ {
		lo, hi := bounds(i)
		if i > 0 && lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		if hi < lo {
			t.Fatalf("bucket %d: hi %d < lo %d", i, hi, lo)
		}
		if bucket(lo) != i || bucket(hi) != i {
			t.Fatalf("bucket %d [%d, %d]: bucket(lo)=%d bucket(hi)=%d", i, lo, hi, bucket(lo), bucket(hi))
		}
		if lo >= linear && float64(hi-lo+1)/float64(lo) > 1.0/subCount+1e-12 {
			t.Fatalf("bucket %d [%d, %d] wider than 1/%d of its values", i, lo, hi, subCount)
		}
		prevHi = hi
	}
	if prevHi != math.MaxInt64 {
		t.Fatalf("last bucket ends at %d, want %d", prevHi, uint64(math.MaxInt64))
	}
}

// exact is the nearest-rank quantile of a sorted sample.
func exact(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Quantiles agree with the exact nearest-rank quantiles of a sorted sample
// within the histogram's precision, on a spread of distributions.
func TestQuantilesMatchSortedSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() time.Duration{
		"uniform 0-2ms":   func() time.Duration { return time.Duration(rng.Int64N(2e6)) },
		"exponential 1ms": func() time.Duration { return time.Duration(rng.ExpFloat64() * 1e6) },
		"lognormal":       func() time.Duration { return time.Duration(math.Exp(rng.NormFloat64()*1.5 + 12)) },
		"tiny exact":      func() time.Duration { return time.Duration(rng.IntN(200)) },
	}
	for name, gen := range dists {
		t.Run(name, func(t *testing.T) {
			var h Histogram
			var sample []time.Duration
			for range 20000 {
				v := gen()
				h.Record(v)
				sample = append(sample, v)
			}
			slices.Sort(sample)
			for _, q := range []float64{0, 0.01, 0.5, 0.9, 0.99, 0.999, 1} {
				got, want := h.Quantile(q), exact(sample, q)
				tol := float64(want)/subCount + 1
				if math.Abs(float64(got-want)) > tol {
					t.Errorf("q=%v: got %v, want %v ± %.0f ns", q, got, want, tol)
				}
			}
			if h.Min() != sample[0] || h.Max() != sample[len(sample)-1] || h.Count() != uint64(len(sample)) {
				t.Errorf("min/max/count = %v/%v/%d, want %v/%v/%d", h.Min(), h.Max(), h.Count(), sample[0], sample[len(sample)-1], len(sample))
			}
		})
	}
}

func TestHistogramEdges(t *testing.T) {
	var empty Histogram
	if empty.Quantile(0.5) != 0 || empty.Mean() != 0 || empty.Max() != 0 {
		t.Error("an empty histogram must report zeros")
	}
	var one Histogram
	one.Record(3 * time.Millisecond)
	for _, q := range []float64{0, 0.5, 0.99, 1} {
		if got := one.Quantile(q); got != 3*time.Millisecond {
			t.Errorf("one value, q=%v: got %v, want 3ms (clamped to min and max)", q, got)
		}
	}
	var neg Histogram
	neg.Record(-time.Second)
	if neg.Max() != 0 || neg.Count() != 1 {
		t.Errorf("a negative duration must count as 0: max %v count %d", neg.Max(), neg.Count())
	}
	// Merging equals recording everything in one histogram.
	var a, b, all Histogram
	for i := range 1000 {
		d := time.Duration(i*i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(nil)
	m.Merge(&Histogram{})
	for _, q := range []float64{0.1, 0.5, 0.99} {
		if m.Quantile(q) != all.Quantile(q) {
			t.Errorf("merged q=%v: %v, want %v", q, m.Quantile(q), all.Quantile(q))
		}
	}
	if m.Count() != all.Count() || m.Mean() != all.Mean() || m.Min() != all.Min() || m.Max() != all.Max() {
		t.Error("merged count/mean/min/max differ")
	}
}

func TestCheckLoopback(t *testing.T) {
	ok := map[string]string{
		"http://127.0.0.1:8080":  "http://127.0.0.1:8080",
		"http://127.0.0.1:8080/": "http://127.0.0.1:8080",
		"https://localhost:8443": "https://localhost:8443",
		"http://LOCALHOST:1":     "http://LOCALHOST:1",
		"http://[::1]:8080":      "http://[::1]:8080",
		"http://127.1.2.3:9":     "http://127.1.2.3:9",
		"http://127.0.0.1":       "http://127.0.0.1",
	}
	for in, want := range ok {
		got, err := CheckLoopback(in)
		if err != nil || got != want {
			t.Errorf("CheckLoopback(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]string{
		"http://example.com:8080":      "non-loopback",
		"http://10.0.0.1:8080":         "non-loopback",
		"http://0.0.0.0:8080":          "non-loopback",
		"http://localhost.example.com": "non-loopback",
		"http://127.0.0.1.nip.io":      "non-loopback",
		"http://[::ffff:10.0.0.1]:80":  "non-loopback",
		"http://[fe80::1%25lo]:80":     "non-loopback",
		"ftp://127.0.0.1":              "http",
		"127.0.0.1:8080":               "",
		"http://user:pw@127.0.0.1":     "bare",
		"http://127.0.0.1/api":         "bare",
		"http://127.0.0.1/?x=1":        "bare",
		"http://":                      "host",
		"http://evil.com#@127.0.0.1":   "",
		"http://127.0.0.1@evil.com":    "",
	}
	for in, frag := range bad {
		if got, err := CheckLoopback(in); err == nil {
			t.Errorf("CheckLoopback(%q) = %q, nil; want an error", in, got)
		} else if !strings.Contains(err.Error(), frag) {
			t.Errorf("CheckLoopback(%q): %v; want it to mention %q", in, err, frag)
		}
	}
}
