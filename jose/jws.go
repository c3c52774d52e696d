package jose

import (
	"strings"
	"sync"
	"unsafe"
)

// DefaultMaxTokenSize is the largest token accepted unless a verifier sets
// its own limit: 8 KiB.
const DefaultMaxTokenSize = 8 << 10

// maxSignatureSize bounds decoded signatures (RSA 8192 bits).
const maxSignatureSize = 1024

// Header is the protected header of a verified JWS: the members this
// package reads. Other members are ignored, except those it refuses (crit,
// jwk, jku, x5u, x5c, enc, zip, b64).
type Header struct {
	Algorithm   Algorithm // alg: always equal to the verifying key's algorithm
	KeyID       string    // kid, "" when absent
	Type        string    // typ, "" when absent
	ContentType string    // cty, "" when absent
}

// SignOptions are the optional header members of a signature. The zero
// value signs with only alg and kid.
type SignOptions struct {
	// Type is the typ header, e.g. "at+jwt" (RFC 9068). Empty: omitted for
	// [Sign]; "JWT" for [SignJWT].
	Type string
	// ContentType is the cty header. Empty: omitted.
	ContentType string
	// OmitKeyID leaves kid out of the header. Default false: the key's kid
	// is always written, so verifiers can select the key.
	OmitKeyID bool
}

// Sign returns the compact JWS (RFC 7515 §7.1) of payload signed with key.
// The header holds alg (the key's), kid unless omitted, and typ and cty when
// set, in that order. ECDSA signatures are deterministic (RFC 6979).
func Sign(key *Key, payload []byte, opts SignOptions) (string, error) {
	return signCompact(key, payload, opts)
}

func appendHeader(b []byte, key *Key, opts SignOptions) ([]byte, bool) {
	ok, ok2 := true, true
	b = append(b, `{"alg":"`...)
	b = append(b, key.alg...)
	b = append(b, '"')
	if !opts.OmitKeyID && key.kid != "" {
		b, ok = appendStringMember(b, "kid", key.kid)
	}
	if opts.Type != "" {
		b, ok2 = appendStringMember(b, "typ", opts.Type)
		ok = ok && ok2
	}
	if opts.ContentType != "" {
		b, ok2 = appendStringMember(b, "cty", opts.ContentType)
		ok = ok && ok2
	}
	return append(b, '}'), ok
}

type signScratch struct {
	header  []byte
	payload []byte
	sig     []byte
}

var signPool = sync.Pool{New: func() any { return &signScratch{} }}

func signCompact(key *Key, payload []byte, opts SignOptions) (string, error) {
	if key == nil || !key.CanSign() {
		return "", errorf(ErrInvalidKey, "key cannot sign (public key, or use/key_ops without sign)")
	}
	sc := signPool.Get().(*signScratch)
	defer signPool.Put(sc)
	var ok bool
	sc.header, ok = appendHeader(sc.header[:0], key, opts)
	if !ok {
		return "", errorf(ErrMalformed, "header value is not valid UTF-8")
	}
	sigLen := 512
	if key.alg.family() == famHMAC || key.alg.family() == famEdDSA || key.alg.family() == famECDSA {
		sigLen = 132
	}
	n := b64EncodedLen(len(sc.header)) + 1 + b64EncodedLen(len(payload))
	out := make([]byte, 0, n+1+b64EncodedLen(sigLen))
	out = b64EncodeAppend(out, sc.header)
	out = append(out, '.')
	out = b64EncodeAppend(out, payload)
	var err error
	sc.sig, err = key.sign(sc.sig[:0], out)
	if err != nil {
		return "", err
	}
	out = append(out, '.')
	out = b64EncodeAppend(out, sc.sig)
	// out is never written again, so the string may share its memory.
	return unsafe.String(unsafe.SliceData(out), len(out)), nil
}

// Verify verifies a compact JWS with the key that keys resolves for its
// kid, and returns the payload and header. The algorithm is the key's; a
// header alg that differs, or "none" in any letter case, is rejected. The
// token must be at most [DefaultMaxTokenSize] bytes: see [VerifyLimit].
//
// Verify checks the signature only. For a JWT, use a [Verifier], which also
// validates the claims.
func Verify(token string, keys KeyResolver) ([]byte, Header, error) {
	return VerifyLimit(token, keys, DefaultMaxTokenSize)
}

