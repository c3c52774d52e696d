package postgres_test

import (
	"fmt"
	"testing"
)

// BenchmarkByToken is the cookie path's store read on a miss of the
// in-process view: one round trip probing the token_hash index.
func BenchmarkByToken(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			db := openTest(b)
			_, err := db.Pool().Exec(ctx, `INSERT INTO sessions (id, user_id, token_hash, prev_valid_until, created_at,
				last_seen, idle_timeout, expires_at, remember, auth_time, user_agent, ip, version)
				SELECT md5(i::text), 'u' || (i % 100), sha256(i::text::bytea), 0, 0, 0, 0, 0, false, 0, '', '', 0
				FROM generate_series(1, $1) AS i`, n)
			must(b, "fill sessions", err)
			_, err = db.Pool().Exec(ctx, `ANALYZE sessions`)
			must(b, "analyze", err)
			s := newSession("bench")
			must(b, "Create", db.Create(ctx, s))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := db.ByToken(ctx, s.TokenHash); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
