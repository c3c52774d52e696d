package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"fmt"
	"hash"
	"log/slog"
	"math/big"
	"sync"
)

// MinRSABits is the smallest RSA modulus a [Key] accepts.
const MinRSABits = 2048

// Key is a signing or verification key pinned to one [Algorithm]. The
// algorithm used to verify a token always comes from the key, never from the
// token header; a header alg that differs is rejected.
//
// A Key is immutable and safe for concurrent use. Keys holding private or
// secret material redact themselves in String, GoString and LogValue. Its
// MarshalJSON writes the public JWK only (and fails for HMAC keys); private
// material leaves only through [Key.MarshalPrivateJWK].
type Key struct {
	kid string
	alg Algorithm
	ops keyOps

	secret  []byte // HMAC
	rsaPub  *rsa.PublicKey
	rsaPriv *rsa.PrivateKey
	ecPub   *ecdsa.PublicKey
	ecPriv  *ecdsa.PrivateKey
	edPub   ed25519.PublicKey
	edPriv  ed25519.PrivateKey

	macs *sync.Pool // of *macState, HMAC keys only
}

type keyOps uint8

const (
	opSign keyOps = 1 << iota
	opVerify
)

type macState struct {
	h   hash.Hash
	sum [64]byte
}

// NewKey returns a key for alg holding material:
//
//   - HS256/384/512: a []byte secret of at least the hash size (32, 48 or
//     64 bytes), which should come from a CSPRNG and never be a password;
//   - RS*, PS*: *rsa.PrivateKey or *rsa.PublicKey of at least 2048 bits;
//   - ES256/384/512: *ecdsa.PrivateKey or *ecdsa.PublicKey on P-256, P-384
//     or P-521 respectively;
//   - EdDSA: ed25519.PrivateKey or ed25519.PublicKey.
//
// An empty kid is replaced by the key's RFC 7638 thumbprint. The secret of
// an HMAC key is copied.
func NewKey(alg Algorithm, material any, kid string) (*Key, error) {
	k := &Key{alg: alg, kid: kid, ops: opSign | opVerify}
	if err := k.setMaterial(material); err != nil {
		return nil, err
	}
	if !k.CanSign() {
		k.ops = opVerify
	}
	if k.kid == "" {
		k.kid = k.Thumbprint()
	}
	return k, nil
}

func (k *Key) setMaterial(material any) error {
	fam := k.alg.family()
	if fam == famNone {
		if isNone(string(k.alg)) {
			return errorf(ErrAlgorithm, "alg none is never accepted")
		}
		return errorf(ErrAlgorithm, "unknown alg")
	}
	mismatch := errorf(ErrInvalidKey, fmt.Sprintf("%T is not a key for %s", material, k.alg))
	switch m := material.(type) {
	case []byte:
		if fam != famHMAC {
			return mismatch
		}
		if len(m) < k.alg.hash().Size() {
			return errorf(ErrInvalidKey, fmt.Sprintf("%s secret has %d bytes, want at least %d", k.alg, len(m), k.alg.hash().Size()))
		}
		k.secret = append([]byte(nil), m...)
		secret, hf := k.secret, k.alg.hash().New
		k.macs = &sync.Pool{New: func() any { return &macState{h: hmac.New(hf, secret)} }}
	case *rsa.PrivateKey:
		if fam != famRSA && fam != famPSS {
			return mismatch
		}
		if err := checkRSA(&m.PublicKey); err != nil {
			return err
		}
		if len(m.Primes) != 2 {
			return errorf(ErrInvalidKey, "multi-prime RSA keys are not supported")
		}
		if err := m.Validate(); err != nil {
			return errorf(ErrInvalidKey, "inconsistent RSA private key")
		}
		m.Precompute()
		k.rsaPriv, k.rsaPub = m, &m.PublicKey
	case *rsa.PublicKey:
		if fam != famRSA && fam != famPSS {
			return mismatch
		}
		if err := checkRSA(m); err != nil {
			return err
		}
		k.rsaPub = m
	case *ecdsa.PrivateKey:
		if fam != famECDSA || m.Curve != curveFor(k.alg) {
			return mismatch
		}
		if _, err := m.Bytes(); err != nil {
			return errorf(ErrInvalidKey, "invalid ECDSA private key")
		}
		k.ecPriv, k.ecPub = m, &m.PublicKey
	case *ecdsa.PublicKey:
		if fam != famECDSA || m.Curve != curveFor(k.alg) {
			return mismatch
		}
		if _, err := m.Bytes(); err != nil {
			return errorf(ErrInvalidKey, "ECDSA public key is not a point on its curve")
		}
		k.ecPub = m
	case ed25519.PrivateKey:
		if fam != famEdDSA || len(m) != ed25519.PrivateKeySize {
			return mismatch
		}
		k.edPriv, k.edPub = m, m.Public().(ed25519.PublicKey)
	case ed25519.PublicKey:
		if fam != famEdDSA || len(m) != ed25519.PublicKeySize {
			return mismatch
		}
		k.edPub = m
	default:
		return mismatch
	}
	return nil
}

