package mongo

// SetCrashAfter installs the failure-injection hook of a multi-step write
// (SEC-66): f is called after each step with its name, and an error from
// it ends the write there, as if the process had died.
func SetCrashAfter(s *Store, f func(step string) error) { s.crashAfter = f }
