package cookie

import "errors"

// ErrTooLarge reports a cookie that user agents would silently drop or
// truncate: a name and value together over [MaxCookieBytes], or an attribute
// value over [MaxAttributeBytes] (SEC-04). The writer returns it instead of
// emitting a cookie that would never come back.
var ErrTooLarge = errors.New("cookie: too large")

// ErrHeaderTooLarge reports a request whose Cookie header lines, joined,
// exceed [MaxHeaderBytes]. A server should answer 431 Request Header Fields
// Too Large.
var ErrHeaderTooLarge = errors.New("cookie: cookie header too large")

// ErrNotFound reports that the request carries no well-formed cookie of the
// requested name.
var ErrNotFound = errors.New("cookie: not found")

// ErrInvalid reports a value that [Codec.Decode] cannot accept: malformed,
// tampered with, sealed for another cookie name, sealed under an unknown key,
// or expired. The error deliberately does not say which, except that
// errors.Is(err, [ErrExpired]) also holds for an expired value, which is only
// reported after the value has been authenticated.
var ErrInvalid = errors.New("cookie: invalid value")

// ErrExpired reports an authentic value used after the maxAge it was encoded
// with. errors.Is(ErrExpired, [ErrInvalid]) is true, so callers that treat
// every rejection alike need only check ErrInvalid.
var ErrExpired error = expiredError{}

type expiredError struct{}

func (expiredError) Error() string        { return "cookie: expired value" }
func (expiredError) Is(target error) bool { return target == ErrInvalid }
