package sesame

import "context"

// Method says how a request was authenticated.
type Method string

// The authentication methods.
const (
	MethodSession Method = "session" // a session cookie
	MethodBearer  Method = "bearer"  // an access token in the Authorization header
)

// Principal is who a request acts for.
type Principal struct {
	User    *User
	Session *Session
	Method  Method
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
