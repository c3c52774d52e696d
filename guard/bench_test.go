package guard_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/memstore"
)

// BenchmarkLoginAttempt is the throttling cost of one failed login on the
// in-memory store: Allow before the hash, Failure after.
func BenchmarkLoginAttempt(b *testing.B) {
	b.ReportAllocs()
	l := guard.NewLimiter(memstore.New(), guard.Config{Clock: newClock()})
	a := netip.MustParseAddr("203.0.113.7")
	for b.Loop() {
		l.Allow(ctx, a, "alice")
		l.Failure(ctx, a, "alice")
	}
}

func BenchmarkClientIP(b *testing.B) {
	b.ReportAllocs()
	proxies, _ := guard.ParsePrefixes("10.0.0.0/8")
	res := guard.IPResolver{TrustedProxies: proxies}
	r := httptest.NewRequest("POST", "/", nil)
	r.RemoteAddr = "10.0.0.3:4711"
	r.Header.Set("X-Forwarded-For", "192.0.2.1, 203.0.113.7, 10.0.0.1, 10.0.0.2")
	for b.Loop() {
		res.ClientIP(r)
	}
}
