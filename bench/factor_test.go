package bench

import (
	"bytes"
	"context"
	"encoding/base32"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/factor"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/password"
)

// stepClock is a clock the benchmark moves one TOTP step per check.
type stepClock struct{ unix atomic.Int64 }

func (c *stepClock) Now() time.Time { return time.Unix(c.unix.Load(), 0) }

// BenchmarkTOTPCheck is the server's work for a TOTP second factor at
// sign-in: factor.Service.Check of a fresh code against memstore (list the
// user's factors, unseal the secret with the master key, three HMAC-SHA-1
// for the ±1 step window, the atomic step update). Each check is of the
// next time step, so none is a replay; the codes are computed outside the
// timer, in chunks.
func BenchmarkTOTPCheck(b *testing.B) {
	ctx := context.Background()
	mk, err := keyring.NewMasterKey(bytes.Repeat([]byte{7}, keyring.MasterKeySize))
	if err != nil {
		b.Fatal(err)
	}
	clock := &stepClock{}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	clock.unix.Store(start)
	svc, err := factor.New(factor.Config{Store: memstore.New(), Sealer: mk, Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	e, err := svc.BeginTOTP(ctx, "u1", "alice", "Phone")
	if err != nil {
		b.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.ConfirmTOTP(ctx, "u1", e.ID, factor.TOTP(secret, clock.Now())); err != nil {
		b.Fatal(err)
	}
	const chunk = 4096
	codes := make([]string, chunk)
	times := make([]int64, chunk)
	next := start
	fill := func() {
		for i := 0; i < chunk; {
			next += 30
			c := factor.TOTP(secret, time.Unix(next, 0))
			if c == factor.TOTP(secret, time.Unix(next+30, 0)) {
				// One step in a million has the next step's code: Check
				// records the later step (a code is never accepted twice),
				// so that next step's code would be refused. Skip both.
				next += 30
				continue
			}
			times[i], codes[i] = next, c
			i++
		}
	}
	fill()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if i == chunk {
			b.StopTimer()
			fill()
			i = 0
			b.StartTimer()
		}
		clock.unix.Store(times[i])
		if method, _, err := svc.Check(ctx, "u1", codes[i]); err != nil || method != "otp" {
			b.Fatal(method, err)
		}
		i++
	}
}

// BenchmarkPasswordVerify is the password hash a sign-in verifies first:
// password.Hasher.Verify at the server's default parameters (argon2id,
// 19 MiB, 2 passes, 1 thread; the zero Hasher, as app.New uses).
func BenchmarkPasswordVerify(b *testing.B) {
	var h password.Hasher
	encoded, err := h.Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify("correct horse battery staple", encoded); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
