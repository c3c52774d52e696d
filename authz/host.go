package authz

// splitHost splits a request's Host ("wiki.example.com", "Wiki.Example.COM.:8443",
// "[::1]:8080") into its name, without one trailing dot, and its port (-1
// when absent). ok is false for a malformed host: empty, a character that
// is not allowed in a host name, an empty label, an unbracketed IPv6
// address or a bad port. It does not allocate.
func splitHost(h string) (name string, port int, ok bool) {
	port = -1
	if h == "" {
		return "", 0, false
	}
	rest := ""
	if h[0] == '[' {
		end := -1
		for i := 1; i < len(h); i++ {
			if h[i] == ']' {
				end = i
				break
			}
		}
		if end < 0 {
			return "", 0, false
		}
		name, rest = h[:end+1], h[end+1:]
		for i := 1; i < end; i++ {
			if c := h[i]; !(ishex(c) || c == ':' || c == '.') {
				return "", 0, false
			}
		}
		if end == 1 {
			return "", 0, false
		}
	} else {
		name = h
		for i := len(h) - 1; i >= 0; i-- {
			if h[i] == ':' {
				name, rest = h[:i], h[i:]
				break
			}
		}
		if len(name) > 0 && name[len(name)-1] == '.' {
			name = name[:len(name)-1]
		}
		if !validName(name) {
			return "", 0, false
		}
	}
	if rest != "" {
		if rest[0] != ':' || len(rest) == 1 || len(rest) > 6 {
			return "", 0, false
		}
		port = 0
		for i := 1; i < len(rest); i++ {
			c := rest[i]
			if c < '0' || c > '9' {
				return "", 0, false
			}
			port = port*10 + int(c-'0')
		}
		if port > 65535 {
			return "", 0, false
		}
	}
	return name, port, true
}

// validName reports whether s is a host name made of non-empty labels of
// ASCII letters, digits, '-' and '_'.
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
		label++
	}
	return label > 0
}

// equalFold compares two strings ignoring ASCII case only: Unicode case
// folding would let "\u212Aiosk" (KELVIN SIGN) match a rule for "kiosk".
// b must be lower case.
func equalFold(a, lower string) bool {
	if len(a) != len(lower) {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// toLower lower-cases ASCII letters.
func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
