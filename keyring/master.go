package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/sesame-auth/sesame/jose"
)

// MasterKeySize is the size of a master key: an AES-256 key.
const MasterKeySize = 32

// ErrNoMasterKey means neither the environment nor the key file holds a
// master key.
var ErrNoMasterKey = errors.New("keyring: no master key")

// ErrUnseal means a sealed signing key did not open: the master key is not
// the one that sealed it, or the record was altered or moved to another
// kid.
var ErrUnseal = errors.New("keyring: cannot decrypt a signing key: wrong master key, or the record was altered")

// MasterKey encrypts signing keys at rest with AES-256-GCM. It never
// prints its bytes: String, GoString, Format and LogValue all redact it.
// A MasterKey is safe for concurrent use.
type MasterKey struct {
	aead cipher.AEAD
	prk  []byte // HKDF pseudorandom key for Derive
}

// NewMasterKey returns the master key made of raw, which must be
// [MasterKeySize] bytes from a cryptographic random source. raw is not
// retained.
func NewMasterKey(raw []byte) (*MasterKey, error) {
	if len(raw) != MasterKeySize {
		return nil, fmt.Errorf("keyring: master key: got %d bytes, want %d", len(raw), MasterKeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("keyring: master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keyring: master key: %w", err)
	}
	prk, err := hkdf.Extract(sha256.New, raw, []byte("sesame master key v1"))
	if err != nil {
		return nil, fmt.Errorf("keyring: master key: %w", err)
	}
	return &MasterKey{aead: aead, prk: prk}, nil
}

// Derive returns an n-byte key for one purpose (such as "csrf" or "refresh
// successor"), derived from the master key with HKDF-SHA256. Every node
// with the same master key derives the same key; keys for different
// purposes are independent, and none reveals the master key.
func (m *MasterKey) Derive(purpose string, n int) []byte {
	k, err := hkdf.Expand(sha256.New, m.prk, "sesame/"+purpose, n)
	if err != nil {
		panic("keyring: derive: " + err.Error()) // only for n beyond 255*32: a programmer error
	}
	return k
}

// ParseMasterKey reads a master key written as base64 (standard or URL
// alphabet, padded or not) of [MasterKeySize] bytes, as printed by
// `openssl rand -base64 32`. Surrounding white space is ignored.
func ParseMasterKey(text string) (*MasterKey, error) {
	text = strings.TrimSpace(text)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(text); err == nil {
			defer clear(raw)
			return NewMasterKey(raw)
		}
	}
	return nil, fmt.Errorf("keyring: master key is not base64 of %d bytes", MasterKeySize)
}

// String redacts the key.
func (MasterKey) String() string { return "keyring.MasterKey[REDACTED]" }

// GoString redacts the key.
func (m MasterKey) GoString() string { return m.String() }

// Format redacts the key for every verb.
func (m MasterKey) Format(f fmt.State, _ rune) { fmt.Fprint(f, m.String()) }

// LogValue implements slog.LogValuer: the key is redacted.
func (MasterKey) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }

// sealVersion is the first byte of every sealed blob: the format
// version 1 || nonce (12 bytes) || AES-256-GCM ciphertext and tag.
const sealVersion = 1

// aad binds a sealed blob to its record's kid and alg (and to this use of
// the master key), so that a blob copied into another row does not open.
func aad(kid string, alg jose.Algorithm) []byte {
	b := make([]byte, 0, 32+len(alg)+len(kid))
	b = append(b, "sesame keyring v1\x00"...)
	b = append(b, alg...)
	b = append(b, 0)
	return append(b, kid...)
}

// seal encrypts plaintext (a private JWK) for the record (kid, alg).
func (m *MasterKey) seal(kid string, alg jose.Algorithm, plaintext []byte) []byte {
	ns := m.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+m.aead.Overhead())
	out[0] = sealVersion
	rand.Read(out[1 : 1+ns])
	return m.aead.Seal(out, out[1:1+ns], plaintext, aad(kid, alg))
}

// unseal decrypts what seal wrote for the record (kid, alg). Every failure
// wraps [ErrUnseal].
func (m *MasterKey) unseal(kid string, alg jose.Algorithm, sealed []byte) ([]byte, error) {
	ns := m.aead.NonceSize()
	if len(sealed) < 1+ns+m.aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w (kid %q: not a sealed key of a known format)", ErrUnseal, kid)
	}
	plain, err := m.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], aad(kid, alg))
	if err != nil {
		return nil, fmt.Errorf("%w (kid %q)", ErrUnseal, kid)
	}
	return plain, nil
}

