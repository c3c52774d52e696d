package jose

import (
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. It escapes quotes,
// backslashes, control characters, and U+2028/U+2029 (as encoding/json
// does), and reports false when s is not valid UTF-8.
func appendJSONString(dst []byte, s string) ([]byte, bool) {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return dst, false
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			start = i + size
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), true
}

// appendMember appends "name": to dst, preceded by a comma unless dst ends
// with '{'.
func appendMemberName(dst []byte, name string) []byte {
	if len(dst) > 0 && dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	dst, _ = appendJSONString(dst, name)
	return append(dst, ':')
}

func appendStringMember(dst []byte, name, value string) ([]byte, bool) {
	return appendJSONString(appendMemberName(dst, name), value)
}

func appendIntMember(dst []byte, name string, v int64) []byte {
	return strconv.AppendInt(appendMemberName(dst, name), v, 10)
}

func appendB64Member(dst []byte, name string, b []byte) []byte {
	dst = append(appendMemberName(dst, name), '"')
	return append(b64EncodeAppend(dst, b), '"')
}
