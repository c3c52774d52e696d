package inspect

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/jose"
)

// Token kinds, as guessed from typ and the claims.
const (
	TokenAccess  = "access token"
	TokenID      = "ID token"
	TokenLogout  = "logout token"
	TokenUnknown = "JWT"
)

// Lifetime thresholds of the lint (SEC-26): an access token should live
// 15 minutes or less; Sesame's own verifier and revocation denylist assume
// at most an hour (token.MaxAccessTTL); any other token living more than a
// day deserves a look.
const (
	accessLifetimeWarn  = 15 * time.Minute
	accessLifetimeError = time.Hour
	otherLifetimeWarn   = 24 * time.Hour
)

// JWT is the decoded form of a compact JWS.
type JWT struct {
	// Size is the token's length in bytes.
	Size int `json:"size"`
	// TokenKind is what the token looks like: "access token" (typ at+jwt,
	// or client_id/scope claims), "ID token" (nonce, at_hash, auth_time),
	// "logout token" (typ logout+jwt, or an events claim), or "JWT".
	TokenKind string `json:"token_kind"`
	// Header and Claims are the decoded JSON objects, members in token
	// order. Claims is absent when the payload is not a JSON object.
	Header json.RawMessage `json:"header"`
	Claims json.RawMessage `json:"claims,omitempty"`
	// PayloadBytes is the decoded payload's length.
	PayloadBytes int `json:"payload_bytes"`
	// Times are the numeric-date claims (exp, iat, nbf, auth_time).
	Times []Time `json:"times,omitempty"`
	// LifetimeSeconds is exp minus iat (or nbf), when both are present.
	LifetimeSeconds *int64 `json:"lifetime_seconds,omitempty"`
	// Signature describes the signature without showing it.
	Signature Signature `json:"signature"`
	// Verification is set when keys were given.
	Verification *Verification `json:"verification,omitempty"`

	header, claims object
}

// Time is one numeric-date claim.
type Time struct {
	Claim    string `json:"claim"`
	Unix     int64  `json:"unix"`
	UTC      string `json:"utc"`
	Relative string `json:"relative"`
}

// Signature describes a token's signature. The signature itself is never
// shown: with the header and payload it is the credential.
type Signature struct {
	Bytes int `json:"bytes"`
}

// Verification is the result of checking the signature with a key set.
type Verification struct {
	Source     string `json:"source,omitempty"`
	Verified   bool   `json:"verified"`
	KeyID      string `json:"kid,omitempty"`
	Algorithm  string `json:"alg,omitempty"`
	Thumbprint string `json:"thumbprint,omitempty"`
	// Error says why no key verified the token.
	Error string `json:"error,omitempty"`
}

// decodeSegment decodes a base64url segment leniently (padding, the
// standard alphabet), reporting whether it was in the canonical unpadded
// base64url form a strict verifier requires (SEC-24).
func decodeSegment(s string) (b []byte, canonical bool, err error) {
	if b, err := base64.RawURLEncoding.Strict().DecodeString(s); err == nil {
		return b, true, nil
	}
	t := strings.TrimRight(s, "=")
	t = strings.NewReplacer("+", "-", "/", "_").Replace(t)
	b, err = base64.RawURLEncoding.DecodeString(t)
	return b, false, err
}