func checkRSA(pub *rsa.PublicKey) error {
	if pub.N == nil || pub.N.BitLen() < MinRSABits {
		return errorf(ErrInvalidKey, fmt.Sprintf("RSA keys under %d bits are refused", MinRSABits))
	}
	if pub.E < 3 || pub.E&1 == 0 {
		return errorf(ErrInvalidKey, "RSA public exponent must be odd and at least 3")
	}
	if rocaFingerprint(pub.N) {
		return errorf(ErrInvalidKey, "RSA modulus has the ROCA (CVE-2017-15361) fingerprint")
	}
	return nil
}

func curveFor(alg Algorithm) elliptic.Curve {
	switch alg {
	case ES256:
		return elliptic.P256()
	case ES384:
		return elliptic.P384()
	case ES512:
		return elliptic.P521()
	}
	return nil
}

func coordSize(c elliptic.Curve) int { return (c.Params().BitSize + 7) / 8 }

// GenerateKey returns a new private key for alg from crypto/rand: a 64-byte
// secret for HMAC (more than any hash size), a 2048-bit modulus for RSA
// (3072 for RS384/PS384, 4096 for RS512/PS512), the algorithm's curve for
// ECDSA, Ed25519 for EdDSA. An empty kid becomes the RFC 7638 thumbprint.
func GenerateKey(alg Algorithm, kid string) (*Key, error) {
	var material any
	var err error
	switch alg.family() {
	case famHMAC:
		b := make([]byte, 64)
		rand.Read(b)
		material = b
	case famRSA, famPSS:
		bits := map[crypto.Hash]int{crypto.SHA256: 2048, crypto.SHA384: 3072, crypto.SHA512: 4096}[alg.hash()]
		material, err = rsa.GenerateKey(rand.Reader, bits)
	case famECDSA:
		material, err = ecdsa.GenerateKey(curveFor(alg), rand.Reader)
	case famEdDSA:
		_, material, err = ed25519.GenerateKey(rand.Reader)
	default:
		return NewKey(alg, nil, kid)
	}
	if err != nil {
		return nil, fmt.Errorf("jose: generate %s key: %w", alg, err)
	}
	return NewKey(alg, material, kid)
}

// KID returns the key ID.
func (k *Key) KID() string { return k.kid }

// Algorithm returns the one algorithm this key signs and verifies with.
func (k *Key) Algorithm() Algorithm { return k.alg }

// CanSign reports whether the key holds private or secret material and may
// sign.
func (k *Key) CanSign() bool {
	return k.ops&opSign != 0 && (k.secret != nil || k.rsaPriv != nil || k.ecPriv != nil || k.edPriv != nil)
}

// CanVerify reports whether the key may verify (its use or key_ops allow it).
func (k *Key) CanVerify() bool { return k.ops&opVerify != 0 }

// IsSymmetric reports whether the key is an HMAC secret.
func (k *Key) IsSymmetric() bool { return k.secret != nil }

