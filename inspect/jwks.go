package inspect

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/sesame-auth/sesame/jose"
)

// JWKS is the decoded form of a JWK Set (or of a single JWK).
type JWKS struct {
	// SingleKey is true when the input was one JWK rather than a set.
	SingleKey bool     `json:"single_key,omitempty"`
	Keys      []JWKKey `json:"keys"`
}

// JWKKey describes one key of a set. Private members are named, never
// shown.
type JWKKey struct {
	KeyID     string `json:"kid,omitempty"`
	KeyType   string `json:"kty,omitempty"`
	Algorithm string `json:"alg,omitempty"`
	Use       string `json:"use,omitempty"`
	Curve     string `json:"crv,omitempty"`
	// Bits is the RSA modulus size, the curve size, or the HMAC secret's.
	Bits int `json:"bits,omitempty"`
	// Private lists the private or secret members present (d, p, q, dp,
	// dq, qi, oth, k).
	Private []string `json:"private_members,omitempty"`
	// Thumbprint is the RFC 7638 thumbprint, when Sesame's parser accepts
	// the key.
	Thumbprint string `json:"thumbprint,omitempty"`
}

// privateMembers are the JWK members that hold private or secret material
// (RFC 7518 §6.2.2, §6.3.2, §6.4).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// isJWSJSON reports whether text is a JWS in JSON serialization.
func isJWSJSON(text string) bool {
	o, err := decodeObject([]byte(text))
	return err == nil && o.has("payload") && (o.has("signature") || o.has("signatures"))
}

func inspectJWKS(text string, l *linter) (*JWKS, error) {
	top, err := decodeObject([]byte(text))
	if err != nil {
		return nil, unreadable("not a JSON object")
	}
	set := &JWKS{Keys: []JWKKey{}}
	var raws []json.RawMessage
	switch {
	case top.has("keys"):
		for _, name := range top.duplicates() {
			l.add(Error, "SEC-18", "jwks.duplicate-member", "member %q appears more than once", name)
		}
		keys, _ := top.get("keys")
		if json.Unmarshal(keys, &raws) != nil {
			return nil, unreadable("keys is not an array")
		}
	case top.has("kty"):
		set.SingleKey = true
		raws = []json.RawMessage{json.RawMessage(text)}
		l.add(Info, "RFC 7517", "jwks.single-key", "a single JWK, not a JWK Set: inspected as a set of one")
	default:
		return nil, unreadable("a JSON object that is neither a JWK Set (keys) nor a JWK (kty)")
	}
	if len(raws) == 0 {
		l.add(Warning, "RFC 7517", "jwks.empty", "the set holds no key: nothing verifies")
	}
	kids := map[string]int{}
	var symmetric, asymmetric int
	before := len(l.findings)
	for i, raw := range raws {
		obj, err := decodeObject(raw)
		if err != nil {
			l.add(Error, "RFC 7517", "jwks.key-not-object", "key %d is not a JSON object", i)
			set.Keys = append(set.Keys, JWKKey{})
			continue
		}
		k := describeKey(obj)
		label := fmt.Sprintf("key %d: ", i)
		if k.KeyID != "" {
			label = fmt.Sprintf("key %d (kid %q): ", i, k.KeyID)
			kids[k.KeyID]++
			if kids[k.KeyID] == 2 {
				l.add(Error, "SEC-18", "jwks.duplicate-kid", "kid %q names more than one key: a verifier cannot tell which one a token means", k.KeyID)
			}
		}
		kl := l.nested("", label)
		lintKey(obj, &k, raw, kl)
		l.merge(kl)
		switch k.KeyType {
		case "oct":
			symmetric++
		case "RSA", "EC", "OKP":
			asymmetric++
		}
		set.Keys = append(set.Keys, k)
	}
	if symmetric > 0 && asymmetric > 0 {
		l.add(Error, "SEC-17", "jwks.mixed", "the set mixes HMAC secrets and public keys: a verifier may check an HMAC token with a public key's bytes as the secret (key confusion)")
	}
	if !hasError(l.findings[before:]) && !set.SingleKey {
		if _, err := jose.ParseJWKS([]byte(text)); err != nil {
			l.add(Error, "SEC-23", "jwks.refused", "Sesame's parser refuses the set: %s", strings.TrimPrefix(err.Error(), "jose: "))
		}
	}
	return set, nil
}

func describeKey(o object) JWKKey {
	var k JWKKey
	k.KeyID, _ = o.str("kid")
	k.KeyType, _ = o.str("kty")
	k.Algorithm, _ = o.str("alg")
	k.Use, _ = o.str("use")
	k.Curve, _ = o.str("crv")
	// Escaped once here, for the text and the JSON alike.
	k.KeyID, k.KeyType, k.Algorithm, k.Use, k.Curve = clean(k.KeyID), clean(k.KeyType), clean(k.Algorithm), clean(k.Use), clean(k.Curve)
	for _, m := range privateMembers {
		if o.has(m) {
			k.Private = append(k.Private, m)
		}
	}
	switch k.KeyType {
	case "RSA":
		if n, ok := b64Member(o, "n"); ok {
			k.Bits = new(big.Int).SetBytes(n).BitLen()
		}
	case "EC":
		k.Bits = map[string]int{"P-256": 256, "P-384": 384, "P-521": 521}[k.Curve]
	case "OKP":
		k.Bits = map[string]int{"Ed25519": 256, "Ed448": 456, "X25519": 256, "X448": 448}[k.Curve]
	case "oct":
		if s, ok := b64Member(o, "k"); ok {
			k.Bits = 8 * len(s)
		}
	}
	return k
}

func b64Member(o object, name string) ([]byte, bool) {
	s, ok := o.str(name)
	if !ok {
		return nil, false
	}
	b, _, err := decodeSegment(s)
	return b, err == nil
}

