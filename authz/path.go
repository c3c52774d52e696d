package authz

import (
	"bytes"
	"errors"
)

// MaxPathBytes bounds the path [Rules.Decide] and [CleanPath] accept (the
// part before any '?'); a longer path is [Invalid].
const MaxPathBytes = 8 << 10

// ErrBadPath is the error [CleanPath] returns for a path that is refused:
// see [CleanPath] for the list. Decide answers such a path with [Invalid].
var ErrBadPath = errors.New("authz: malformed or ambiguous path")

// CleanPath returns the path the rules are matched against, from the path
// of a request-target as the client sent it, percent-encoded ("/a/%2e%2e/b",
// "/wiki//page?x=1"):
//
//   - everything from the first '?' (the query) is dropped; an empty path
//     is "/";
//   - percent-escapes are decoded, once, as upstream servers do
//     ("%252e" is the text "%2e", not a dot: an upstream that decodes
//     twice is not protected);
//   - runs of '/' are merged into one, "." segments removed, ".." segments
//     remove the segment before them (never climbing above "/"), as in
//     RFC 3986 §5.2.4;
//   - a trailing slash is kept, and a path ending in "/." or "/.." gets one
//     ("/a/b/.." is "/a/"), so "/admin" and "/admin/" stay distinct for a
//     regular expression; prefix rules treat them alike.
//
// A path that upstream servers may read in different ways is refused with
// [ErrBadPath] rather than guessed at, since any guess lets some rule be
// bypassed on some upstream (SEC-57): a path not starting with '/', a bad
// percent-escape, an encoded slash (%2F: one server splits on it, another
// does not), a backslash raw or encoded (a separator on some servers), a
// ';' (path parameters: Tomcat reads "/public/..;/admin" as "/admin"), a
// '#', a NUL or other control character (raw or encoded), or more than
// [MaxPathBytes] bytes.
//
// A path that is already clean is returned as it is, without allocating.
func CleanPath(raw string) (string, error) {
	for i := 0; i < len(raw); i++ {
		if raw[i] == '?' {
			raw = raw[:i]
			break
		}
	}
	if raw == "" {
		return "/", nil
	}
	if len(raw) > MaxPathBytes || raw[0] != '/' {
		return "", ErrBadPath
	}
	clean, ok := checkClean(raw)
	if !ok {
		return "", ErrBadPath
	}
	if clean {
		return raw, nil
	}
	return rebuild(raw)
}

// checkClean scans raw for refused bytes (ok false) and reports whether it
// is already in clean form: no escape, no empty, "." or ".." segment
// except a final empty one (a trailing slash).
func checkClean(raw string) (clean, ok bool) {
	clean = true
	segStart := 1
	for i := 1; i <= len(raw); i++ {
		if i < len(raw) {
			c := raw[i]
			switch {
			case c == '%':
				clean = false
				continue
			case c == '\\' || c == ';' || c == '#' || c < 0x20 || c == 0x7f:
				return false, false
			case c != '/':
				continue
			}
		}
		seg := raw[segStart:i]
		if (seg == "" && i < len(raw)) || seg == "." || seg == ".." {
			clean = false
		}
		segStart = i + 1
	}
	return clean, true
}

// rebuild decodes and cleans a path that checkClean did not refuse.
func rebuild(raw string) (string, error) {
	dec := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' {
			if i+2 >= len(raw) || !ishex(raw[i+1]) || !ishex(raw[i+2]) {
				return "", ErrBadPath
			}
			c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
			if c == '/' || c == '\\' || c < 0x20 || c == 0x7f {
				return "", ErrBadPath
			}
		}
		dec = append(dec, c)
	}
	// out always ends with '/' while segments are added; the final one is
	// removed at the end unless the path ends in a directory.
	out := make([]byte, 1, len(dec)+1)
	out[0] = '/'
	dir := false
	for seg := range bytes.SplitSeq(dec[1:], []byte{'/'}) {
		switch string(seg) {
		case "", ".":
			dir = true
		case "..":
			if len(out) > 1 {
				j := len(out) - 2
				for out[j] != '/' {
					j--
				}
				out = out[:j+1]
			}
			dir = true
		default:
			out = append(append(out, seg...), '/')
			dir = false
		}
	}
	if !dir && len(out) > 1 {
		out = out[:len(out)-1]
	}
	return string(out), nil
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
