package jose

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"math/big"
)

// ParseJWK parses one JSON Web Key (RFC 7517) with the strict JSON rules of
// this package. The key's algorithm comes from its "alg" member or, for EC
// and OKP keys, from the curve (P-256 → ES256, P-384 → ES384, P-521 → ES512,
// Ed25519 → EdDSA); RSA and oct keys without "alg" need [ParseJWKAs].
//
// The key is refused when it is for encryption ("use": "enc", or "key_ops"
// without "sign" or "verify"), when its material is invalid (a point off its
// curve, coordinates of the wrong length, an RSA modulus under 2048 bits or
// with the ROCA fingerprint, an HMAC secret shorter than the hash, an
// inconsistent private key), or when "alg" does not fit "kty" and "crv".
// Members "x5c", "x5u" and the like are ignored, never followed. A missing
// "kid" becomes the RFC 7638 thumbprint.
func ParseJWK(data []byte) (*Key, error) { return parseJWK(string(data), "") }

// ParseJWKAs is [ParseJWK] for a key whose "alg" may be absent: alg is used
// then. A key whose "alg" differs from alg is refused.
func ParseJWKAs(data []byte, alg Algorithm) (*Key, error) { return parseJWK(string(data), alg) }

type jwkFields struct {
	kty, kid, use, alg, crv            string
	n, e, d, p, q, dp, dq, qi, x, y, k *string
	ops                                []string
	hasOps                             bool
}

func readJWKFields(sc *scanner, f *jwkFields) error {
	bad := errorf(ErrInvalidKey, "jwk is not a strict JSON object")
	var names nameSet
	it := sc.object()
	for {
		name, more, ok := it.next()
		if !ok {
			return bad
		}
		if !more {
			return nil
		}
		if !names.add(name) {
			return errorf(ErrInvalidKey, "jwk has a duplicate member name")
		}
		var dst *string
		var opt **string
		switch name {
		case "kty":
			dst = &f.kty
		case "kid":
			dst = &f.kid
		case "use":
			dst = &f.use
		case "alg":
			dst = &f.alg
		case "crv":
			dst = &f.crv
		case "n":
			opt = &f.n
		case "e":
			opt = &f.e
		case "d":
			opt = &f.d
		case "p":
			opt = &f.p
		case "q":
			opt = &f.q
		case "dp":
			opt = &f.dp
		case "dq":
			opt = &f.dq
		case "qi":
			opt = &f.qi
		case "x":
			opt = &f.x
		case "y":
			opt = &f.y
		case "k":
			opt = &f.k
		case "key_ops":
			ops, ok := sc.stringArray()
			if !ok {
				return errorf(ErrInvalidKey, "jwk key_ops is not an array of strings")
			}
			f.ops, f.hasOps = ops, true
			continue
		case "oth":
			return errorf(ErrInvalidKey, "multi-prime RSA keys (oth) are not supported")
		default:
			if _, ok := sc.value(1); !ok {
				return bad
			}
			continue
		}
		v, ok := sc.str()
		if !ok {
			return errorf(ErrInvalidKey, fmt.Sprintf("jwk member %s is not a string", name))
		}
		if dst != nil {
			*dst = v
		} else {
			*opt = &v
		}
	}
}

func parseJWK(s string, defaultAlg Algorithm) (*Key, error) {
	sc := scanner{s: s}
	var f jwkFields
	if err := readJWKFields(&sc, &f); err != nil {
		return nil, err
	}
	if !sc.atEnd() {
		return nil, errorf(ErrInvalidKey, "jwk has trailing data")
	}
	return keyFromFields(&f, defaultAlg)
}

