package verify

import (
	"context"
	"errors"
	"net/http"

	"github.com/sesame-auth/sesame"
)

type claimsKey struct{}
type rejectionKey struct{}

// NewContext returns ctx carrying c, as [Verifier.Middleware] does; useful
// to test handlers.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// FromContext returns the claims of the verified access token of the
// request, or nil outside [Verifier.Middleware].
func FromContext(ctx context.Context) *Claims {
	c, _ := ctx.Value(claimsKey{}).(*Claims)
	return c
}

// Rejection returns the error for which [Verifier.Middleware] refused r,
// for use in a [Config.DenyHandler]; nil outside one.
func Rejection(r *http.Request) error {
	err, _ := r.Context().Value(rejectionKey{}).(error)
	return err
}

// Check is the decision: it reads the bearer token of r (see
// [BearerToken]) and verifies it with [Verifier.Verify].
func (v *Verifier) Check(r *http.Request) (*Claims, error) {
	token, err := BearerToken(r)
	if err != nil {
		return nil, err
	}
	return v.Verify(r.Context(), token)
}

// Middleware is the enforcement: a request that passes [Verifier.Check]
// goes to next with its claims in the context ([FromContext]); any other
// goes to [Config.DenyHandler] and never reaches next. It fails closed:
// when the verifier cannot decide, the request is refused with 503.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := v.Check(r)
		if err != nil {
			v.log.DebugContext(r.Context(), "verify: request refused", "err", err)
			v.deny.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), rejectionKey{}, err)))
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), c)))
	})
}

// BearerToken returns the token of the request's "Authorization: Bearer"
// header (RFC 6750 §2.1), strictly: exactly one Authorization header, the
// scheme "Bearer" in any letter case, exactly one space, and a non-empty
// b64token. A request without the header, or with another scheme, fails
// with [ErrNoToken]; a malformed one with [ErrMalformedAuthorization].
// Tokens in the query string or a form body are never read.
func BearerToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", errNoToken
	case 1:
	default:
		return "", errMalformed
	}
	return parseBearer(values[0])
}

// parseBearer is [sesame.ParseBearer] with this package's errors.
func parseBearer(h string) (string, error) {
	tok, err := sesame.ParseBearer(h)
	switch {
	case errors.Is(err, sesame.ErrNoBearer):
		return "", errNoToken // another scheme: no bearer credentials
	case err != nil:
		return "", errMalformed
	}
	return tok, nil
}

// Challenge returns the status and WWW-Authenticate value for err, an
// error of [Verifier.Check]: 503 and "" when the verifier cannot decide;
// 401 and `Bearer` when no token was presented; 401 and
// `Bearer error="invalid_token"` otherwise (RFC 6750 §3). For a custom
// [Config.DenyHandler].
func Challenge(err error) (status int, wwwAuthenticate string) {
	switch {
	case sesame.ErrorCode(err) == sesame.EUnavailable:
		return http.StatusServiceUnavailable, ""
	case errors.Is(err, ErrNoToken):
		return http.StatusUnauthorized, "Bearer"
	default:
		return http.StatusUnauthorized, `Bearer error="invalid_token"`
	}
}

func defaultDeny(w http.ResponseWriter, r *http.Request) {
	err := Rejection(r)
	status, challenge := Challenge(err)
	h := w.Header()
	if challenge != "" {
		h.Set("WWW-Authenticate", challenge)
	}
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	code, msg := sesame.EUnauthenticated, msgInvalid
	switch {
	case status == http.StatusServiceUnavailable:
		code, msg = sesame.EUnavailable, msgUnavailable
	case errors.Is(err, ErrNoToken):
		msg = msgNoToken
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":{"code":"` + string(code) + `","message":"` + msg + `"}}` + "\n"))
}
