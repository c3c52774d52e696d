package sesame

import (
	"strings"

	"github.com/sesame-auth/sesame/jose"
)

// AccessClaims are the claims of a Sesame access token (a JWT of type
// at+jwt, RFC 9068): the registered claims iss, sub, aud, exp, iat and
// jti, the session ID sid that binds the token to one server-side session,
// the client_id it was issued to and its scope. The issuer (package token),
// the downstream verifier (package verify) and the server share this one
// type. Groups, the user's groups ([User.Groups]) when the issuer is set
// to include them (token.Config.Groups, the groups_claim setting), is
// omitted for a user in none.
//
// Claims returned by a verifier may share their Audience slice with a
// cache: do not modify it.
type AccessClaims struct {
	jose.Claims
	SessionID string   `json:"sid"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope,omitempty"`
	Groups    []string `json:"groups,omitempty"`

	// AuthTime, ACR and AMR say how the session was authenticated when
	// the token was issued (RFC 9068 §2.2.1): AuthTime is the session's
	// [Session.StepUpTime], so a token issued before a step-up does not
	// carry it (SEC-14); ACR and AMR are [Session.Level] and
	// [Session.Methods]. Absent from tokens issued before they were added.
	AuthTime jose.NumericDate `json:"auth_time,omitzero"`
	ACR      string           `json:"acr,omitempty"`
	AMR      []string         `json:"amr,omitempty"`
}

// HasScope reports whether scope is one of the space-separated values of
// the scope claim. The empty scope is never held.
func (c *AccessClaims) HasScope(scope string) bool {
	if scope == "" {
		return false
	}
	for s := range strings.FieldsSeq(c.Scope) {
		if s == scope {
			return true
		}
	}
	return false
}
