package jose

import (
	"crypto"
	_ "crypto/sha256" // register SHA-256 for crypto.Hash
	_ "crypto/sha512" // register SHA-384 and SHA-512 for crypto.Hash
)

// Algorithm is a JWS algorithm name (RFC 7518 §3.1, RFC 8037 §3.1). A [Key]
// carries exactly one; the header alg of a token must equal it.
type Algorithm string

// The supported algorithms. "none" is deliberately absent.
const (
	HS256 Algorithm = "HS256" // HMAC with SHA-256; the key has at least 32 bytes
	HS384 Algorithm = "HS384" // HMAC with SHA-384; the key has at least 48 bytes
	HS512 Algorithm = "HS512" // HMAC with SHA-512; the key has at least 64 bytes
	RS256 Algorithm = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256, RSA ≥ 2048 bits
	RS384 Algorithm = "RS384" // RSASSA-PKCS1-v1_5 with SHA-384
	RS512 Algorithm = "RS512" // RSASSA-PKCS1-v1_5 with SHA-512
	PS256 Algorithm = "PS256" // RSASSA-PSS with SHA-256, MGF1-SHA-256, 32-byte salt
	PS384 Algorithm = "PS384" // RSASSA-PSS with SHA-384
	PS512 Algorithm = "PS512" // RSASSA-PSS with SHA-512
	ES256 Algorithm = "ES256" // ECDSA on P-256 with SHA-256, 64-byte r‖s signature
	ES384 Algorithm = "ES384" // ECDSA on P-384 with SHA-384, 96-byte r‖s signature
	ES512 Algorithm = "ES512" // ECDSA on P-521 with SHA-512, 132-byte r‖s signature
	EdDSA Algorithm = "EdDSA" // Ed25519 (RFC 8037)
)

// Algorithms lists every supported algorithm.
var Algorithms = []Algorithm{HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA}

type family uint8

const (
	famNone family = iota
	famHMAC
	famRSA
	famPSS
	famECDSA
	famEdDSA
)

func (a Algorithm) family() family {
	switch a {
	case HS256, HS384, HS512:
		return famHMAC
	case RS256, RS384, RS512:
		return famRSA
	case PS256, PS384, PS512:
		return famPSS
	case ES256, ES384, ES512:
		return famECDSA
	case EdDSA:
		return famEdDSA
	}
	return famNone
}

func (a Algorithm) hash() crypto.Hash {
	switch a {
	case HS256, RS256, PS256, ES256:
		return crypto.SHA256
	case HS384, RS384, PS384, ES384:
		return crypto.SHA384
	case HS512, RS512, PS512, ES512:
		return crypto.SHA512
	}
	return 0
}

// Valid reports whether a is one of the supported algorithms.
func (a Algorithm) Valid() bool { return a.family() != famNone }

// Symmetric reports whether a is an HMAC algorithm.
func (a Algorithm) Symmetric() bool { return a.family() == famHMAC }

// algFromHeader maps the header's alg bytes to an Algorithm without
// allocating. It returns "" for anything unknown.
func algFromHeader(b string) Algorithm {
	switch b {
	case "HS256":
		return HS256
	case "HS384":
		return HS384
	case "HS512":
		return HS512
	case "RS256":
		return RS256
	case "RS384":
		return RS384
	case "RS512":
		return RS512
	case "PS256":
		return PS256
	case "PS384":
		return PS384
	case "PS512":
		return PS512
	case "ES256":
		return ES256
	case "ES384":
		return ES384
	case "ES512":
		return ES512
	case "EdDSA":
		return EdDSA
	}
	return ""
}

// isNone reports whether s is "none" in any letter case (RFC 8725bis).
func isNone(s string) bool {
	if len(s) != 4 {
		return false
	}
	return (s[0]|0x20) == 'n' && (s[1]|0x20) == 'o' && (s[2]|0x20) == 'n' && (s[3]|0x20) == 'e'
}
