package verify

import "time"

// Hooks for the external tests (package verify_test), which run against
// a real Sesame server (package app imports verify, so package verify's
// own tests cannot import it).

// StreamConnections is how many stream connections of v delivered their
// catch-up.
func StreamConnections(v *Verifier) int {
	v.rev.stream.mu.Lock()
	defer v.rev.stream.mu.Unlock()
	return v.rev.stream.connected
}

// StreamPolling reports whether v has fallen back from the stream to
// polling.
func StreamPolling(v *Verifier) bool {
	v.rev.stream.mu.Lock()
	defer v.rev.stream.mu.Unlock()
	return v.rev.stream.polling
}

// Position is v's position in the revocation feed.
func Position(v *Verifier) uint64 {
	v.rev.mu.RLock()
	defer v.rev.mu.RUnlock()
	return v.rev.cursor
}

// MaxStaleness is v's resolved staleness bound.
func MaxStaleness(v *Verifier) time.Duration { return v.rev.cfg.MaxStaleness }

// Wait waits for v's background loops (after its Start context is done)
// and every read in flight.
func Wait(v *Verifier) {
	v.loops.Wait()
	v.wait()
}
