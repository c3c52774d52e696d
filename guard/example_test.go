package guard_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/memstore"
)

// stopped is a clock that stands still, so the example's output is fixed.
type stopped struct{ t time.Time }

func (s stopped) Now() time.Time { return s.t }

// A credential stuffer on one IP is refused after 10 failures, with a
// Retry-After; the real user elsewhere is not affected.
func Example() {
	ctx := context.Background()
	limiter := guard.NewLimiter(memstore.New(), guard.Config{Clock: stopped{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}})

	stuffer := netip.MustParseAddr("203.0.113.7")
	for i := range 10 {
		name := fmt.Sprintf("user%d", i)
		if _, err := limiter.Allow(ctx, stuffer, name); err != nil {
			fmt.Println("unexpected:", err)
		}
		// ... the password was wrong:
		limiter.Failure(ctx, stuffer, name)
	}
	wait, err := limiter.Allow(ctx, stuffer, "user10")
	fmt.Println(sesame.HTTPStatus(sesame.ErrorCode(err)), "Retry-After:", guard.RetryAfter(wait))

	_, err = limiter.Allow(ctx, netip.MustParseAddr("198.51.100.20"), "alice")
	fmt.Println("real user:", err)
	// Output:
	// 429 Retry-After: 1
	// real user: <nil>
}

func ExampleIPResolver() {
	proxies, err := guard.ParsePrefixes("10.0.0.0/8")
	if err != nil {
		panic(err)
	}
	resolver := guard.IPResolver{TrustedProxies: proxies}

	r := httptest.NewRequest("POST", "/api/v1/login", nil)
	r.RemoteAddr = "10.0.0.2:41234" // our load balancer
	r.Header.Set("X-Forwarded-For", "192.0.2.1, 203.0.113.7, 10.0.0.1")
	fmt.Println(resolver.ClientIP(r)) // 192.0.2.1 was written by the client

	r.RemoteAddr = "198.51.100.20:5555" // a client connecting directly
	fmt.Println(resolver.ClientIP(r))
	// Output:
	// 203.0.113.7
	// 198.51.100.20
}

func ExampleHashLimiter() {
	hashing := guard.NewHashLimiter(guard.HashConfig{Concurrency: 2})
	err := hashing.Do(context.Background(), func() {
		// accounts.Authenticate(ctx, username, password)
	})
	fmt.Println(err)
	// Output:
	// <nil>
}
