package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a Standard Webhooks request.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts a symmetric Standard Webhooks secret: "whsec_"
// followed by the base64 of the key.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a webhook-timestamp may be from the
// receiver's clock, either way, for [Verify] to accept the request.
const DefaultTolerance = 5 * time.Minute

// minSecretBytes is the shortest key [ParseSecret] accepts for signing.
// The specification asks for 24 to 64 bytes; its published example key
// is 24.
const minSecretBytes = 24

// maxSecretBytes is the longest.
const maxSecretBytes = 64

// ParseSecret decodes a "whsec_<base64>" secret into its key. The base64
// may be standard or URL-safe, padded or not. The error never holds the
// secret.
func ParseSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, SecretPrefix) {
		return nil, errors.New("a webhook secret starts with whsec_ (whsec_ then the base64 of 24 to 64 random bytes)")
	}
	b64 := strings.TrimRight(strings.TrimPrefix(s, SecretPrefix), "=")
	key, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		key, err = base64.RawURLEncoding.DecodeString(b64)
	}
	if err != nil {
		return nil, errors.New("a webhook secret is whsec_ then base64: this one's base64 does not decode")
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, fmt.Errorf("a webhook secret's key must be %d to %d bytes, this one has %d", minSecretBytes, maxSecretBytes, len(key))
	}
	return key, nil
}

// NewSecret returns a new random secret, "whsec_" and the base64 of 32
// bytes from crypto/rand.
func NewSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("webhook: crypto/rand failed: " + err.Error())
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// signature is the v1 signature of the message: the base64 of
// HMAC-SHA256(key, id "." timestamp "." body).
func signature(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Sign returns the value of the webhook-signature header for the message:
// one "v1,<base64>" per key, separated by spaces. During a rotation an
// endpoint has two keys, the new and the old, and the receiver accepts
// the request when either verifies.
func Sign(keys [][]byte, id string, ts time.Time, body []byte) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = "v1," + signature(k, id, ts.Unix(), body)
	}
	return strings.Join(parts, " ")
}

// SetHeaders sets the three Standard Webhooks headers of a request.
func SetHeaders(h http.Header, keys [][]byte, id string, ts time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, Sign(keys, id, ts, body))
}

// Errors of [Verify]. They name what is wrong, never a secret.
var (
	ErrMissingHeaders = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrBadTimestamp   = errors.New("webhook: webhook-timestamp is not a number of seconds")
	ErrTooOld         = errors.New("webhook: webhook-timestamp is older than the tolerance")
	ErrTooNew         = errors.New("webhook: webhook-timestamp is further in the future than the tolerance")
	ErrNoMatch        = errors.New("webhook: no signature matches")
)

// Verify is the receiver's check of a Standard Webhooks request: secrets
// are the endpoint's "whsec_..." secrets (two during a rotation), header
// the request's headers and body its raw body, exactly as received (not
// parsed and encoded again). It returns nil when one v1 signature of the
// webhook-signature header is the HMAC-SHA256 of "id.timestamp.body" with
// one of the secrets, compared in constant time, and the timestamp is
// within [DefaultTolerance] of now. Signatures of other versions (v1a)
// are ignored. Use the webhook-id as an idempotency key: deliveries are at
// least once.
func Verify(secrets []string, header http.Header, body []byte, now time.Time) error {
	return VerifyTolerance(secrets, header, body, now, DefaultTolerance)
}

// VerifyTolerance is [Verify] with another tolerance.
func VerifyTolerance(secrets []string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsText, sigs := header.Get(HeaderID), header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	at := time.Unix(ts, 0)
	if now.Sub(at) > tolerance {
		return ErrTooOld
	}
	if at.Sub(now) > tolerance {
		return ErrTooNew
	}
	keys := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		k, err := decodeForVerify(s)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	for _, k := range keys {
		want := []byte(signature(k, id, ts, body))
		for _, sig := range strings.Fields(sigs) {
			version, value, ok := strings.Cut(sig, ",")
			if !ok || version != "v1" {
				continue
			}
			if hmac.Equal([]byte(value), want) {
				return nil
			}
		}
	}
	return ErrNoMatch
}

// decodeForVerify decodes a secret for Verify: the whsec_ prefix is
// optional there (receivers are given secrets in either form), and any
// key length is accepted.
func decodeForVerify(s string) ([]byte, error) {
	b64 := strings.TrimRight(strings.TrimPrefix(strings.TrimSpace(s), SecretPrefix), "=")
	k, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		k, err = base64.RawURLEncoding.DecodeString(b64)
	}
	if err != nil || len(k) == 0 {
		return nil, errors.New("webhook: a secret is not whsec_ then base64")
	}
	return k, nil
}
