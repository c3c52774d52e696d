package cookie

import (
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"strings"
)

// MaxHeaderBytes is the largest Cookie header accepted, in bytes. When a
// request carries several Cookie header lines (HTTP/2 may split them), the
// limit applies to the lines joined with "; ", as RFC 9113 §8.2.3 joins them.
// Over the limit, [Get], [GetAll] and [Parse] return [ErrHeaderTooLarge] and
// a server should answer 431.
const MaxHeaderBytes = 8 << 10

// Pair is one name=value pair of a request's Cookie header. Its String,
// GoString, LogValue and MarshalJSON methods redact Value, which may be a
// session token.
type Pair struct {
	Name, Value string
}

// String describes p with its Value redacted.
func (p Pair) String() string { return fmt.Sprintf("%q=%s", p.Name, redacted) }

// GoString is String, so that the %#v verb does not print Value either.
func (p Pair) GoString() string { return p.String() }

// LogValue implements slog.LogValuer with the Value redacted.
func (p Pair) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", p.Name), slog.String("value", redacted))
}

// MarshalJSON encodes p with its Value redacted, for slog's JSON handler,
// which encodes a slice of Pairs with encoding/json rather than LogValue.
func (p Pair) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct{ Name, Value string }{p.Name, redacted})
}

// Parse parses the value of a Cookie request header into its pairs, in the
// order sent. It is lenient about junk, as a server must be, and strict about
// what it returns: a pair is skipped unless it has the form name=value with a
// token name (RFC 9110 §5.6.2), a value of cookie-octets (RFC 6265 §4.1.1),
// and at most [MaxCookieBytes] in total. Whitespace is trimmed around a pair
// but not around its '='.
//
// A value in double quotes is skipped too: RFC 6265's grammar allows one pair
// of quotes, but Sesame never writes them and user agents send them back
// verbatim, so accepting them would only give one value two spellings.
//
// Parse returns [ErrHeaderTooLarge] for a header over [MaxHeaderBytes]; it
// never panics.
func Parse(header string) ([]Pair, error) {
	if len(header) > MaxHeaderBytes {
		return nil, ErrHeaderTooLarge
	}
	var pairs []Pair
	for name, value := range pairsOf(header) {
		pairs = append(pairs, Pair{Name: name, Value: value})
	}
	return pairs, nil
}

// Get returns the value of the first well-formed cookie named name in r's
// Cookie header lines, or [ErrNotFound]. It returns [ErrHeaderTooLarge] when
// the lines together exceed [MaxHeaderBytes], whether or not name is present.
// Malformed pairs are skipped as [Parse] skips them. Names are compared
// exactly, with case; a name that is not a token is never found.
//
// When a name occurs more than once (cookie tossing, SEC-07), the first
// occurrence wins. User agents send cookies with longer paths first and,
// among equal paths, older cookies first (RFC 6265 §5.4), so the first
// occurrence is the most specific cookie. For a "__Host-" name, a conforming
// user agent holds at most one cookie per host (it is host-only with Path=/,
// and neither a sibling domain nor a plain-HTTP page can set it), so a
// duplicate means a non-conforming client; use [GetAll] to detect and refuse
// it. A non-prefixed name offers no such guarantee: a sibling subdomain can
// plant a cookie with a longer path that comes first.
func Get(r *http.Request, name string) (string, error) {
	lines, err := cookieLines(r)
	if err != nil {
		return "", err
	}
	for _, line := range lines {
		for n, v := range pairsOf(line) {
			if n == name {
				return v, nil
			}
		}
	}
	return "", ErrNotFound
}

// GetAll returns the values of every well-formed cookie named name in r, in
// the order sent, or [ErrNotFound] when there is none. More than one value
// means the name is duplicated, possibly by cookie tossing; see [Get].
func GetAll(r *http.Request, name string) ([]string, error) {
	lines, err := cookieLines(r)
	if err != nil {
		return nil, err
	}
	var values []string
	for _, line := range lines {
		for n, v := range pairsOf(line) {
			if n == name {
				values = append(values, v)
			}
		}
	}
	if len(values) == 0 {
		return nil, ErrNotFound
	}
	return values, nil
}

// CheckHeaderSize returns [ErrHeaderTooLarge] when r's Cookie header lines,
// joined, exceed [MaxHeaderBytes], and nil otherwise. It applies exactly the
// rule of [Get], so a middleware that answers 431 early agrees with it.
func CheckHeaderSize(r *http.Request) error {
	_, err := cookieLines(r)
	return err
}

// cookieLines returns r's Cookie header lines after checking their joined
// size.
func cookieLines(r *http.Request) ([]string, error) {
	if r == nil {
		return nil, nil
	}
	lines := r.Header.Values("Cookie")
	size := 0
	for i, line := range lines {
		if i > 0 {
			size += len("; ")
		}
		size += len(line)
		if size > MaxHeaderBytes {
			return nil, ErrHeaderTooLarge
		}
	}
	return lines, nil
}

// pairsOf yields the well-formed pairs of one Cookie header line without
// allocating.
func pairsOf(line string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for piece := range strings.SplitSeq(line, ";") {
			name, value, ok := strings.Cut(strings.Trim(piece, " \t"), "=")
			if !ok || len(name)+len(value) > MaxCookieBytes || !isToken(name) || !isCookieValue(value) {
				continue
			}
			if !yield(name, value) {
				return
			}
		}
	}
}
