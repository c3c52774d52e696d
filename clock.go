package sesame

import "time"

// Clock tells the time. Every expiry decision in Sesame reads the time from
// a Clock so that tests can set it to the exact boundary.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// ClockOrSystem returns c, or [SystemClock] when c is nil.
func ClockOrSystem(c Clock) Clock {
	if c == nil {
		return SystemClock{}
	}
	return c
}