func inspectJWT(token string, now time.Time, opts Options, l *linter) (*JWT, error) {
	parts := strings.Split(token, ".")
	switch len(parts) {
	case 3:
	case 5:
		return nil, unreadable("a JWE (five dot-separated parts): it is encrypted and cannot be inspected offline")
	default:
		return nil, unreadable("a compact JWT has three dot-separated parts, got %d", len(parts))
	}
	hb, hCanon, err := decodeSegment(parts[0])
	if err != nil {
		return nil, unreadable("the JWT header is not base64url")
	}
	header, err := decodeObject(hb)
	if err != nil {
		return nil, unreadable("the JWT header is not a JSON object")
	}
	pb, pCanon, err := decodeSegment(parts[1])
	if err != nil {
		return nil, unreadable("the JWT payload is not base64url")
	}
	sb, sCanon, err := decodeSegment(parts[2])
	if err != nil {
		return nil, unreadable("the JWT signature is not base64url")
	}
	j := &JWT{Size: len(token), header: header, Header: header.raw(), PayloadBytes: len(pb), Signature: Signature{Bytes: len(sb)}}
	if claims, err := decodeObject(pb); err == nil {
		j.claims, j.Claims = claims, claims.raw()
	}

	before := len(l.findings)
	if !hCanon || !pCanon || !sCanon {
		l.add(Error, "SEC-24", "jwt.base64", "a part is not canonical unpadded base64url; strict verifiers refuse the token")
	}
	if len(token) > jose.DefaultMaxTokenSize {
		l.add(Error, "SEC-24", "jwt.size", "the token is %d bytes; Sesame's verifier refuses tokens over %d bytes", len(token), jose.DefaultMaxTokenSize)
	}
	alg := lintHeader(j, opts, l)
	if j.claims == nil {
		l.add(Warning, "SEC-24", "jwt.payload-not-json", "the payload (%d bytes) is not a JSON object: a JWS, but not a JWT", len(pb))
	}
	if !hasError(l.findings[before:]) {
		// Whatever this package's own checks missed, Sesame's verifier
		// says: it stops at the first problem, before any key is tried.
		if err := strictFormatError(token); err != nil {
			l.add(Error, "SEC-24", "jwt.strict", "Sesame's verifier refuses the token before trying a key: %s", strings.TrimPrefix(err.Error(), "jose: "))
		}
	}
	lintSignature(j, alg, l)
	if j.claims != nil {
		j.TokenKind = tokenKind(header, j.claims)
		lintClaims(j, now, l)
	} else {
		j.TokenKind = TokenUnknown
	}
	if opts.Keys != nil {
		j.Verification = verify(token, alg, opts, l)
	}
	return j, nil
}

