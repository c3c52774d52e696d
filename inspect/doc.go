// Package inspect explains a JWT, a Set-Cookie or Cookie line, or a JWK Set
// offline, and lints it against Sesame's security rules (SECURITY.md): it
// is what `sesame inspect` prints, the "paste the token into a JWT site"
// without sending a token to a website.
//
//	report, err := inspect.Inspect(input, inspect.Options{Now: clock.Now})
//	if errors.Is(err, inspect.ErrUnreadable) { ... } // not a token, cookie line or JWKS
//	report.WriteText(os.Stdout)                     // or json.Marshal(report)
//	if report.HasErrors() { os.Exit(1) }
//
// # Input
//
// One item, detected from its form (or forced with Options.Kind):
//
//   - a compact JWS/JWT (three dot-separated parts), optionally after
//     "Bearer " or "Authorization: Bearer ";
//   - "Set-Cookie: ..." or a bare Set-Cookie value (a name=value followed by
//     at least one known attribute such as Path or Secure);
//   - "Cookie: ..." or a bare Cookie header value (name=value pairs without
//     attributes);
//   - a JWK Set ({"keys": [...]}) or a single JWK ({"kty": ...}).
//
// A JWE, a JWS in JSON serialization, several lines or any other text is
// unreadable ([ErrUnreadable]); so is a header or payload that does not
// decode, or a Set-Cookie line net/http cannot parse.
//
// # What is never shown
//
// A JWT's header and claims are shown in full: they are base64, not
// encrypted, and the holder of a token can read them anyway. Its signature
// is shown as a length only: with the header and payload it is the
// credential, and printing it would put a working token in a terminal log or
// a ticket. Likewise a cookie's value is shown as a length only (not even a
// prefix), except that a value which is a JWT (Sesame's access-token cookie)
// is decoded like a token, signature withheld. JWKs are described by their
// public facts; private members are named (d, p, q...), never shown.
// Messages never hold a credential either. Every string from the input is
// escaped for the terminal (control characters, C1 controls such as CSI,
// bidirectional overrides, invalid UTF-8), in the JSON output as well as
// the text.
//
// # Findings
//
// Each [Finding] has a severity, the SECURITY.md item it applies (SEC-xx)
// or the standard it comes from, a stable code and a message:
//
//   - error: a rule is broken or the input is unusable: alg none or
//     unknown, jku/x5u/jwk/x5c/crit in the header, a missing exp, an access
//     token without typ at+jwt or one of its required claims (SEC-22), an
//     access token living more than an hour, a signature no key verifies;
//     a cookie without Secure, a session cookie without HttpOnly, no or an
//     invalid SameSite, SameSite=None without Secure, a broken
//     __Host-/__Secure- prefix, over 4096 bytes, a Domain that is a TLD or
//     a public suffix (a built-in list of registry and shared-hosting
//     suffixes such as co.uk and github.io, not the whole Public Suffix
//     List, so as not to depend on it); private or secret material in a JWKS, RSA under 2048
//     bits, an alg that does not fit the key type, duplicate kids.
//   - warning: a weakness: HMAC algorithms, a missing kid or typ, an
//     expired or not-yet-valid token, a long lifetime (access tokens over
//     15 minutes, others over a day), a session cookie without a prefix or
//     with a Domain, a session cookie persisting over 30 days, a
//     refresh-token cookie (rt, refresh) not SameSite=Strict (SEC-34), a
//     key without alg.
//   - info: context, such as RS256 (accepted for interoperability), a
//     cookie that deletes itself, or a JWK without use.
//
// Whether a cookie is a session credential is guessed from its name
// (sess, sid, auth, token, sesame, login, jwt, refresh, remember, at, rt)
// or a JWT value, and the report says so; the session rules are stricter.
// A token's kind (access, ID, logout) is guessed from typ and the claims.
// After its own checks, the lint runs Sesame's strict verifier (package
// jose) up to the key lookup, and reports its refusal when nothing else
// explained it.
//
// With Options.Keys (see [LoadKeySet]) the signature is verified as
// Sesame's verifier does (the key the kid selects, its one algorithm), and
// the report names the key; a key that verifies although the kid does not
// select it is a warning, no key at all an error.
//
// Times are computed from Options.Now, so tests inject a clock. Inspect is
// safe for concurrent use; it makes no network request.
package inspect
