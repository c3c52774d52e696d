package password

import "fmt"

// The argon2id defaults of SEC-41 (OWASP Password Storage Cheat Sheet, ASVS
// 11.4.2): 19 MiB of memory, two passes, one lane, a 16-byte salt and a
// 32-byte output.
const (
	DefaultMemory  uint32 = 19456 // KiB
	DefaultTime    uint32 = 2
	DefaultThreads uint8  = 1
	DefaultSaltLen uint32 = 16
	DefaultKeyLen  uint32 = 32
)

// Bounds on parameters. They apply both to a Hasher's own configuration and
// to the parameters read back from a stored hash, so that a corrupted or
// planted hash string cannot make [Hasher.Verify] allocate gigabytes or run
// for minutes (a denial of service).
const (
	maxMemory   uint32 = 256 * 1024 // KiB, 256 MiB
	maxTime     uint32 = 16
	maxCost     uint64 = 1 << 20 // memory × time, in KiB·passes (about 27× the default)
	maxThreads  uint8  = 16
	minSaltLen  uint32 = 8 // accepted when verifying; Hash insists on minHashSalt
	minHashSalt uint32 = 16
	maxSaltLen  uint32 = 48
	minKeyLen   uint32 = 16
	maxKeyLen   uint32 = 64
)

// Params are argon2id cost parameters. The zero value of each field means its
// default (see [DefaultParams]), so Params{} is the SEC-41 configuration.
type Params struct {
	// Memory is the memory cost in KiB. Zero means [DefaultMemory] (19456).
	Memory uint32
	// Time is the number of passes over the memory. Zero means
	// [DefaultTime] (2).
	Time uint32
	// Threads is the degree of parallelism (lanes). Zero means
	// [DefaultThreads] (1).
	Threads uint8
	// SaltLen is the length in bytes of the random salt. Zero means
	// [DefaultSaltLen] (16); Hash refuses less than 16.
	SaltLen uint32
	// KeyLen is the length in bytes of the derived hash. Zero means
	// [DefaultKeyLen] (32); at most 32 when a pepper is used.
	KeyLen uint32
}

// DefaultParams returns the SEC-41 parameters: argon2id with m=19456 KiB,
// t=2, p=1, a 16-byte salt and a 32-byte key.
func DefaultParams() Params {
	return Params{
		Memory:  DefaultMemory,
		Time:    DefaultTime,
		Threads: DefaultThreads,
		SaltLen: DefaultSaltLen,
		KeyLen:  DefaultKeyLen,
	}
}

// withDefaults returns p with every zero field replaced by its default.
func (p Params) withDefaults() Params {
	if p.Memory == 0 {
		p.Memory = DefaultMemory
	}
	if p.Time == 0 {
		p.Time = DefaultTime
	}
	if p.Threads == 0 {
		p.Threads = DefaultThreads
	}
	if p.SaltLen == 0 {
		p.SaltLen = DefaultSaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = DefaultKeyLen
	}
	return p
}

// MeetsFloor reports whether p, after defaults, is at least as strong as one
// of the argon2id configurations SEC-41 accepts: m=47104/t=1, 19456/2,
// 12288/3, 9216/4 or 7168/5.
func (p Params) MeetsFloor() bool {
	// The argon2id (memory KiB, passes) pairs that SEC-41 accepts as
	// equivalent; p must be at or above one of them in both dimensions.
	floor := [...]struct{ memory, time uint32 }{
		{47104, 1},
		{19456, 2},
		{12288, 3},
		{9216, 4},
		{7168, 5},
	}
	p = p.withDefaults()
	for _, f := range floor {
		if p.Memory >= f.memory && p.Time >= f.time {
			return true
		}
	}
	return false
}

// checkCost reports whether the memory, time and thread costs are within what
// this package will ever compute: argon2's own rules (t ≥ 1, p ≥ 1,
// m ≥ 8·p) and the denial-of-service bounds.
func checkCost(memory, time uint32, threads uint8) error {
	switch {
	case time < 1 || time > maxTime:
		return fmt.Errorf("t=%d outside [1, %d]", time, maxTime)
	case threads < 1 || threads > maxThreads:
		return fmt.Errorf("p=%d outside [1, %d]", threads, maxThreads)
	case memory < 8*uint32(threads) || memory > maxMemory:
		return fmt.Errorf("m=%d outside [8·p, %d]", memory, maxMemory)
	case uint64(memory)*uint64(time) > maxCost:
		return fmt.Errorf("m·t=%d above %d", uint64(memory)*uint64(time), maxCost)
	}
	return nil
}