func keyFromFields(f *jwkFields, defaultAlg Algorithm) (*Key, error) {
	ops, err := jwkOps(f)
	if err != nil {
		return nil, err
	}
	alg := Algorithm(f.alg)
	switch {
	case alg == "" && defaultAlg != "":
		alg = defaultAlg
	case alg != "" && defaultAlg != "" && alg != defaultAlg:
		return nil, errorf(ErrInvalidKey, fmt.Sprintf("jwk alg %s differs from the expected %s", alg, defaultAlg))
	}
	if alg == "" {
		alg = algForCurve(f.kty, f.crv)
		if alg == "" {
			return nil, errorf(ErrInvalidKey, "jwk has no alg, and its kty does not determine one")
		}
	}
	if !alg.Valid() {
		return nil, errorf(ErrInvalidKey, "jwk alg is not a supported JWS algorithm")
	}
	material, err := jwkMaterial(f, alg)
	if err != nil {
		return nil, err
	}
	k := &Key{alg: alg, kid: f.kid, ops: ops}
	if err := k.setMaterial(material); err != nil {
		return nil, err
	}
	if !k.CanSign() && !k.CanVerify() {
		return nil, errorf(ErrInvalidKey, "jwk key_ops allow neither signing nor verifying with this key")
	}
	if k.kid == "" {
		k.kid = k.Thumbprint()
	}
	return k, nil
}

func jwkOps(f *jwkFields) (keyOps, error) {
	switch f.use {
	case "", "sig":
	case "enc":
		return 0, errorf(ErrInvalidKey, "jwk is for encryption (use enc)")
	default:
		return 0, errorf(ErrInvalidKey, "jwk has an unknown use")
	}
	if !f.hasOps {
		return opSign | opVerify, nil
	}
	var ops keyOps
	seen := map[string]bool{}
	for _, op := range f.ops {
		if seen[op] {
			return 0, errorf(ErrInvalidKey, "jwk key_ops has a duplicate value")
		}
		seen[op] = true
		switch op {
		case "sign":
			ops |= opSign
		case "verify":
			ops |= opVerify
		}
	}
	if ops == 0 {
		return 0, errorf(ErrInvalidKey, "jwk key_ops has neither sign nor verify")
	}
	return ops, nil
}

func algForCurve(kty, crv string) Algorithm {
	switch {
	case kty == "EC" && crv == "P-256":
		return ES256
	case kty == "EC" && crv == "P-384":
		return ES384
	case kty == "EC" && crv == "P-521":
		return ES512
	case kty == "OKP" && crv == "Ed25519":
		return EdDSA
	}
	return ""
}

func jwkMaterial(f *jwkFields, alg Algorithm) (any, error) {
	wrongKty := errorf(ErrInvalidKey, "jwk kty does not fit its alg")
	switch alg.family() {
	case famHMAC:
		if f.kty != "oct" || f.k == nil {
			return nil, wrongKty
		}
		return jwkBytes("k", f.k, -1)
	case famRSA, famPSS:
		if f.kty != "RSA" || f.n == nil || f.e == nil {
			return nil, wrongKty
		}
		return jwkRSA(f)
	case famECDSA:
		if f.kty != "EC" || algForCurve(f.kty, f.crv) != alg {
			return nil, errorf(ErrInvalidKey, "jwk crv does not fit its alg")
		}
		return jwkEC(f, curveFor(alg))
	case famEdDSA:
		if f.kty != "OKP" || f.crv != "Ed25519" {
			return nil, errorf(ErrInvalidKey, "jwk crv does not fit its alg")
		}
		x, err := jwkBytes("x", f.x, ed25519.PublicKeySize)
		if err != nil {
			return nil, err
		}
		if f.d == nil {
			return ed25519.PublicKey(x), nil
		}
		seed, err := jwkBytes("d", f.d, ed25519.SeedSize)
		if err != nil {
			return nil, err
		}
		priv := ed25519.NewKeyFromSeed(seed)
		if !priv.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(x)) {
			return nil, errorf(ErrInvalidKey, "jwk d does not match x")
		}
		return priv, nil
	}
	return nil, errorf(ErrInvalidKey, "jwk alg is not a supported JWS algorithm")
}

// jwkBytes decodes a base64url member; size -1 accepts any length.
func jwkBytes(name string, v *string, size int) ([]byte, error) {
	if v == nil {
		return nil, errorf(ErrInvalidKey, "jwk lacks member "+name)
	}
	b, ok := b64DecodeString(*v)
	if !ok {
		return nil, errorf(ErrInvalidKey, "jwk member "+name+" is not unpadded base64url")
	}
	if size >= 0 && len(b) != size {
		return nil, errorf(ErrInvalidKey, fmt.Sprintf("jwk member %s has %d bytes, want %d", name, len(b), size))
	}
	return b, nil
}