// expectedKty is the key type each algorithm needs.
func expectedKty(alg jose.Algorithm) string {
	switch {
	case alg.Symmetric():
		return "oct"
	case strings.HasPrefix(string(alg), "RS"), strings.HasPrefix(string(alg), "PS"):
		return "RSA"
	case strings.HasPrefix(string(alg), "ES"):
		return "EC"
	case alg == jose.EdDSA:
		return "OKP"
	}
	return ""
}

func lintKey(o object, k *JWKKey, raw json.RawMessage, l *linter) {
	before := len(l.findings)
	for _, name := range o.duplicates() {
		l.add(Error, "SEC-24", "jwks.key-duplicate-member", "member %q appears more than once", name)
	}
	switch k.KeyType {
	case "":
		l.add(Error, "RFC 7517", "jwks.kty-missing", "no kty")
	case "RSA", "EC", "OKP", "oct":
	default:
		l.add(Error, "RFC 7517", "jwks.kty-unknown", "kty %q is not a signing key type Sesame knows", k.KeyType)
	}
	switch {
	case k.KeyType == "oct" && o.has("k"):
		l.add(Error, "SEC-17", "jwks.secret", "an HMAC secret (k): anyone who reads this set can sign tokens; HMAC keys are never published")
	case len(k.Private) > 0:
		l.add(Error, "RFC 7517", "jwks.private", "private key material (%s): anyone who reads this set can sign tokens; publish the public members only", strings.Join(k.Private, ", "))
	}

	switch k.KeyType {
	case "RSA":
		if !o.has("n") || !o.has("e") {
			l.add(Error, "RFC 7518", "jwks.rsa-members", "an RSA key needs n and e")
		} else if k.Bits < jose.MinRSABits {
			l.add(Error, "SEC-23", "jwks.rsa-small", "an RSA key of %d bits: keys under %d bits are refused (factorable with enough resources)", k.Bits, jose.MinRSABits)
		}
		if e, ok := b64Member(o, "e"); ok {
			ev := new(big.Int).SetBytes(e)
			if ev.Cmp(big.NewInt(3)) < 0 || ev.Bit(0) == 0 {
				l.add(Error, "SEC-23", "jwks.rsa-exponent", "the RSA public exponent must be odd and at least 3")
			}
		}
	case "EC":
		switch k.Curve {
		case "P-256", "P-384", "P-521":
		case "":
			l.add(Error, "RFC 7518", "jwks.crv-missing", "an EC key without crv")
		default:
			l.add(Error, "SEC-23", "jwks.crv-unknown", "curve %q is not P-256, P-384 or P-521", k.Curve)
		}
	case "OKP":
		if k.Curve != "Ed25519" {
			l.add(Warning, "SEC-23", "jwks.okp-curve", "curve %q: Sesame signs and verifies Ed25519 only", k.Curve)
		}
	}

	alg := jose.Algorithm(k.Algorithm)
	switch {
	case !o.has("alg"):
		l.add(Warning, "SEC-17", "jwks.alg-missing", "no alg: one algorithm per key keeps a verifier from taking the algorithm from the token header")
	case strings.EqualFold(k.Algorithm, "none"):
		l.add(Error, "SEC-17", "jwks.alg-none", "alg none")
	case !alg.Valid():
		l.add(Warning, "SEC-17", "jwks.alg-unknown", "alg %q is not a JWS algorithm Sesame accepts", k.Algorithm)
	case k.KeyType != "" && expectedKty(alg) != k.KeyType:
		l.add(Error, "SEC-17", "jwks.alg-kty", "alg %s needs kty %s, not %s", alg, expectedKty(alg), k.KeyType)
	case k.KeyType == "EC" && k.Curve != "" && map[jose.Algorithm]string{jose.ES256: "P-256", jose.ES384: "P-384", jose.ES512: "P-521"}[alg] != k.Curve:
		l.add(Error, "SEC-17", "jwks.alg-crv", "alg %s does not fit curve %s", alg, k.Curve)
	}

	if !o.has("kid") {
		l.add(Warning, "SEC-18", "jwks.kid-missing", "no kid: tokens cannot name this key, and a rotation cannot tell keys apart")
	}
	switch k.Use {
	case "":
		if !o.has("key_ops") {
			l.add(Info, "RFC 7517", "jwks.use-missing", "no use: say use sig so that the key is not taken for encryption")
		}
	case "sig":
	case "enc":
		l.add(Info, "RFC 7517", "jwks.use-enc", "an encryption key (use enc): Sesame ignores it for signatures")
	default:
		l.add(Warning, "RFC 7517", "jwks.use-unknown", "use %q is neither sig nor enc", k.Use)
	}
	if o.has("x5u") {
		l.add(Warning, "SEC-18", "jwks.x5u", "x5u names a URL for the key's certificate: Sesame never follows it")
	}

	// Sesame's own parser has the last word, and gives the thumbprint.
	defAlg := jose.Algorithm("")
	if !o.has("alg") {
		defAlg = map[string]jose.Algorithm{"RSA": jose.RS256, "oct": jose.HS256}[k.KeyType]
	}
	var key *jose.Key
	var err error
	if defAlg != "" {
		key, err = jose.ParseJWKAs(raw, defAlg)
	} else {
		key, err = jose.ParseJWK(raw)
	}
	if err == nil {
		k.Thumbprint = key.Thumbprint()
		return
	}
	if !hasError(l.findings[before:]) && k.Use != "enc" {
		l.add(Error, "SEC-23", "jwks.key-refused", "Sesame's parser refuses the key: %s", strings.TrimPrefix(err.Error(), "jose: "))
	}
}