// Public returns the key's public part with the same kid and algorithm, or
// k itself when it is already public. HMAC keys have no public part: Public
// returns nil for them.
func (k *Key) Public() *Key {
	switch {
	case k.secret != nil:
		return nil
	case k.rsaPriv == nil && k.ecPriv == nil && k.edPriv == nil:
		return k
	}
	return &Key{kid: k.kid, alg: k.alg, ops: opVerify, rsaPub: k.rsaPub, ecPub: k.ecPub, edPub: k.edPub}
}

// CryptoPublicKey returns the standard-library public key (*rsa.PublicKey,
// *ecdsa.PublicKey or ed25519.PublicKey), or nil for HMAC keys.
func (k *Key) CryptoPublicKey() crypto.PublicKey {
	switch {
	case k.rsaPub != nil:
		return k.rsaPub
	case k.ecPub != nil:
		return k.ecPub
	case k.edPub != nil:
		return k.edPub
	}
	return nil
}

// String describes the key without its secret or private material.
func (k *Key) String() string {
	kind := "public"
	switch {
	case k.secret != nil:
		kind = "secret [REDACTED]"
	case k.CanSign():
		kind = "private [REDACTED]"
	}
	return fmt.Sprintf("jose.Key{kid=%q alg=%s %s}", k.kid, k.alg, kind)
}

// GoString is String, so that %#v cannot print the secret either.
func (k *Key) GoString() string { return k.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (k *Key) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

// LogValue implements slog.LogValuer without the secret or private material.
func (k *Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", k.kid), slog.String("alg", string(k.alg)), slog.Bool("private", k.CanSign()))
}

// ResolveKey implements [KeyResolver] for a single key: it matches a token
// with no kid or with the key's kid.
func (k *Key) ResolveKey(kid string) (*Key, error) {
	if kid != "" && kid != k.kid {
		return nil, errNoKey
	}
	return k, nil
}

// verify checks sig over the signing input. The caller has already checked
// that the header alg equals k.alg.
func (k *Key) verify(input, sig []byte) bool {
	switch k.alg.family() {
	case famHMAC:
		m := k.macs.Get().(*macState)
		m.h.Reset()
		m.h.Write(input)
		sum := m.h.Sum(m.sum[:0])
		ok := len(sig) == len(sum) && subtle.ConstantTimeCompare(sum, sig) == 1
		k.macs.Put(m)
		return ok
	case famRSA:
		var d [64]byte
		digest := hashInto(d[:0], k.alg.hash(), input)
		return rsa.VerifyPKCS1v15(k.rsaPub, k.alg.hash(), digest, sig) == nil
	case famPSS:
		var d [64]byte
		digest := hashInto(d[:0], k.alg.hash(), input)
		return rsa.VerifyPSS(k.rsaPub, k.alg.hash(), digest, sig, &pssOptions) == nil
	case famECDSA:
		var d [64]byte
		digest := hashInto(d[:0], k.alg.hash(), input)
		return verifyECDSA(k.ecPub, digest, sig)
	case famEdDSA:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(k.edPub, input, sig)
	}
	return false
}

var pssOptions = rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}

