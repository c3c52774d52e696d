package cookie

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// KeySize is the length of a [Key] secret in bytes (AES-256).
const KeySize = 32

// maxKeyIDBytes bounds a key ID, which is written into every cookie.
const maxKeyIDBytes = 32

// Key is one AES-256-GCM key of a [Codec]. Its String, GoString, LogValue and
// MarshalJSON methods redact Secret.
type Key struct {
	// ID names the key inside each encoded value so that [Codec.Decode]
	// can pick it after a rotation. It is public: 1 to 32 bytes of ASCII
	// letters, digits, '-' and '_', e.g. "2025-06".
	ID string
	// Secret is exactly [KeySize] bytes from crypto/rand. Never a password.
	Secret []byte
}

// String describes k with its Secret redacted.
func (k Key) String() string {
	return fmt.Sprintf("cookie.Key{ID:%q, Secret:%s}", k.ID, redacted)
}

// GoString is String, so that the %#v verb does not print Secret either.
func (k Key) GoString() string { return k.String() }

// LogValue implements slog.LogValuer with the Secret redacted.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.ID), slog.String("secret", redacted))
}

// MarshalJSON encodes k with its Secret redacted, for slog's JSON handler,
// which encodes a slice of Keys with encoding/json rather than LogValue.
func (k Key) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct{ ID, Secret string }{k.ID, redacted})
}

func validateKey(k Key) error {
	if k.ID == "" || len(k.ID) > maxKeyIDBytes {
		return fmt.Errorf("cookie: key ID %q must be 1 to %d bytes", k.ID, maxKeyIDBytes)
	}
	for i := 0; i < len(k.ID); i++ {
		b := k.ID[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
			return fmt.Errorf("cookie: key ID %q has a byte %q outside [A-Za-z0-9_-]", k.ID, b)
		}
	}
	if len(k.Secret) != KeySize {
		return fmt.Errorf("cookie: key %q: secret is %d bytes, want %d", k.ID, len(k.Secret), KeySize)
	}
	return nil
}

// Codec seals small values for client-side cookies with AES-256-GCM, so the
// client can neither read nor alter them. Each value is bound to its cookie
// name and carries an expiry inside the sealed data, so it can be neither
// moved to another cookie nor used after its maxAge.
//
// Keys rotate by ID: the first key encrypts and every key decrypts. To
// rotate, put a new key first and keep the old ones until the cookies they
// sealed have expired. Each key must seal fewer than 2^32 values (random
// nonces); rotate well before that.
//
// An encoded value is "ID.DATA", where DATA is unpadded base64url of the
// GCM nonce, the sealed 8-byte expiry (Unix nanoseconds, big-endian) with the
// plaintext, and the tag. The additional data is a fixed context string, the
// key ID and the cookie name.
//
// Create a Codec with [NewCodec]; the zero Codec encodes nothing and decodes
// nothing. A Codec is safe for concurrent use once set up. Its String, GoString and
// LogValue methods print only the key IDs.
type Codec struct {
	// Now returns the current time for expiry. Default (nil): time.Now.
	// Set it, if at all, before the Codec is shared.
	Now func() time.Time

	encryptID string
	ids       []string
	aeads     map[string]cipher.AEAD
}

// NewCodec returns a Codec that encrypts with keys[0] and decrypts with any
// of keys. It refuses an empty key list, malformed keys and duplicate IDs.
// The secrets are not retained beyond the expanded AES keys.
func NewCodec(keys ...Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("cookie: NewCodec needs at least one key")
	}
	c := &Codec{encryptID: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if err := validateKey(k); err != nil {
			return nil, err
		}
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("cookie: duplicate key ID %q", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("cookie: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("cookie: key %q: %w", k.ID, err)
		}
		c.aeads[k.ID] = aead
		c.ids = append(c.ids, k.ID)
	}
	return c, nil
}

const expiryBytes = 8

// additionalData binds a sealed value to its format version, key and cookie
// name. Neither a key ID nor a token name can contain NUL, so the encoding is
// unambiguous.
func additionalData(keyID, name string) []byte {
	return []byte("sesame/cookie/v1\x00" + keyID + "\x00" + name)
}

