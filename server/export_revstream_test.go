package server

// SetStreamPageSize sets how many changes one read of the feed by a
// revocation stream takes, for tests; the returned function restores it.
func SetStreamPageSize(n int) (restore func()) {
	old := streamPageSize
	streamPageSize = n
	return func() { streamPageSize = old }
}
