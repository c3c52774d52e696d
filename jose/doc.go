// Package jose signs and verifies compact JWS and JWT (RFC 7515, RFC 7519),
// and reads and writes JWK and JWK Sets (RFC 7517), on Go's crypto/* and
// the standard library only.
//
// It is deliberately strict (SECURITY.md SEC-16 to SEC-25):
//
//   - A [Key] carries its one [Algorithm]; the header alg must equal it, and
//     "none" is never accepted in any letter case. HMAC keys shorter than the
//     hash, RSA keys under 2048 bits or with the ROCA fingerprint, EC points
//     off their curve and keys for encryption are refused at construction.
//   - Only the compact serialization with exactly three segments of
//     canonical unpadded base64url is read, up to 8 KiB by default. JSON
//     serialization and JWE are refused with a clear error.
//   - Header and claims are JSON objects without duplicate member names
//     (at any depth), with valid UTF-8 and case-sensitive names. Any crit,
//     and the jwk, jku, x5u and x5c parameters, are refused: keys come only
//     from the caller's [KeySet], looked up by kid as a map key.
//   - The signature is verified before any claim is read. exp is required
//     by default, numeric dates must be JSON numbers, leeway defaults to 0.
//   - Errors wrap a few sentinels ([ErrSignature], [ErrExpired], ...) and
//     never echo the token.
//
// Verification is allocation-lean: the header and the claims are scanned
// in place, registered claims are decoded without reflection, and the
// caller's other claims through a plan cached per type.
//
// A typical issuer and verifier of access tokens:
//
//	key, _ := jose.GenerateKey(jose.ES256, "")   // kid: RFC 7638 thumbprint
//	keys, _ := jose.NewKeySet(key)               // key becomes the signing key
//	jwks, _ := keys.MarshalJSON()                // publish at /.well-known/jwks.json
//	private, _ := key.MarshalPrivateJWK()        // store encrypted; ParseJWK reads it back
//
//	type AccessClaims struct {
//		jose.Claims
//		SessionID string `json:"sid"`
//		ClientID  string `json:"client_id"`
//	}
//	token, _ := jose.SignJWT(keys.SigningKey(), &AccessClaims{...}, jose.SignOptions{Type: "at+jwt"})
//
//	v := &jose.Verifier{
//		Keys:     keys,
//		Issuer:   "https://auth.example",
//		Audience: []string{"api"},
//		Type:     "at+jwt",
//		Required: []string{"sub", "jti", "client_id", "iat"},
//		Now:      clock.Now,
//	}
//	var c AccessClaims
//	err := v.Verify(token, &c) // errors.Is(err, jose.ErrExpired), ...
//
// Keys, key sets and verifiers are safe for concurrent use.
package jose