// LoadMasterKey returns the master key from envValue, the value of
// SESAME_MASTER_KEY (base64 of 32 bytes), when it is not empty; else from
// file, which holds the same text. It returns an error wrapping
// [ErrNoMasterKey] when envValue is empty and file does not exist.
//
// On Unix a key file that group or others may access is refused (as ssh
// refuses such a private key): chmod 600 it.
func LoadMasterKey(envValue, file string) (*MasterKey, error) {
	if envValue != "" {
		m, err := ParseMasterKey(envValue)
		if err != nil {
			return nil, fmt.Errorf("keyring: SESAME_MASTER_KEY: %w", err)
		}
		return m, nil
	}
	if file == "" {
		return nil, fmt.Errorf("%w: SESAME_MASTER_KEY is not set and no key file was given", ErrNoMasterKey)
	}
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: SESAME_MASTER_KEY is not set and %s does not exist", ErrNoMasterKey, file)
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: master key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keyring: master key file: %w", err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("keyring: master key file %s is accessible by group or others (mode %#o): run chmod 600 on it", file, info.Mode().Perm())
	}
	const maxFile = 256 // base64 of 32 bytes plus generous white space
	buf, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	defer clear(buf)
	if err != nil {
		return nil, fmt.Errorf("keyring: master key file: %w", err)
	}
	if len(buf) > maxFile {
		return nil, fmt.Errorf("keyring: master key file %s: want base64 of %d bytes", file, MasterKeySize)
	}
	m, err := ParseMasterKey(string(buf))
	if err != nil {
		return nil, fmt.Errorf("keyring: master key file %s: %w", file, err)
	}
	return m, nil
}

// CreateMasterKeyFile writes a new random master key to file with mode
// 0600 and returns it. It never replaces an existing file: if file exists
// (another process may have just created it), the key in it is loaded and
// returned instead. The file appears complete or not at all.
func CreateMasterKeyFile(file string) (*MasterKey, error) {
	raw := make([]byte, MasterKeySize)
	defer clear(raw)
	rand.Read(raw)
	m, err := NewMasterKey(raw)
	if err != nil {
		return nil, err
	}
	text := []byte(base64.StdEncoding.EncodeToString(raw) + "\n")
	defer clear(text)

	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("keyring: create master key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeSync(tmp, text); err != nil {
		return nil, fmt.Errorf("keyring: create master key file: %w", err)
	}
	// A hard link never replaces file: of two processes creating it at
	// once, one wins and the other reads the winner's key.
	if err := os.Link(tmp.Name(), file); errors.Is(err, fs.ErrExist) {
		return LoadMasterKey("", file)
	} else if err != nil {
		return nil, fmt.Errorf("keyring: create master key file: %w", err)
	}
	return m, nil
}

// writeSync writes b to f (created with mode 0600 by os.CreateTemp), syncs
// and closes it.
func writeSync(f *os.File, b []byte) error {
	_, err := f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// LoadOrCreateMasterKey is what a server does at start: it loads the
// master key as [LoadMasterKey] does, and when there is none, creates file
// with a new key (logging where, at warning level, because the file must
// be backed up) so that a server starts with no configuration.
//
// It never creates a key while store holds sealed signing keys: that
// would only hide the loss of the key that sealed them. It returns an
// error saying so instead.
func LoadOrCreateMasterKey(ctx context.Context, envValue, file string, store Store, logger *slog.Logger) (*MasterKey, error) {
	m, err := LoadMasterKey(envValue, file)
	if !errors.Is(err, ErrNoMasterKey) || file == "" {
		return m, err
	}
	recs, lerr := store.ListKeys(ctx)
	if lerr != nil {
		return nil, fmt.Errorf("keyring: list signing keys: %w", lerr)
	}
	if len(recs) > 0 {
		return nil, fmt.Errorf("%w, but the database holds %d sealed signing key(s): set SESAME_MASTER_KEY or restore %s; a new master key cannot open them", err, len(recs), file)
	}
	m, err = CreateMasterKeyFile(file)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger.Warn("generated master key: it encrypts the signing keys in the database; back it up with the database, or set SESAME_MASTER_KEY instead", "file", file)
	return m, nil
}
