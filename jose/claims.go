package jose

import (
	"math"
	"strconv"
	"time"
)

// Claims are the registered JWT claims (RFC 7519 §4.1). Embed Claims in
// your own struct to add private claims; [Verifier.Verify] and [SignJWT]
// then handle the registered ones without reflection:
//
//	type AccessClaims struct {
//		jose.Claims
//		SessionID string `json:"sid"`
//		ClientID  string `json:"client_id"`
//	}
//
// Do not give the outer struct fields of the same JSON names.
type Claims struct {
	Issuer    string      `json:"iss,omitempty"`
	Subject   string      `json:"sub,omitempty"`
	Audience  Audience    `json:"aud,omitempty"`
	ExpiresAt NumericDate `json:"exp,omitzero"`
	NotBefore NumericDate `json:"nbf,omitzero"`
	IssuedAt  NumericDate `json:"iat,omitzero"`
	ID        string      `json:"jti,omitempty"`
}

// RegisteredClaims returns c. Through embedding, it gives this package
// direct access to the registered claims of any struct that embeds Claims.
func (c *Claims) RegisteredClaims() *Claims { return c }

// registeredHolder is implemented by *Claims and by pointers to structs
// that embed Claims.
type registeredHolder interface{ RegisteredClaims() *Claims }

// NumericDate is a JWT date: seconds since the Unix epoch, as a JSON number
// (never a string). The zero value means the claim is absent.
type NumericDate struct{ time.Time }

// NewNumericDate returns t truncated to whole seconds, as JWTs usually
// carry them.
func NewNumericDate(t time.Time) NumericDate { return NumericDate{t.Truncate(time.Second)} }

// MarshalJSON writes the date as a JSON number of seconds: an integer,
// or a decimal fraction when the date has sub-second precision.
func (d NumericDate) MarshalJSON() ([]byte, error) { return d.appendJSON(nil), nil }

func (d NumericDate) appendJSON(b []byte) []byte {
	sec, nsec := d.Unix(), d.Nanosecond()
	if nsec == 0 {
		return strconv.AppendInt(b, sec, 10)
	}
	return strconv.AppendFloat(b, float64(sec)+float64(nsec)/1e9, 'f', -1, 64)
}

// UnmarshalJSON reads a non-negative JSON number of seconds. Strings,
// null and negative values are refused.
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	sc := scanner{s: string(b)}
	num, ok := sc.number()
	if !ok || !sc.atEnd() {
		return errDateType
	}
	v, ok := parseNumericDate(num)
	if !ok {
		return errDateType
	}
	*d = v
	return nil
}

// maxDateSeconds is 9999-12-31T23:59:59Z: later dates are refused.
const maxDateSeconds = 253402300799

func parseNumericDate(num string) (NumericDate, bool) {
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		if n < 0 || n > maxDateSeconds {
			return NumericDate{}, false
		}
		return NumericDate{time.Unix(n, 0)}, true
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f > maxDateSeconds || math.IsNaN(f) {
		return NumericDate{}, false
	}
	sec, frac := math.Modf(f)
	return NumericDate{time.Unix(int64(sec), int64(math.Round(frac*1e9)))}, true
}

// Audience is the aud claim: one or more recipients. It is written as a
// JSON string when it has one value and as an array otherwise, and read
// from either form.
type Audience []string

// Contains reports whether aud is one of the values.
func (a Audience) Contains(aud string) bool {
	for _, v := range a {
		if v == aud {
			return true
		}
	}
	return false
}

// MarshalJSON writes a single value as a string, several as an array.
func (a Audience) MarshalJSON() ([]byte, error) {
	b, ok := a.appendJSON(nil)
	if !ok {
		return nil, errClaimType
	}
	return b, nil
}

func (a Audience) appendJSON(b []byte) ([]byte, bool) {
	if len(a) == 1 {
		return appendJSONString(b, a[0])
	}
	b = append(b, '[')
	ok := true
	for i, v := range a {
		if i > 0 {
			b = append(b, ',')
		}
		var good bool
		b, good = appendJSONString(b, v)
		ok = ok && good
	}
	return append(b, ']'), ok
}

// UnmarshalJSON reads a JSON string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	sc := scanner{s: string(b)}
	v, ok := readAudience(&sc)
	if !ok || !sc.atEnd() {
		return errClaimType
	}
	*a = v
	return nil
}

func readAudience(sc *scanner) (Audience, bool) {
	sc.ws()
	if sc.peek() == '"' {
		s, ok := sc.str()
		if !ok {
			return nil, false
		}
		return Audience{s}, true
	}
	v, ok := sc.stringArray()
	return Audience(v), ok
}
