package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/authz"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/verify"
)

// assertionTTL is the longest lifetime of a forward-auth assertion.
const assertionTTL = 60 * time.Second

// signAssertion signs the assertion of an allowed forward-auth answer
// (verify.AssertionType): iss the issuer, sub the user ID, aud the
// upstream's host name (without port, lower case), sid, the username and
// groups; it expires after 60 s or at the end of the credential (the
// session's absolute end, or the access token's exp), whichever is first.
func (s *Server) signAssertion(r *http.Request, o *original, p *sesame.Principal, c *authz.Caller) (string, error) {
	now := s.sessions.Config().Clock.Now()
	exp := now.Add(assertionTTL)
	if end := credentialEnd(r, p); !end.IsZero() && end.Before(exp) {
		exp = end
	}
	groups := c.Groups
	if groups == nil {
		groups = []string{}
	}
	a := &verify.Assertion{
		Claims: jose.Claims{Issuer: s.cfg.Forward.Issuer, Subject: p.UserID, Audience: jose.Audience{audienceHost(o.host)},
			IssuedAt: jose.NewNumericDate(now), ExpiresAt: jose.NewNumericDate(exp)},
		SessionID: p.SessionID, Username: c.Name, Groups: groups,
	}
	key := s.cfg.Forward.Keys.SigningKey()
	if key == nil {
		return "", sesame.Errorf(sesame.EUnavailable, "no signing key")
	}
	tok, err := jose.SignJWT(key, a, jose.SignOptions{Type: verify.AssertionType})
	if err != nil {
		return "", sesame.Wrap(sesame.EInternal, err, "could not sign the assertion")
	}
	return tok, nil
}

// credentialEnd is when the request's credential stops being valid: the
// access token's exp, or the cookie session's absolute end.
func credentialEnd(r *http.Request, p *sesame.Principal) time.Time {
	if p.Claims != nil {
		return p.Claims.ExpiresAt.Time
	}
	if info, ok := session.Current(r.Context()); ok {
		return info.ExpiresAt
	}
	return time.Time{}
}

// audienceHost is the host name of a host[:port], lower case, without a
// trailing dot: the aud of an assertion.
func audienceHost(host string) string {
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i > 0 {
			return strings.ToLower(host[:i+1])
		}
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}
