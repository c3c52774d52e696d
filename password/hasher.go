package password

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"sync"

	"golang.org/x/crypto/argon2"
)

const (
	// DefaultMaxBytes is the longest password, in bytes, that [Hasher] and
	// [Policy] accept when their MaxBytes is zero (SEC-44).
	DefaultMaxBytes = 1024
	// minMaxBytes is the smallest MaxBytes honoured: 64 characters of any
	// script (up to 4 bytes each in UTF-8) must always fit (SEC-43, ASVS
	// 6.2.9).
	minMaxBytes = 64 * 4
	// minPepperLen is the shortest pepper accepted; 32 random bytes are
	// recommended.
	minPepperLen = 16
	// maxPepperedKeyLen is the longest hash a peppered hash can have: the
	// HMAC-SHA256 output.
	maxPepperedKeyLen = sha256.Size
)

// kdfFunc has the signature of [argon2.IDKey].
type kdfFunc func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

// Hasher hashes passwords with argon2id into PHC strings and verifies them.
// The zero value is ready to use and applies the SEC-41 parameters, no
// pepper, and a 1024-byte limit on input.
//
// # Pepper
//
// golang.org/x/crypto/argon2 does not expose argon2's secret input, so the
// pepper is applied after hashing (SEC-42): the stored hash is
//
//	HMAC-SHA256(Pepper, argon2id(password, salt, t, m, p, KeyLen))[:KeyLen]
//
// and the PHC string carries the parameter keyid=cGVwcGVy (base64 of
// "pepper") to mark it. Verify then requires a pepper: without one it
// returns [ErrPepperRequired]; with a different one the password simply does
// not match. A hash without the marker still verifies on a Hasher that has a
// pepper, and reports needsRehash so that it gains the pepper at the next
// login. Other argon2 libraries will not verify a peppered hash, which is
// intended. Rotating the pepper is not supported yet: changing it makes
// every peppered hash fail to verify.
//
// A Hasher is safe for concurrent use. It must not be copied, nor its fields
// changed, after first use.
type Hasher struct {
	// Params are the argon2id parameters of new hashes. Each zero field
	// takes its default (m=19456 KiB, t=2, p=1, 16-byte salt, 32-byte key;
	// see [DefaultParams]). Parameters below the SEC-41 floor (see
	// [Params.MeetsFloor]) are refused unless AllowWeakParams is set.
	Params Params

	// Pepper is an optional secret kept outside the database, for example in
	// an environment variable or a secrets manager; at least 16 bytes, 32
	// random bytes recommended. Nil means no pepper. It redacts itself when
	// printed or logged.
	Pepper Secret

	// MaxBytes is the longest password, in bytes, that Hash and Verify
	// accept; anything longer returns [ErrTooLong] at once, without hashing
	// (SEC-44). Zero or negative means [DefaultMaxBytes] (1024); values
	// below 256 are raised to 256 so that 64 characters always fit.
	MaxBytes int

	// AllowWeakParams permits Params below the SEC-41 floor. It exists for
	// tests that need fast hashing; never set it in production. Default
	// false.
	AllowWeakParams bool

	// kdf replaces argon2.IDKey in this package's tests, which count and
	// inspect the calls; nil means argon2.IDKey.
	kdf kdfFunc

	dummyOnce sync.Once
	dummyHash string
}

// Validate reports whether h's configuration can hash passwords. Hash and
// Verify return the same error; call Validate at start-up to fail fast.
func (h *Hasher) Validate() error {
	_, err := h.params()
	return err
}

// params returns h.Params with defaults applied, or an error wrapping
// errInvalidConfig if the configuration is out of range.
func (h *Hasher) params() (Params, error) {
	p := h.Params.withDefaults()
	fail := func(format string, args ...any) (Params, error) {
		return Params{}, fmt.Errorf("%w: "+format, append([]any{errInvalidConfig}, args...)...)
	}
	if err := checkCost(p.Memory, p.Time, p.Threads); err != nil {
		return fail("%v", err)
	}
	if !h.AllowWeakParams && !p.MeetsFloor() {
		return fail("m=%d,t=%d is below the SEC-41 floor", p.Memory, p.Time)
	}
	if p.SaltLen < minHashSalt || p.SaltLen > maxSaltLen {
		return fail("salt length %d outside [%d, %d]", p.SaltLen, minHashSalt, maxSaltLen)
	}
	if p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
		return fail("key length %d outside [%d, %d]", p.KeyLen, minKeyLen, maxKeyLen)
	}
	if len(h.Pepper) > 0 {
		if len(h.Pepper) < minPepperLen {
			return fail("pepper shorter than %d bytes", minPepperLen)
		}
		if p.KeyLen > maxPepperedKeyLen {
			return fail("key length %d above %d, the most a pepper allows", p.KeyLen, maxPepperedKeyLen)
		}
	}
	return p, nil
}