// jwkUint decodes an unsigned big-endian integer member without leading
// zero octets (RFC 7518 §6.3).
func jwkUint(name string, v *string) (*big.Int, error) {
	b, err := jwkBytes(name, v, -1)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || b[0] == 0 {
		return nil, errorf(ErrInvalidKey, "jwk member "+name+" is empty or has leading zero octets")
	}
	return new(big.Int).SetBytes(b), nil
}

func jwkRSA(f *jwkFields) (any, error) {
	n, err := jwkUint("n", f.n)
	if err != nil {
		return nil, err
	}
	e, err := jwkUint("e", f.e)
	if err != nil {
		return nil, err
	}
	if e.BitLen() > 31 {
		return nil, errorf(ErrInvalidKey, "jwk RSA exponent is too large")
	}
	pub := rsa.PublicKey{N: n, E: int(e.Int64())}
	if f.d == nil {
		if f.p != nil || f.q != nil || f.dp != nil || f.dq != nil || f.qi != nil {
			return nil, errorf(ErrInvalidKey, "jwk has RSA private parameters without d")
		}
		return &pub, nil
	}
	var v [6]*big.Int
	for i, m := range []struct {
		name string
		v    *string
	}{{"d", f.d}, {"p", f.p}, {"q", f.q}, {"dp", f.dp}, {"dq", f.dq}, {"qi", f.qi}} {
		if v[i], err = jwkUint(m.name, m.v); err != nil {
			return nil, err
		}
	}
	if err := checkRSA(&pub); err != nil {
		return nil, err
	}
	priv := &rsa.PrivateKey{PublicKey: pub, D: v[0], Primes: []*big.Int{v[1], v[2]}}
	if err := priv.Validate(); err != nil {
		return nil, errorf(ErrInvalidKey, "inconsistent RSA private key")
	}
	priv.Precompute()
	if priv.Precomputed.Dp.Cmp(v[3]) != 0 || priv.Precomputed.Dq.Cmp(v[4]) != 0 || priv.Precomputed.Qinv.Cmp(v[5]) != 0 {
		return nil, errorf(ErrInvalidKey, "jwk RSA CRT parameters are inconsistent")
	}
	return priv, nil
}

func jwkEC(f *jwkFields, curve elliptic.Curve) (any, error) {
	size := coordSize(curve)
	x, err := jwkBytes("x", f.x, size)
	if err != nil {
		return nil, err
	}
	y, err := jwkBytes("y", f.y, size)
	if err != nil {
		return nil, err
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, errorf(ErrInvalidKey, "jwk EC point is not on its curve")
	}
	if f.d == nil {
		return pub, nil
	}
	d, err := jwkBytes("d", f.d, size)
	if err != nil {
		return nil, err
	}
	priv, err := ecdsa.ParseRawPrivateKey(curve, d)
	if err != nil {
		return nil, errorf(ErrInvalidKey, "jwk EC private scalar is invalid")
	}
	if !priv.PublicKey.Equal(pub) {
		return nil, errorf(ErrInvalidKey, "jwk d does not match x and y")
	}
	return priv, nil
}

// Thumbprint returns the key's RFC 7638 JWK thumbprint: the base64url
// SHA-256 of its required public members in lexicographic order.
func (k *Key) Thumbprint() string {
	b := k.appendThumbprintInput(nil)
	sum := sha256.Sum256(b)
	return b64EncodeToString(sum[:])
}

