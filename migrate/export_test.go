package migrate

// FailAfter makes the copy of cfg fail after n writes.
func FailAfter(cfg *Config, n int) { cfg.failAfter = n }

// ErrInjected is the failure FailAfter injects.
var ErrInjected = errInjected