// Hash returns the PHC string of pw hashed with argon2id, h.Params and a
// fresh 16-byte (SaltLen) salt from crypto/rand, so two hashes of one
// password differ (SEC-42). The password is hashed exactly as given: no
// trimming, truncation, normalization or case folding. A password longer
// than MaxBytes returns [ErrTooLong] without hashing.
func (h *Hasher) Hash(pw string) (string, error) {
	if err := h.checkLen(pw); err != nil {
		return "", err
	}
	p, err := h.params()
	if err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading a random salt: %w", err)
	}
	stored := phc{
		memory:   p.Memory,
		time:     p.Time,
		threads:  p.Threads,
		peppered: len(h.Pepper) > 0,
		salt:     salt,
	}
	stored.hash = h.derive(pw, stored, p.KeyLen)
	return stored.encode(), nil
}

// Verify reports whether pw matches encoded, a PHC string from Hash (or any
// argon2id v=19 PHC string within the bounds below). The comparison is in
// constant time (SEC-47).
//
// needsRehash is true only when ok is, and the stored hash differs from what
// Hash would produce now: other parameters, salt or key length, or a pepper
// added or removed. The caller should then store Hash(pw) (SEC-41: rehash
// stale hashes at login).
//
// A wrong password is ok == false with a nil error. An error means the
// password could not be checked: [ErrTooLong] (returned before any work),
// [ErrInvalidHash] for a malformed or unsupported string (another algorithm
// or version, non-canonical encoding, salt outside 8–48 bytes, hash outside
// 16–64 bytes, or costs above m=262144 KiB, t=16, p=16 or m·t=2²⁰, refused
// so that a planted hash cannot exhaust memory or CPU), [ErrPepperRequired],
// or a configuration error (see [Hasher.Validate]). Verify never panics on
// its inputs.
func (h *Hasher) Verify(pw, encoded string) (ok, needsRehash bool, err error) {
	if err := h.checkLen(pw); err != nil {
		return false, false, err
	}
	want, err := h.params()
	if err != nil {
		return false, false, err
	}
	stored, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	if stored.peppered && len(h.Pepper) == 0 {
		return false, false, ErrPepperRequired
	}
	got := h.derive(pw, stored, uint32(len(stored.hash)))
	if subtle.ConstantTimeCompare(got, stored.hash) != 1 {
		return false, false, nil
	}
	return true, h.stale(stored, want), nil
}

// stale reports whether stored differs from what Hash would produce with
// want.
func (h *Hasher) stale(stored phc, want Params) bool {
	return stored.memory != want.Memory ||
		stored.time != want.Time ||
		stored.threads != want.Threads ||
		uint32(len(stored.salt)) != want.SaltLen ||
		uint32(len(stored.hash)) != want.KeyLen ||
		stored.peppered != (len(h.Pepper) > 0)
}

// Dummy does the work of a Verify of pw against a real hash made with
// h.Params and h.Pepper, and discards the result. Call it when the user is
// unknown, so that an unknown user takes as long as a wrong password
// (SEC-45). A password over MaxBytes returns at once, as Verify does.
//
// The dummy hash is computed on the first call (so that call costs two
// hashes; call Dummy once at start-up to warm it) and reused after. Dummy is
// safe for concurrent use.
func (h *Hasher) Dummy(pw string) {
	h.dummyOnce.Do(func() {
		var b [16]byte
		_, _ = rand.Read(b[:])
		// On a configuration error the hash stays empty and Verify below
		// fails the same way it does for a real user.
		h.dummyHash, _ = h.Hash(hex.EncodeToString(b[:]))
	})
	_, _, _ = h.Verify(pw, h.dummyHash)
}

// checkLen returns ErrTooLong when pw is over the byte limit.
func (h *Hasher) checkLen(pw string) error {
	if limit := maxBytes(h.MaxBytes); len(pw) > limit {
		return fmt.Errorf("%w: use at most %d bytes", ErrTooLong, limit)
	}
	return nil
}

// derive computes the keyLen-byte hash of pw with the salt and costs of
// stored, then applies the pepper if stored is peppered.
func (h *Hasher) derive(pw string, stored phc, keyLen uint32) []byte {
	kdf := h.kdf
	if kdf == nil {
		kdf = argon2.IDKey
	}
	key := kdf([]byte(pw), stored.salt, stored.time, stored.memory, stored.threads, keyLen)
	if !stored.peppered {
		return key
	}
	mac := hmac.New(sha256.New, h.Pepper)
	mac.Write(key)
	return mac.Sum(nil)[:keyLen]
}

// maxBytes returns the effective byte limit for a MaxBytes setting.
func maxBytes(n int) int {
	switch {
	case n <= 0:
		return DefaultMaxBytes
	case n < minMaxBytes:
		return minMaxBytes
	}
	return n
}