func (k *Key) appendThumbprintInput(b []byte) []byte {
	b = append(b, '{')
	switch {
	case k.secret != nil:
		b = appendB64Member(b, "k", k.secret)
		b, _ = appendStringMember(b, "kty", "oct")
	case k.rsaPub != nil:
		b = appendB64Member(b, "e", big.NewInt(int64(k.rsaPub.E)).Bytes())
		b, _ = appendStringMember(b, "kty", "RSA")
		b = appendB64Member(b, "n", k.rsaPub.N.Bytes())
	case k.ecPub != nil:
		x, y := ecCoords(k.ecPub)
		b, _ = appendStringMember(b, "crv", k.ecPub.Curve.Params().Name)
		b, _ = appendStringMember(b, "kty", "EC")
		b = appendB64Member(b, "x", x)
		b = appendB64Member(b, "y", y)
	case k.edPub != nil:
		b, _ = appendStringMember(b, "crv", "Ed25519")
		b, _ = appendStringMember(b, "kty", "OKP")
		b = appendB64Member(b, "x", k.edPub)
	}
	return append(b, '}')
}

func ecCoords(pub *ecdsa.PublicKey) (x, y []byte) {
	point, _ := pub.Bytes() // validated at construction
	n := coordSize(pub.Curve)
	return point[1 : 1+n], point[1+n:]
}

// MarshalJSON returns the public JWK of the key, with kid, alg and
// "use": "sig". It fails for HMAC keys, which have no public part: use
// [Key.MarshalPrivateJWK] to export a secret deliberately.
func (k *Key) MarshalJSON() ([]byte, error) {
	if k.secret != nil {
		return nil, errorf(ErrInvalidKey, "an HMAC key has no public JWK; use MarshalPrivateJWK to export the secret")
	}
	return k.appendJWK(nil, false), nil
}

// MarshalPrivateJWK returns the JWK with its private or secret members (d,
// p, q, dp, dq, qi or k). The result is a secret: store it encrypted.
func (k *Key) MarshalPrivateJWK() ([]byte, error) {
	if !k.CanSign() && k.secret == nil {
		return nil, errorf(ErrInvalidKey, "key has no private part")
	}
	return k.appendJWK(nil, true), nil
}

func (k *Key) appendJWK(b []byte, private bool) []byte {
	b = append(b, '{')
	switch {
	case k.secret != nil:
		b, _ = appendStringMember(b, "kty", "oct")
	case k.rsaPub != nil:
		b, _ = appendStringMember(b, "kty", "RSA")
	case k.ecPub != nil:
		b, _ = appendStringMember(b, "kty", "EC")
		b, _ = appendStringMember(b, "crv", k.ecPub.Curve.Params().Name)
	case k.edPub != nil:
		b, _ = appendStringMember(b, "kty", "OKP")
		b, _ = appendStringMember(b, "crv", "Ed25519")
	}
	b, _ = appendStringMember(b, "kid", k.kid)
	b, _ = appendStringMember(b, "use", "sig")
	b, _ = appendStringMember(b, "alg", string(k.alg))
	switch {
	case k.secret != nil:
		b = appendB64Member(b, "k", k.secret)
	case k.rsaPub != nil:
		b = appendB64Member(b, "n", k.rsaPub.N.Bytes())
		b = appendB64Member(b, "e", big.NewInt(int64(k.rsaPub.E)).Bytes())
		if private && k.rsaPriv != nil {
			p := k.rsaPriv // precomputed in setMaterial
			b = appendB64Member(b, "d", p.D.Bytes())
			b = appendB64Member(b, "p", p.Primes[0].Bytes())
			b = appendB64Member(b, "q", p.Primes[1].Bytes())
			b = appendB64Member(b, "dp", p.Precomputed.Dp.Bytes())
			b = appendB64Member(b, "dq", p.Precomputed.Dq.Bytes())
			b = appendB64Member(b, "qi", p.Precomputed.Qinv.Bytes())
		}
	case k.ecPub != nil:
		x, y := ecCoords(k.ecPub)
		b = appendB64Member(b, "x", x)
		b = appendB64Member(b, "y", y)
		if private && k.ecPriv != nil {
			d, _ := k.ecPriv.Bytes()
			b = appendB64Member(b, "d", d)
		}
	case k.edPub != nil:
		b = appendB64Member(b, "x", k.edPub)
		if private && k.edPriv != nil {
			b = appendB64Member(b, "d", k.edPriv.Seed())
		}
	}
	return append(b, '}')
}
