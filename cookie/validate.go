package cookie

import (
	"errors"
	"fmt"
	"strings"
)

// MaxCookieBytes is the largest name plus value, in bytes, that user agents
// are required to store (RFC 6265bis §5.6). Larger cookies are dropped.
const MaxCookieBytes = 4096

// MaxAttributeBytes is the largest attribute value, in bytes, that user agents
// honour (RFC 6265bis §5.6). A longer Path or Domain would be ignored,
// silently changing the cookie's scope.
const MaxAttributeBytes = 1024

// Name prefixes with meaning to user agents (RFC 6265bis §4.1.3). They are
// matched ignoring case, as current user agents do; for a writer this only
// means refusing more.
const (
	hostPrefix   = "__Host-"
	securePrefix = "__Secure-"
	// httpPrefix and hostHTTPPrefix are the HttpOnly-enforcing prefixes
	// being rolled out by user agents; "__Host-Http-" also starts with
	// "__Host-" and so carries both sets of rules.
	httpPrefix     = "__Http-"
	hostHTTPPrefix = "__Host-Http-"
)

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// isTokenChar reports whether b is a tchar (RFC 9110 §5.6.2), the characters
// allowed in a cookie name.
func isTokenChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}

// isCookieOctet reports whether b is a cookie-octet (RFC 6265 §4.1.1):
// printable US-ASCII except DQUOTE, comma, semicolon and backslash.
func isCookieOctet(b byte) bool {
	return b == 0x21 ||
		(0x23 <= b && b <= 0x2B) ||
		(0x2D <= b && b <= 0x3A) ||
		(0x3C <= b && b <= 0x5B) ||
		(0x5D <= b && b <= 0x7E)
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isCookieValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isCookieOctet(s[i]) {
			return false
		}
	}
	return true
}

func validateName(name string) error {
	if name == "" {
		return errors.New("cookie: empty name")
	}
	if !isToken(name) {
		return fmt.Errorf("cookie: name %q has a character outside an HTTP token", name)
	}
	return nil
}

func validateValue(value string) error {
	for i := 0; i < len(value); i++ {
		if !isCookieOctet(value[i]) {
			// The value may be secret: name the byte, not the value.
			return fmt.Errorf("cookie: value byte %d is %q, not a cookie-octet (no controls, whitespace, '\"', ',', ';', '\\\\' or non-ASCII)", i, value[i])
		}
	}
	return nil
}

// validatePath accepts an absolute path of printable ASCII without ';' or ','.
// RFC 6265bis would allow more, but nothing legitimate needs it, and both
// characters have been used to split or fold Set-Cookie headers.
func validatePath(path string) error {
	if len(path) > MaxAttributeBytes {
		return fmt.Errorf("cookie: path is %d bytes, over the %d-byte limit: %w", len(path), MaxAttributeBytes, ErrTooLarge)
	}
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("cookie: path %q does not start with '/'", path)
	}
	for i := 0; i < len(path); i++ {
		if b := path[i]; b <= 0x20 || b >= 0x7F || b == ';' || b == ',' {
			return fmt.Errorf("cookie: path %q has an invalid byte %q", path, b)
		}
	}
	return nil
}

// validateDomain accepts a host name of letters, digits and hyphens in
// dot-separated labels (RFC 1034 "subdomain", as RFC 6265 §4.1.1 asks of
// servers). A leading dot is refused rather than passed on: user agents
// ignore it, so it only misleads the reader.
func validateDomain(domain string) error {
	if len(domain) > MaxAttributeBytes {
		return fmt.Errorf("cookie: domain is %d bytes, over the %d-byte limit: %w", len(domain), MaxAttributeBytes, ErrTooLarge)
	}
	if len(domain) > 253 {
		return fmt.Errorf("cookie: domain is %d bytes, longer than a host name can be", len(domain))
	}
	if strings.HasPrefix(domain, ".") {
		return fmt.Errorf("cookie: domain %q starts with '.', which user agents ignore; drop it", domain)
	}
	for label := range strings.SplitSeq(domain, ".") {
		if err := validateLabel(label); err != nil {
			return fmt.Errorf("cookie: domain %q: %w", domain, err)
		}
	}
	return nil
}

func validateLabel(label string) error {
	if label == "" || len(label) > 63 {
		return errors.New("label must be 1 to 63 bytes")
	}
	if label[0] == '-' || label[len(label)-1] == '-' {
		return errors.New("label starts or ends with '-'")
	}
	for i := 0; i < len(label); i++ {
		b := label[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-') {
			return fmt.Errorf("label has an invalid byte %q", b)
		}
	}
	return nil
}