// VerifyLimit is [Verify] with a maximum token size in bytes.
func VerifyLimit(token string, keys KeyResolver, maxSize int) ([]byte, Header, error) {
	var t verifiedToken
	if err := verifyCompact(token, keys, maxSize, &t); err != nil {
		return nil, Header{}, err
	}
	h := Header{Algorithm: t.key.alg, KeyID: t.header.kid, Type: t.header.typ, ContentType: t.header.cty}
	return []byte(t.payload), h, nil
}

// rawHeader holds the header members read while verifying; its strings
// are substrings of the decoded token text.
type rawHeader struct {
	alg, kid, typ, cty string
	hasAlg, hasTyp     bool
}

type verifiedToken struct {
	header  rawHeader
	payload string
	key     *Key
}

// verifyCompact splits, decodes and verifies a compact JWS. The decoded
// header and payload share one allocation.
func verifyCompact(token string, keys KeyResolver, maxSize int, t *verifiedToken) error {
	if maxSize <= 0 {
		maxSize = DefaultMaxTokenSize
	}
	if len(token) > maxSize {
		return errTooLarge
	}
	dot1 := strings.IndexByte(token, '.')
	if dot1 < 0 {
		if strings.HasPrefix(strings.TrimLeft(token, " \t\r\n"), "{") {
			return errJSONSerial
		}
		return errSegments
	}
	dot2 := strings.IndexByte(token[dot1+1:], '.')
	if dot2 < 0 {
		return errSegments
	}
	dot2 += dot1 + 1
	if extra := strings.Count(token[dot2+1:], "."); extra != 0 {
		if extra == 2 {
			return errJWE
		}
		return errSegments
	}
	hb, pb, sb := token[:dot1], token[dot1+1:dot2], token[dot2+1:]
	hlen, plen, slen := b64DecodedLen(len(hb)), b64DecodedLen(len(pb)), b64DecodedLen(len(sb))
	switch {
	case hlen < 0:
		return errHeaderB64
	case plen < 0:
		return errPayloadB64
	case slen < 0:
		return errSignatureB64
	}
	buf := make([]byte, 0, hlen+plen)
	buf, ok := b64DecodeAppend(buf, hb)
	if !ok {
		return errHeaderB64
	}
	buf, ok = b64DecodeAppend(buf, pb)
	if !ok {
		return errPayloadB64
	}
	var sigBuf [maxSignatureSize]byte
	if slen > len(sigBuf) {
		return errBadSignature
	}
	sig, ok := b64DecodeAppend(sigBuf[:0], sb)
	if !ok {
		return errSignatureB64
	}
	// buf is never written again, so the string may share its memory.
	text := unsafe.String(unsafe.SliceData(buf), len(buf))
	if err := parseHeader(text[:hlen], &t.header); err != nil {
		return err
	}
	alg := algFromHeader(t.header.alg)
	if alg == "" {
		if isNone(t.header.alg) {
			return errAlgNone
		}
		return errAlgUnknown
	}
	key, err := keys.ResolveKey(t.header.kid)
	if err != nil {
		return err
	}
	if key.alg != alg {
		return errAlgMismatch
	}
	if !key.CanVerify() {
		return errKeyCannotVerify
	}
	input := token[:dot2]
	if !key.verify(unsafe.Slice(unsafe.StringData(input), len(input)), sig) {
		return errBadSignature
	}
	t.payload = text[hlen:]
	t.key = key
	return nil
}

// parseHeader reads a protected header strictly (SEC-18, SEC-24).
func parseHeader(s string, h *rawHeader) error {
	sc := scanner{s: s}
	var names nameSet
	it := sc.object()
	for {
		name, more, ok := it.next()
		if !ok {
			return errHeaderJSON
		}
		if !more {
			break
		}
		if !names.add(name) {
			return errDuplicate
		}
		var dst *string
		switch name {
		case "alg":
			dst, h.hasAlg = &h.alg, true
		case "kid":
			dst = &h.kid
		case "typ":
			dst, h.hasTyp = &h.typ, true
		case "cty":
			dst = &h.cty
		case "crit":
			return errCrit
		case "jwk", "jku", "x5u", "x5c":
			return errEmbeddedKey
		case "enc", "zip":
			return errJWEHeader
		case "b64":
			return errB64Header
		default:
			if _, ok := sc.value(1); !ok {
				return errHeaderJSON
			}
			continue
		}
		if sc.peek() != '"' {
			if _, ok := sc.value(1); !ok {
				return errHeaderJSON
			}
			return errHeaderType
		}
		v, ok := sc.str()
		if !ok {
			return errHeaderJSON
		}
		*dst = v
	}
	if !sc.atEnd() {
		return errHeaderJSON
	}
	if !h.hasAlg {
		return errNoAlg
	}
	return nil
}
