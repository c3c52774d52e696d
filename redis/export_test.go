package redis

// SetCrashAfter installs the failure-injection hook of a multi-step write
// (SEC-66): f is called after each step with its name, and an error from
// it ends the write there, as if the process had died.
func SetCrashAfter(s *Store, f func(step string) error) { s.crashAfter = f }

// ClaimTTL is how long a creation's index claims live before the record
// they index exists.
const ClaimTTL = claimTTL