// Encode seals plaintext for the cookie called name, valid for maxAge from
// now. The result consists of cookie-octets; write it with [Write], usually
// with a [Cookie.MaxAge] no longer than maxAge. Encode returns [ErrTooLarge]
// when name and the encoded value together would exceed [MaxCookieBytes],
// before doing any cryptography. maxAge must be positive and at most
// [MaxMaxAge].
func (c *Codec) Encode(name string, plaintext []byte, maxAge time.Duration) (string, error) {
	if err := validateName(name); err != nil {
		return "", err
	}
	if maxAge <= 0 || maxAge > MaxMaxAge {
		return "", fmt.Errorf("cookie: %s: maxAge %v must be positive and at most 400 days", name, maxAge)
	}
	aead := c.aeads[c.encryptID]
	if aead == nil {
		return "", errors.New("cookie: Codec not created by NewCodec")
	}
	if len(plaintext) > MaxCookieBytes {
		return "", fmt.Errorf("cookie: %s: %d-byte plaintext cannot fit in a cookie: %w", name, len(plaintext), ErrTooLarge)
	}
	sealedLen := aead.Overhead() + expiryBytes + len(plaintext)
	encodedLen := len(c.encryptID) + 1 + base64.RawURLEncoding.EncodedLen(sealedLen)
	if n := len(name) + encodedLen; n > MaxCookieBytes {
		return "", fmt.Errorf("cookie: %s: %d-byte plaintext encodes to a %d-byte cookie, over the %d-byte limit: %w", name, len(plaintext), n, MaxCookieBytes, ErrTooLarge)
	}

	expiry := c.now().Add(maxAge).UnixNano()
	msg := make([]byte, expiryBytes, expiryBytes+len(plaintext))
	binary.BigEndian.PutUint64(msg, uint64(expiry))
	msg = append(msg, plaintext...)
	sealed := aead.Seal(make([]byte, 0, sealedLen), nil, msg, additionalData(c.encryptID, name))

	var b strings.Builder
	b.Grow(encodedLen)
	b.WriteString(c.encryptID)
	b.WriteByte('.')
	b.WriteString(base64.RawURLEncoding.EncodeToString(sealed))
	return b.String(), nil
}

// Decode opens a value that [Codec.Encode] sealed for the cookie called name
// and returns its plaintext. Anything else, including a value for another
// name, under an unknown key, altered in any byte, re-encoded or expired,
// gives [ErrInvalid]; an authentic but expired value also matches
// [ErrExpired]. A value is expired from the instant now reaches its expiry.
func (c *Codec) Decode(name, value string) ([]byte, error) {
	if len(name)+len(value) > MaxCookieBytes || !isToken(name) || !isCookieValue(value) {
		return nil, ErrInvalid
	}
	keyID, data, ok := strings.Cut(value, ".")
	if !ok {
		return nil, ErrInvalid
	}
	aead, ok := c.aeads[keyID]
	if !ok {
		return nil, ErrInvalid
	}
	// Strict rejects non-zero padding bits, so each value has one spelling.
	sealed, err := base64.RawURLEncoding.Strict().DecodeString(data)
	if err != nil {
		return nil, ErrInvalid
	}
	msg, err := aead.Open(nil, nil, sealed, additionalData(keyID, name))
	if err != nil || len(msg) < expiryBytes {
		return nil, ErrInvalid
	}
	expiry := int64(binary.BigEndian.Uint64(msg))
	if c.now().UnixNano() >= expiry {
		return nil, ErrExpired
	}
	return msg[expiryBytes:], nil
}

func (c *Codec) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// String describes c by its key IDs, encrypting key first.
func (c *Codec) String() string {
	if c == nil {
		return "cookie.Codec(nil)"
	}
	return fmt.Sprintf("cookie.Codec{KeyIDs:%q, Secrets:%s}", c.ids, redacted)
}

// GoString is String, so that the %#v verb does not print the expanded keys.
func (c *Codec) GoString() string { return c.String() }

// LogValue implements slog.LogValuer, logging only the key IDs.
func (c *Codec) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.Any("key_ids", c.ids), slog.String("secrets", redacted))
}
