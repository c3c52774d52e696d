package config

import (
	"slices"

	"github.com/sesame-auth/sesame/jose"
)

// checkSigningAlgs checks signing_algs: asymmetric JWS algorithms (their
// public keys are published), each once, at least one; RS256 among them
// when the OpenID Provider is on (OpenID Connect Core §15.1: every client
// must accept it, and id_token_alg defaults to it); and every client's
// id_token_alg among them.
func (c *Config) checkSigningAlgs(ps *Problems) {
	if len(c.SigningAlgs) == 0 {
		c.problem(ps, "signing_algs", "no algorithm listed: want one or more of ES256, RS256, ... (the first signs access tokens)")
		return
	}
	for i, a := range c.SigningAlgs {
		alg := jose.Algorithm(a)
		switch {
		case alg == "":
			c.problem(ps, "signing_algs", "an empty entry")
		case alg.Symmetric():
			c.problem(ps, "signing_algs", "%q is an HMAC algorithm, whose key cannot be published: want an asymmetric one such as ES256 or RS256", a)
		case !alg.Valid():
			c.problem(ps, "signing_algs", "%q: want ES256, ES384, ES512, EdDSA, RS256, RS384, RS512, PS256, PS384 or PS512 (in capitals)", truncateText(a, 16))
		case slices.Contains(c.SigningAlgs[:i], a):
			c.problem(ps, "signing_algs", "%s is listed twice", a)
		}
	}
	if !c.OIDC {
		return
	}
	if !slices.Contains(c.SigningAlgs, string(jose.RS256)) {
		c.problem(ps, "signing_algs", "oidc is on, and OpenID Connect requires RS256 (every client must accept it): add RS256, or set oidc: false")
	}
	for _, cl := range c.Clients {
		if alg := cl.IDTokenAlg; slices.Contains(ClientIDTokenAlgs, alg) && !slices.Contains(c.SigningAlgs, alg) { // an invalid one is id_token_alg's problem
			c.problem(ps, "signing_algs", "client %q signs its ID tokens with %s (id_token_alg), which is not listed", cl.ID, alg)
		}
	}
}
