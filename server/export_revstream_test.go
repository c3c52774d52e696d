package server

// SetStreamPageSize sets how many changes one read of the feed by a
// revocation stream takes, for tests; the returned function restores it.
// It is atomic because a stream handler of an earlier test may still be
// reading it while the next test sets it.
func SetStreamPageSize(n int) (restore func()) {
	old := streamPageSize.Swap(int64(n))
	return func() { streamPageSize.Store(old) }
}
