// Package sesame holds the vocabulary shared by every Sesame package: users,
// sessions, devices, principals, events, the one error type with its codes,
// and the clock, the access-token claims and [RequireAuth]. It imports only
// the standard library and package jose (which imports only the standard
// library).
//
// Sesame remembers who a web user is in the three ways the web does it:
// cookies (the carrier), server-side sessions and signed tokens. The
// packages below this one do the work:
//
//	cookie    hardened Set-Cookie writing, strict Cookie parsing, sealed values
//	password  argon2id hashing, policy, dummy hashing for unknown users
//	session   the session manager and its middleware; the store interface
//	jose      JWS, JWT, JWK and JWKS on the standard library
//	memstore  in-memory stores (tests, single process)
//	sqlite    the embedded default store
//	storetest the conformance suite every store passes
//	server    the HTTP server behind `sesame serve`
package sesame