// sign appends the signature of input to dst.
func (k *Key) sign(dst, input []byte) ([]byte, error) {
	if !k.CanSign() {
		return nil, errorf(ErrInvalidKey, "key cannot sign (public key, or use/key_ops without sign)")
	}
	switch k.alg.family() {
	case famHMAC:
		m := k.macs.Get().(*macState)
		m.h.Reset()
		m.h.Write(input)
		dst = m.h.Sum(dst)
		k.macs.Put(m)
		return dst, nil
	case famRSA:
		var d [64]byte
		sig, err := rsa.SignPKCS1v15(nil, k.rsaPriv, k.alg.hash(), hashInto(d[:0], k.alg.hash(), input))
		if err != nil {
			return nil, fmt.Errorf("jose: sign: %w", err)
		}
		return append(dst, sig...), nil
	case famPSS:
		var d [64]byte
		sig, err := rsa.SignPSS(rand.Reader, k.rsaPriv, k.alg.hash(), hashInto(d[:0], k.alg.hash(), input), &pssOptions)
		if err != nil {
			return nil, fmt.Errorf("jose: sign: %w", err)
		}
		return append(dst, sig...), nil
	case famECDSA:
		var d [64]byte
		// A nil random source selects RFC 6979 deterministic signatures (SEC-23).
		der, err := k.ecPriv.Sign(nil, hashInto(d[:0], k.alg.hash(), input), k.alg.hash())
		if err != nil {
			return nil, fmt.Errorf("jose: sign: %w", err)
		}
		return derToP1363(dst, der, coordSize(k.ecPriv.Curve))
	case famEdDSA:
		return append(dst, ed25519.Sign(k.edPriv, input)...), nil
	}
	return nil, errAlgUnknown
}

func hashInto(dst []byte, h crypto.Hash, data []byte) []byte {
	switch h {
	case crypto.SHA256:
		s := sha256Sum(data)
		return append(dst, s[:]...)
	case crypto.SHA384:
		s := sha384Sum(data)
		return append(dst, s[:]...)
	default:
		s := sha512Sum(data)
		return append(dst, s[:]...)
	}
}

// verifyECDSA checks a JWS ECDSA signature: exactly r‖s, each the size of
// the curve's coordinates (RFC 7518 §3.4). The fixed-size halves are turned
// into the ASN.1 form the standard library verifies, on the stack.
func verifyECDSA(pub *ecdsa.PublicKey, digest, sig []byte) bool {
	n := coordSize(pub.Curve)
	if len(sig) != 2*n {
		return false
	}
	var buf [2*66 + 16]byte
	der := p1363ToDER(buf[:0], sig[:n], sig[n:])
	return ecdsa.VerifyASN1(pub, digest, der)
}

func p1363ToDER(dst, r, s []byte) []byte {
	r, s = trimInt(r), trimInt(s)
	rl, sl := derIntLen(r), derIntLen(s)
	body := 2 + rl + 2 + sl
	dst = append(dst, 0x30)
	if body >= 0x80 {
		dst = append(dst, 0x81)
	}
	dst = append(dst, byte(body))
	dst = appendDERInt(dst, r)
	return appendDERInt(dst, s)
}

func trimInt(b []byte) []byte {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

func derIntLen(b []byte) int {
	if b[0]&0x80 != 0 {
		return len(b) + 1
	}
	return len(b)
}

func appendDERInt(dst, b []byte) []byte {
	dst = append(dst, 0x02, byte(derIntLen(b)))
	if b[0]&0x80 != 0 {
		dst = append(dst, 0)
	}
	return append(dst, b...)
}

// derToP1363 converts the standard library's ASN.1 ECDSA signature to the
// fixed-size r‖s form.
func derToP1363(dst, der []byte, size int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	r, s, ok := parseDERSig(der)
	if !ok {
		return nil, errorf(ErrSignature, "unexpected ECDSA signature encoding")
	}
	sig.R, sig.S = r, s
	out := make([]byte, 2*size)
	sig.R.FillBytes(out[:size])
	sig.S.FillBytes(out[size:])
	return append(dst, out...), nil
}

func parseDERSig(der []byte) (r, s *big.Int, ok bool) {
	// SEQUENCE { INTEGER r, INTEGER s } as produced by crypto/ecdsa.
	if len(der) < 2 || der[0] != 0x30 {
		return nil, nil, false
	}
	i := 2
	if der[1] == 0x81 {
		i = 3
	}
	readInt := func() *big.Int {
		if i+2 > len(der) || der[i] != 0x02 {
			return nil
		}
		l := int(der[i+1])
		i += 2
		if i+l > len(der) {
			return nil
		}
		v := new(big.Int).SetBytes(der[i : i+l])
		i += l
		return v
	}
	r, s = readInt(), readInt()
	return r, s, r != nil && s != nil && i == len(der)
}