func hasError(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

// errProbe is returned by probeResolver: reaching the key lookup means the
// strict parser accepted the token's form.
var errProbe = errors.New("probe")

type probeResolver struct{}

func (probeResolver) ResolveKey(string) (*jose.Key, error) { return nil, errProbe }

// strictFormatError runs jose's verifier up to its key lookup and returns
// its refusal, or nil when the token's form is accepted.
func strictFormatError(token string) error {
	_, _, err := jose.Verify(token, probeResolver{})
	if errors.Is(err, errProbe) {
		return nil
	}
	return err
}

// lintHeader checks the protected header and returns the algorithm when it
// is one jose knows.
func lintHeader(j *JWT, opts Options, l *linter) jose.Algorithm {
	h := j.header
	for _, name := range h.duplicates() {
		l.add(Error, "SEC-24", "jwt.header-duplicate", "header member %q appears more than once", name)
	}
	var alg jose.Algorithm
	algText, isStr := h.str("alg")
	switch {
	case !h.has("alg"):
		l.add(Error, "SEC-24", "jwt.alg-missing", "the header has no alg")
	case !isStr:
		l.add(Error, "SEC-24", "jwt.alg-type", "alg is not a string")
	case strings.EqualFold(algText, "none"):
		l.add(Error, "SEC-17", "jwt.alg-none", "alg %q: the token is unsigned and anyone can forge it; verifiers must refuse none in any letter case", algText)
	case !jose.Algorithm(algText).Valid():
		l.add(Error, "SEC-17", "jwt.alg-unknown", "alg %q is not a JWS algorithm Sesame accepts (%s)", algText, algList())
	default:
		alg = jose.Algorithm(algText)
	}
	kid, kidStr := h.str("kid")
	if alg != "" && opts.Keys != nil && kidStr {
		if k, ok := opts.Keys.Lookup(kid); ok && k.Algorithm() != alg && !alg.Symmetric() {
			l.add(Error, "SEC-17", "jwt.alg-key-mismatch", "alg %s, but the key the kid names is a %s key: the algorithm comes from the key, never from the header", alg, k.Algorithm())
		}
	}
	switch {
	case alg == "":
	case alg.Symmetric() && opts.Keys != nil && !keySetSymmetric(opts.Keys):
		l.add(Error, "SEC-17", "jwt.alg-hmac-confusion", "alg %s (HMAC) checked against a public-key JWKS: a verifier that takes alg from the header can be fooled into using the public key as the HMAC secret", alg)
	case alg.Symmetric():
		l.add(Warning, "SEC-17", "jwt.alg-hmac", "alg %s (HMAC): only right where one party both signs and verifies; a token from an issuer that publishes a JWKS must never be HMAC-signed", alg)
	case strings.HasPrefix(string(alg), "RS"):
		l.add(Info, "SEC-23", "jwt.alg-rs", "alg %s (RSA PKCS#1 v1.5) is accepted for interoperability; EdDSA, ES256 or PS256 are preferred", alg)
	}

	switch {
	case !h.has("kid"):
		l.add(Warning, "SEC-18", "jwt.kid-missing", "no kid: a verifier holding several keys (during a rotation) cannot pick the key")
	case !kidStr:
		l.add(Error, "SEC-18", "jwt.kid-type", "kid is not a string")
	case strings.ContainsAny(kid, "/\\'\";\x00") || strings.Contains(kid, ".."):
		l.add(Warning, "SEC-18", "jwt.kid-suspicious", "kid contains path or SQL characters: it must only ever be a map key, never a file path or a query")
	}

	for _, name := range []string{"jku", "x5u"} {
		if h.has(name) {
			l.add(Error, "SEC-18", "jwt."+name, "header %s names a URL to fetch keys from: an attacker points it at their own keys; keys come only from a pinned JWKS", name)
		}
	}
	if h.has("jwk") {
		l.add(Error, "SEC-18", "jwt.jwk", "header jwk embeds the verification key: anyone can sign with their own key; keys come only from a pinned JWKS")
	}
	if h.has("x5c") {
		l.add(Error, "SEC-18", "jwt.x5c", "header x5c embeds a certificate chain: Sesame never takes keys from the token")
	}
	if h.has("crit") {
		l.add(Error, "SEC-24", "jwt.crit", "header crit names extensions a verifier must understand; Sesame's understands none and refuses the token")
	}
	if h.has("enc") || h.has("zip") {
		l.add(Error, "SEC-24", "jwt.jwe-header", "header has JWE parameters (enc or zip) in a JWS")
	}
	if h.has("b64") {
		l.add(Error, "SEC-24", "jwt.b64", "header b64 (unencoded payload, RFC 7797) is not accepted")
	}
	if cty, _ := h.str("cty"); strings.EqualFold(cty, "JWT") {
		l.add(Info, "RFC 7519", "jwt.nested", "cty JWT: the payload is a nested JWT")
	}
	return alg
}

func algList() string {
	names := make([]string, len(jose.Algorithms))
	for i, a := range jose.Algorithms {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

func keySetSymmetric(ks *jose.KeySet) bool {
	for _, k := range ks.Keys() {
		if k.IsSymmetric() {
			return true
		}
	}
	return false
}

// signatureSize is the length of a signature of alg, or 0 when it depends
// on the key (RSA).
func signatureSize(alg jose.Algorithm) int {
	switch alg {
	case jose.HS256:
		return 32
	case jose.HS384:
		return 48
	case jose.HS512, jose.ES256, jose.EdDSA:
		return 64
	case jose.ES384:
		return 96
	case jose.ES512:
		return 132
	}
	return 0
}

func lintSignature(j *JWT, alg jose.Algorithm, l *linter) {
	n := j.Signature.Bytes
	switch {
	case alg == "":
		if n == 0 {
			l.add(Error, "SEC-16", "jwt.signature-empty", "the signature is empty")
		}
	case n == 0:
		l.add(Error, "SEC-16", "jwt.signature-empty", "the signature is empty although alg is %s", alg)
	case signatureSize(alg) != 0 && n != signatureSize(alg):
		l.add(Error, "SEC-24", "jwt.signature-size", "a %s signature has %d bytes, this one %d (an ECDSA signature must be r‖s, not DER)", alg, signatureSize(alg), n)
	case signatureSize(alg) == 0 && n*8 < jose.MinRSABits:
		l.add(Error, "SEC-23", "jwt.rsa-small", "the %d-byte signature means an RSA key of %d bits; Sesame refuses keys under %d bits", n, n*8, jose.MinRSABits)
	}
}

// normType lowercases typ and drops an "application/" prefix (RFC 7515
// §4.1.9).
func normType(typ string) string {
	t := strings.ToLower(typ)
	return strings.TrimPrefix(t, "application/")
}

func tokenKind(h, c object) string {
	typ, _ := h.str("typ")
	switch normType(typ) {
	case "at+jwt":
		return TokenAccess
	case "logout+jwt":
		return TokenLogout
	}
	switch {
	case c.has("events"):
		return TokenLogout
	case c.has("nonce") || c.has("at_hash") || c.has("auth_time") && !c.has("client_id") && !c.has("scope"):
		return TokenID
	case c.has("client_id") || c.has("scope"):
		return TokenAccess
	}
	return TokenUnknown
}

// numericDate reads a numeric-date claim: present, a number, in range.
func numericDate(c object, name string) (t time.Time, present, ok bool) {
	raw, present := c.get(name)
	if !present {
		return time.Time{}, false, false
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return time.Time{}, true, false
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 253402300799 || math.IsNaN(f) {
		return time.Time{}, true, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true, true
}

func lintClaims(j *JWT, now time.Time, l *linter) {
	c := j.claims
	for _, name := range c.duplicates() {
		l.add(Error, "SEC-24", "jwt.claim-duplicate", "claim %q appears more than once", name)
	}
	if nestedDuplicate(j.Claims) {
		l.add(Error, "SEC-24", "jwt.claim-nested-duplicate", "an object inside the claims repeats a member name: two parsers may read different values, and strict verifiers refuse the token")
	}
	dates := map[string]time.Time{}
	for _, name := range []string{"exp", "iat", "nbf", "auth_time"} {
		t, present, ok := numericDate(c, name)
		switch {
		case !present:
			continue
		case !ok:
			l.add(Error, "SEC-19", "jwt.date-type", "%s is not a non-negative JSON number: verifiers refuse or misread it", name)
			continue
		}
		dates[name] = t
		j.Times = append(j.Times, Time{Claim: name, Unix: t.Unix(), UTC: formatUTC(t), Relative: relativeFor(name, t, now)})
	}

	exp, hasExp := dates["exp"]
	iat, hasIat := dates["iat"]
	nbf, hasNbf := dates["nbf"]
	start, hasStart := iat, hasIat
	if !hasStart {
		start, hasStart = nbf, hasNbf
	}
	if hasExp && hasStart {
		life := int64(exp.Sub(start) / time.Second)
		j.LifetimeSeconds = &life
		if exp.Before(start) {
			l.add(Error, "SEC-19", "jwt.exp-before-start", "exp is before iat/nbf: the token was never valid")
		}
	}
	if hasExp && !exp.After(now) {
		l.add(Warning, "SEC-19", "jwt.expired", "the token expired %s ago (%s)", relative(now.Sub(exp)), formatUTC(exp))
	}
	if hasNbf && nbf.After(now) {
		l.add(Warning, "SEC-19", "jwt.not-yet-valid", "nbf is %s in the future: the token is not valid yet", relative(nbf.Sub(now)))
	}
	if hasIat && iat.After(now) {
		l.add(Warning, "SEC-19", "jwt.iat-future", "iat is %s in the future: a clock is wrong, or the token is forged", relative(iat.Sub(now)))
	}

	typ, hasTyp := j.header.str("typ")
	switch j.TokenKind {
	case TokenAccess:
		if normType(typ) != "at+jwt" {
			l.add(Error, "SEC-20", "jwt.typ-access", "an access token (it has client_id or scope) without typ at+jwt: an ID token or another JWT can be passed off as one, or this one as them")
		}
		requireClaims(c, l, Error, []claimRule{
			{"iss", "SEC-21"}, {"sub", "SEC-22"}, {"aud", "SEC-21"}, {"exp", "SEC-19"},
			{"iat", "SEC-22"}, {"jti", "SEC-22"}, {"client_id", "SEC-22"},
		})
	case TokenID:
		if hasTyp && normType(typ) != "jwt" {
			l.add(Warning, "SEC-59", "jwt.typ-id", "an ID token with typ %q (ID tokens are typ JWT)", typ)
		}
		requireClaims(c, l, Error, []claimRule{
			{"iss", "SEC-21"}, {"sub", "SEC-59"}, {"aud", "SEC-59"}, {"exp", "SEC-19"}, {"iat", "SEC-59"},
		})
	default:
		if !hasTyp {
			l.add(Warning, "SEC-20", "jwt.typ-missing", "no typ: nothing tells this token apart from other kinds of JWT (access, ID, refresh)")
		}
		requireClaims(c, l, Error, []claimRule{{"exp", "SEC-19"}})
		requireClaims(c, l, Warning, []claimRule{{"iss", "SEC-21"}, {"aud", "SEC-21"}})
	}

	if j.LifetimeSeconds != nil && *j.LifetimeSeconds > 0 {
		life := time.Duration(*j.LifetimeSeconds) * time.Second
		switch {
		case j.TokenKind == TokenAccess && life > accessLifetimeError:
			l.add(Error, "SEC-26", "jwt.lifetime", "an access token living %s: over an hour, longer than Sesame's verifier and revocation denylist allow (token.MaxAccessTTL)", relative(life))
		case j.TokenKind == TokenAccess && life > accessLifetimeWarn:
			l.add(Warning, "SEC-26", "jwt.lifetime", "an access token living %s: keep access tokens at 15 min or less", relative(life))
		case j.TokenKind != TokenAccess && life > otherLifetimeWarn:
			l.add(Warning, "SEC-26", "jwt.lifetime", "a token living %s: a stolen copy stays usable that long", relative(life))
		}
	}
}

type claimRule struct{ name, rule string }

func requireClaims(c object, l *linter, sev Severity, rules []claimRule) {
	for _, r := range rules {
		if !c.has(r.name) {
			l.add(sev, r.rule, "jwt.missing-"+r.name, "claim %s is missing", r.name)
		}
	}
}

// keyRecorder resolves through keys and remembers the key it returned.
type keyRecorder struct {
	keys jose.KeyResolver
	key  *jose.Key
}

func (r *keyRecorder) ResolveKey(kid string) (*jose.Key, error) {
	k, err := r.keys.ResolveKey(kid)
	r.key = k
	return k, err
}

// anyKid resolves every kid to one key, to find out whether a key the
// token's kid does not select would verify it.
type anyKid struct{ k *jose.Key }

func (a anyKid) ResolveKey(string) (*jose.Key, error) { return a.k, nil }

func verify(token string, alg jose.Algorithm, opts Options, l *linter) *Verification {
	v := &Verification{Source: opts.KeysSource}
	found := func(k *jose.Key) {
		v.Verified, v.KeyID, v.Algorithm, v.Thumbprint = true, k.KID(), string(k.Algorithm()), k.Thumbprint()
	}
	rec := &keyRecorder{keys: opts.Keys}
	_, _, err := jose.Verify(token, rec)
	if err == nil {
		found(rec.key)
		return v
	}
	if errors.Is(err, jose.ErrKeyNotFound) || errors.Is(err, jose.ErrSignature) || errors.Is(err, jose.ErrAlgorithm) && alg != "" {
		for _, k := range opts.Keys.Keys() {
			if _, _, err2 := jose.Verify(token, anyKid{k}); err2 == nil {
				found(k)
				l.add(Warning, "SEC-18", "jwt.kid-mismatch", "key %q verifies the token, but the token's kid does not select it: verifiers looking keys up by kid refuse it", k.KID())
				return v
			}
		}
	}
	v.Error = strings.TrimPrefix(err.Error(), "jose: ")
	src := "the given keys"
	if opts.KeysSource != "" {
		src = opts.KeysSource
	}
	l.add(Error, "SEC-16", "jwt.not-verified", "no key of %s verifies the token: %s", src, v.Error)
	return v
}

func formatUTC(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// relativeFor phrases a claim's time relative to now.
func relativeFor(claim string, t, now time.Time) string {
	d := t.Sub(now)
	switch {
	case claim == "exp" && d > 0:
		return "expires in " + relative(d)
	case claim == "exp":
		return "expired " + relative(-d) + " ago"
	case d > 0:
		return "in " + relative(d)
	case d == 0:
		return "now"
	}
	return relative(-d) + " ago"
}

// relative writes a duration coarsely, as a person would: seconds under a
// minute, minutes under an hour, hours (and minutes, under 10 h) under 3
// days, days beyond. The sign is dropped.
func relative(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int64(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int64(d/time.Minute))
	case d < 10*time.Hour && d%time.Hour >= time.Minute:
		return fmt.Sprintf("%d h %d min", int64(d/time.Hour), int64(d%time.Hour/time.Minute))
	case d < 72*time.Hour:
		return fmt.Sprintf("%d h", int64(d/time.Hour))
	}
	return fmt.Sprintf("%d days", int64(d/(24*time.Hour)))
}
