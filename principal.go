package sesame

import (
	"context"
	"time"
)

// Method says how a request was authenticated.
type Method string

// The authentication methods.
const (
	MethodSession     Method = "session"      // a session cookie
	MethodBearer      Method = "bearer"       // an access token in the Authorization header
	MethodTokenCookie Method = "token-cookie" // an access token in an HttpOnly cookie (a same-site SPA)
)

// Principal is who a request acts for: the one answer to "who is calling",
// whatever the credential. The session middleware (package session) puts
// one in the context of a request with a signed-in session cookie; the
// token middleware (package token) of a request with a valid access token
// (which takes precedence when both are present). [RequireAuth] lets
// through only requests that have one.
//
// A Principal is a small value: it never holds the session's token or its
// hash. The one in a request's context is shared: copy it to change it.
type Principal struct {
	// UserID is the ID of the user the request acts for.
	UserID string
	// User is the user record when the application has looked it up (the
	// middlewares do not; they set only UserID).
	User *User
	// SessionID is the public ID of the session the credential belongs to:
	// the session cookie's, or the sid of the access token.
	SessionID string
	// Method is how the request proved it.
	Method Method
	// Claims are the verified access-token claims for MethodBearer and
	// MethodTokenCookie; nil for a session cookie.
	Claims *AccessClaims
	// AuthTime is when the credential was created: the session's creation
	// for a session cookie, the access token's iat for a token. A user's
	// SessionsNotBefore is compared with it ([User.Admits], SEC-13).
	AuthTime time.Time
	// ACR and AMR say how the session was authenticated ([Session.Level],
	// [Session.Methods]): the session's for a session cookie, the access
	// token's claims for a token.
	ACR string
	AMR []string
	// StepUpTime is when every factor of the session's level was last
	// given: [Session.StepUpTime] for a session cookie, the auth_time
	// claim for a token (so a token issued before a step-up does not carry
	// it). Sensitive actions require it to be recent (SEC-14).
	StepUpTime time.Time
}

type principalKey struct{}

// PrincipalKey is the context key under which [WithPrincipal] stores a
// *Principal. Only a middleware with its own context type needs it (its
// Value method answers this key); everyone else uses [WithPrincipal] and
// [PrincipalFrom].
var PrincipalKey any = principalKey{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// ContextWithPrincipal returns a context carrying a copy of p, made in the
// same allocation as the context itself: one allocation per request where
// [WithPrincipal] of a fresh Principal costs two. [PrincipalFrom] returns a
// pointer to the copy. A middleware that builds a Principal per request
// (the token middleware does) uses it.
func ContextWithPrincipal(ctx context.Context, p Principal) context.Context {
	return &principalContext{Context: ctx, p: p}
}

// principalContext is a context that carries a Principal by value.
type principalContext struct {
	context.Context
	p Principal
}

// Value implements context.Context.
func (c *principalContext) Value(key any) any {
	if key == PrincipalKey {
		return &c.p
	}
	return c.Context.Value(key)
}

// PrincipalFrom returns the principal in ctx, or nil when the request is
// not authenticated.
func PrincipalFrom(ctx context.Context) *Principal {
	if c, ok := ctx.(*principalContext); ok {
		return &c.p
	}
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
