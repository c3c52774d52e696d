package jose

import (
	"unicode/utf16"
	"unicode/utf8"
)

// A strict JSON scanner for JOSE headers, claims and JWKs. Unlike
// encoding/json it rejects duplicate member names (at every depth), invalid
// UTF-8 and lone surrogate escapes, matches member names case-sensitively,
// and hands out string values as substrings of its input when they contain
// no escapes, so decoding a token allocates almost nothing.

const maxJSONDepth = 32

type scanner struct {
	s   string
	pos int
}

func (sc *scanner) ws() {
	for sc.pos < len(sc.s) {
		switch sc.s[sc.pos] {
		case ' ', '\t', '\n', '\r':
			sc.pos++
		default:
			return
		}
	}
}

func (sc *scanner) peek() byte {
	if sc.pos < len(sc.s) {
		return sc.s[sc.pos]
	}
	return 0
}

func (sc *scanner) consume(c byte) bool {
	sc.ws()
	if sc.pos < len(sc.s) && sc.s[sc.pos] == c {
		sc.pos++
		return true
	}
	return false
}

// atEnd reports whether only whitespace remains.
func (sc *scanner) atEnd() bool {
	sc.ws()
	return sc.pos == len(sc.s)
}

// str reads a JSON string at the current position and returns its decoded
// value.
func (sc *scanner) str() (string, bool) {
	sc.ws()
	if sc.pos >= len(sc.s) || sc.s[sc.pos] != '"' {
		return "", false
	}
	start := sc.pos + 1
	for i := start; i < len(sc.s); {
		c := sc.s[i]
		switch {
		case c == '"':
			sc.pos = i + 1
			return sc.s[start:i], true
		case c == '\\':
			return sc.strEscaped(start, i)
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRuneInString(sc.s[i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			i += size
		}
	}
	return "", false
}

// strEscaped continues str for a string with escapes, which needs a copy.
func (sc *scanner) strEscaped(start, i int) (string, bool) {
	buf := make([]byte, 0, len(sc.s)-start)
	buf = append(buf, sc.s[start:i]...)
	for i < len(sc.s) {
		c := sc.s[i]
		switch {
		case c == '"':
			sc.pos = i + 1
			return string(buf), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if i+1 >= len(sc.s) {
				return "", false
			}
			e := sc.s[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := hex4(sc.s, i)
				if !ok {
					return "", false
				}
				i += 4
				if utf16.IsSurrogate(r) {
					if r >= 0xdc00 || i+6 > len(sc.s) || sc.s[i] != '\\' || sc.s[i+1] != 'u' {
						return "", false // lone surrogate
					}
					r2, ok := hex4(sc.s, i+2)
					if !ok {
						return "", false
					}
					r = utf16.DecodeRune(r, r2)
					if r == utf8.RuneError {
						return "", false
					}
					i += 6
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", false
			}
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(sc.s[i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			buf = append(buf, sc.s[i:i+size]...)
			i += size
		}
	}
	return "", false
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a JSON number and returns its text.
func (sc *scanner) number() (string, bool) {
	sc.ws()
	s, start := sc.s, sc.pos
	i := start
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return "", false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == d {
			return "", false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == d {
			return "", false
		}
	}
	sc.pos = i
	return s[start:i], true
}

func (sc *scanner) literal(lit string) bool {
	if len(sc.s)-sc.pos >= len(lit) && sc.s[sc.pos:sc.pos+len(lit)] == lit {
		sc.pos += len(lit)
		return true
	}
	return false
}

// value skips one JSON value, checking it as strictly as the rest, and
// returns its text.
func (sc *scanner) value(depth int) (string, bool) {
	sc.ws()
	start := sc.pos
	ok := false
	switch c := sc.peek(); {
	case c == '"':
		_, ok = sc.str()
	case c == '{':
		ok = sc.skipObject(depth + 1)
	case c == '[':
		ok = sc.skipArray(depth + 1)
	case c == 't':
		ok = sc.literal("true")
	case c == 'f':
		ok = sc.literal("false")
	case c == 'n':
		ok = sc.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		_, ok = sc.number()
	}
	return sc.s[start:sc.pos], ok
}

func (sc *scanner) skipObject(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	var names nameSet
	it := sc.object()
	for {
		name, more, ok := it.next()
		if !ok {
			return false
		}
		if !more {
			return true
		}
		if !names.add(name) {
			return false
		}
		if _, ok := sc.value(depth); !ok {
			return false
		}
	}
}

func (sc *scanner) skipArray(depth int) bool {
	if depth > maxJSONDepth || !sc.consume('[') {
		return false
	}
	if sc.consume(']') {
		return true
	}
	for {
		if _, ok := sc.value(depth); !ok {
			return false
		}
		if sc.consume(',') {
			continue
		}
		return sc.consume(']')
	}
}

// objectIter walks the members of an object: next returns each name with
// the scanner positioned at its value, and more=false after the closing
// brace.
type objectIter struct {
	sc    *scanner
	state uint8 // 0 before '{', 1 first member, 2 after a value
}

func (sc *scanner) object() objectIter { return objectIter{sc: sc} }

func (it *objectIter) next() (name string, more, ok bool) {
	sc := it.sc
	switch it.state {
	case 0:
		if !sc.consume('{') {
			return "", false, false
		}
		it.state = 1
		if sc.consume('}') {
			return "", false, true
		}
	default:
		if sc.consume('}') {
			return "", false, true
		}
		if !sc.consume(',') {
			return "", false, false
		}
	}
	it.state = 2
	name, ok = sc.str()
	if !ok || !sc.consume(':') {
		return "", false, false
	}
	sc.ws()
	return name, true, true
}

// nameSet detects duplicate member names without allocating for objects of
// up to 16 members.
type nameSet struct {
	small [16]string
	n     int
	big   map[string]struct{}
}

func (s *nameSet) add(name string) bool {
	for _, n := range s.small[:min(s.n, len(s.small))] {
		if n == name {
			return false
		}
	}
	if s.big != nil {
		if _, dup := s.big[name]; dup {
			return false
		}
	}
	if s.n < len(s.small) {
		s.small[s.n] = name
	} else {
		if s.big == nil {
			s.big = make(map[string]struct{})
		}
		s.big[name] = struct{}{}
	}
	s.n++
	return true
}

// stringArray reads a JSON array of strings.
func (sc *scanner) stringArray() ([]string, bool) {
	if !sc.consume('[') {
		return nil, false
	}
	var out []string
	if sc.consume(']') {
		return []string{}, true
	}
	for {
		v, ok := sc.str()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		if sc.consume(',') {
			continue
		}
		return out, sc.consume(']')
	}
}

// validJSONObject reports whether s is one strict JSON object.
func validJSONObject(s string) bool {
	sc := scanner{s: s}
	sc.ws()
	if sc.peek() != '{' {
		return false
	}
	if _, ok := sc.value(0); !ok {
		return false
	}
	return sc.atEnd()
}
