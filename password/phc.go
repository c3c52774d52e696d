package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file reads and writes argon2id hashes in the PHC string format
// (github.com/P-H-C/phc-string-format, "Argon2 encoding"):
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//	$argon2id$v=19$m=19456,t=2,p=1,keyid=cGVwcGVy$<salt>$<hash>
//
// Salt and hash are standard base64 without padding. The optional keyid
// parameter marks a hash whose argon2id output was passed through
// HMAC-SHA256 keyed with the Hasher's pepper (see [Hasher]); its value is the
// base64 of "pepper". The parser is strict: it accepts exactly the encoding
// it produces (parameters in the order m,t,p[,keyid], decimals without
// leading zeros, canonical base64) and nothing else.

const (
	phcID = "argon2id"
	// phcVersion is "v=19", argon2 version 0x13, the only one
	// golang.org/x/crypto/argon2 computes (its Version constant).
	phcVersion = "v=" + "19"
	// pepperKeyID marks a peppered hash; base64("pepper").
	pepperKeyID = "cGVwcGVy"
	// maxEncodedLen bounds the input before any parsing. The longest valid
	// string (10-digit m, 2-digit t and p, keyid, 48-byte salt, 64-byte
	// hash) is well under it.
	maxEncodedLen = 256
)

// b64 is the PHC "B64" encoding: standard alphabet, no padding, and (Strict)
// no non-zero trailing bits, so that every value has a single encoding.
var b64 = base64.RawStdEncoding.Strict()

// phc is a parsed argon2id hash string.
type phc struct {
	memory   uint32
	time     uint32
	threads  uint8
	peppered bool
	salt     []byte
	hash     []byte
}

// encode returns the PHC string of h.
func (h phc) encode() string {
	var b strings.Builder
	b.Grow(64 + b64.EncodedLen(len(h.salt)) + b64.EncodedLen(len(h.hash)))
	b.WriteString("$" + phcID + "$" + phcVersion + "$m=")
	b.WriteString(strconv.FormatUint(uint64(h.memory), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(h.time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(h.threads), 10))
	if h.peppered {
		b.WriteString(",keyid=" + pepperKeyID)
	}
	b.WriteString("$")
	b.WriteString(b64.EncodeToString(h.salt))
	b.WriteString("$")
	b.WriteString(b64.EncodeToString(h.hash))
	return b.String()
}

// parsePHC parses and bounds-checks an argon2id PHC string. Every error wraps
// [ErrInvalidHash]; the detail names the problem but never echoes the input.
func parsePHC(s string) (phc, error) {
	h, err := parsePHCFields(s)
	if err != nil {
		return phc{}, fmt.Errorf("%w: %v", ErrInvalidHash, err)
	}
	return h, nil
}

func parsePHCFields(s string) (phc, error) {
	var h phc
	if len(s) > maxEncodedLen {
		return h, fmt.Errorf("longer than %d bytes", maxEncodedLen)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return h, errors.New("want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[1] != phcID {
		return h, errors.New("unsupported algorithm, want argon2id")
	}
	if parts[2] != phcVersion {
		return h, errors.New("unsupported version, want v=19")
	}
	if err := h.parseParams(parts[3]); err != nil {
		return h, err
	}
	var err error
	if h.salt, err = decodeB64("salt", parts[4], minSaltLen, maxSaltLen); err != nil {
		return h, err
	}
	if h.hash, err = decodeB64("hash", parts[5], minKeyLen, maxKeyLen); err != nil {
		return h, err
	}
	if h.peppered && len(h.hash) > maxPepperedKeyLen {
		return h, fmt.Errorf("peppered hash longer than %d bytes", maxPepperedKeyLen)
	}
	return h, nil
}

// parseParams parses "m=…,t=…,p=…" with an optional ",keyid=…", in that
// order, and checks the costs against the bounds.
func (h *phc) parseParams(s string) error {
	fields := strings.Split(s, ",")
	if len(fields) != 3 && len(fields) != 4 {
		return errors.New("want parameters m,t,p[,keyid]")
	}
	m, err := parseParam(fields[0], "m", 10)
	if err != nil {
		return err
	}
	t, err := parseParam(fields[1], "t", 10)
	if err != nil {
		return err
	}
	p, err := parseParam(fields[2], "p", 3)
	if err != nil {
		return err
	}
	if p > 255 {
		return errors.New("p above 255")
	}
	if len(fields) == 4 {
		if fields[3] != "keyid="+pepperKeyID {
			return errors.New("unsupported keyid or parameter")
		}
		h.peppered = true
	}
	h.memory, h.time, h.threads = m, t, uint8(p)
	return checkCost(h.memory, h.time, h.threads)
}

// parseParam parses "name=decimal" where decimal is the PHC decimal encoding
// of a non-negative integer: ASCII digits only, no sign, no leading zero, at
// most maxDigits digits, and within uint32.
func parseParam(field, name string, maxDigits int) (uint32, error) {
	v, ok := strings.CutPrefix(field, name+"=")
	if !ok {
		return 0, fmt.Errorf("want parameter %s", name)
	}
	if v == "" || len(v) > maxDigits || (len(v) > 1 && v[0] == '0') {
		return 0, fmt.Errorf("%s is not a canonical decimal", name)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Errorf("%s is not a canonical decimal", name)
		}
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s out of range", name)
	}
	return uint32(n), nil
}

// decodeB64 decodes a PHC B64 field and checks its decoded length.
func decodeB64(name, s string, minLen, maxLen uint32) ([]byte, error) {
	if len(s) > b64.EncodedLen(int(maxLen)) {
		return nil, fmt.Errorf("%s longer than %d bytes", name, maxLen)
	}
	// The base64 decoder skips \r and \n; the PHC alphabet has neither.
	for i := 0; i < len(s); i++ {
		if !isB64Char(s[i]) {
			return nil, fmt.Errorf("%s is not canonical unpadded base64", name)
		}
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not canonical unpadded base64", name)
	}
	if n := uint32(len(b)); n < minLen || n > maxLen {
		return nil, fmt.Errorf("%s is %d bytes, want %d to %d", name, n, minLen, maxLen)
	}
	return b, nil
}

func isB64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}
