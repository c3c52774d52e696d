package mongo_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
)

// BenchmarkByToken is the cookie path's store read on a miss of the
// in-process view: the session by token hash, then its LastSeen.
func BenchmarkByToken(b *testing.B) {
	for _, n := range []int{1_000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			s := openTest(b)
			docs := make([]any, 0, n)
			for i := range n {
				x := newSession(fmt.Sprintf("u%d", i%100))
				docs = append(docs, x)
			}
			for _, d := range docs {
				must(b, "Create", s.Create(ctx, d.(*sesame.Session)))
			}
			x := newSession("bench")
			must(b, "Create", s.Create(ctx, x))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.ByToken(ctx, x.TokenHash); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRefreshRotation is one refresh's store work: read the token,
// redeem it, read the successor.
func BenchmarkRefreshRotation(b *testing.B) {
	s := openTest(b)
	sess := newSession("bench")
	must(b, "Create", s.Create(ctx, sess))
	r := newRefresh(sess)
	must(b, "CreateRefresh", s.CreateRefresh(ctx, r))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.RefreshByHash(ctx, r.Hash); err != nil {
			b.Fatal(err)
		}
		next := *r
		next.Hash, next.CreatedAt = randHash(), r.CreatedAt.Add(time.Second)
		if err := s.RedeemRefresh(ctx, r.Hash, next.CreatedAt, &next); err != nil {
			b.Fatal(err)
		}
		r = &next
	}
}
