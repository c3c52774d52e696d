// Package retry is the retry schedule of Sesame's durable outboxes (the
// OAuth back-channel logout notices and the webhooks): a delay doubling
// from Min up to Max, with jitter from crypto/rand (SEC-08), given up once
// the schedule has run for about GiveUp. Attempts are counted by the
// store (a claim is an attempt), so the schedule survives restarts and
// spans nodes.
package retry

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// Schedule is one outbox's retry schedule.
type Schedule struct {
	Min    time.Duration // delay after the first failed attempt
	Max    time.Duration // delay cap
	GiveUp time.Duration // span after which the outbox gives up
}

// Nominal is the delay after the attempts-th failed attempt, without
// jitter: Min doubling up to Max.
func (s Schedule) Nominal(attempts int) time.Duration {
	d := s.Min
	for i := 1; i < attempts && d < s.Max; i++ {
		d *= 2
	}
	return min(d, s.Max)
}

// Backoff is Nominal with jitter: a delay drawn in [3/4, 1] of it, so
// that the deliveries of many items failed at once (a receiver down for
// everyone, a user's sessions revoked together) spread out.
func (s Schedule) Backoff(attempts int) time.Duration {
	d := s.Nominal(attempts)
	if q := int64(d / 4); q > 0 {
		d -= time.Duration(jitterN(uint64(q) + 1))
	}
	return d
}

// Span is about how long the schedule has run after the attempts-th
// attempt, plus the delay before the next: the sum of the delays at their
// mean jitter, stopping once it reaches GiveUp.
func (s Schedule) Span(attempts int) time.Duration {
	var span time.Duration
	for i := 1; i <= attempts && span < s.GiveUp; i++ {
		span += s.Nominal(i) * 7 / 8
	}
	return span
}

// jitterN returns a number in [0, n) from crypto/rand (SEC-08: the
// spread of retries must not be predictable from math/rand's seed). A
// failed read gives no jitter.
func jitterN(n uint64) int64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(b[:]) % n)
}
