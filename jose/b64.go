package jose

// Strict unpadded base64url (RFC 7515 §2): only the 64 alphabet characters,
// no padding, no whitespace or line breaks (which encoding/base64 silently
// skips), and zero bits in the unused low bits of the last character, so that
// every byte string has exactly one accepted spelling.

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

var b64Decode = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(b64Alphabet); i++ {
		t[b64Alphabet[i]] = byte(i)
	}
	return t
}()

// b64DecodedLen returns the decoded length of n base64url characters, or -1
// when n cannot be the length of an unpadded encoding.
func b64DecodedLen(n int) int {
	if n%4 == 1 {
		return -1
	}
	return n/4*3 + (n%4*3)/4
}

// b64DecodeAppend appends the decoding of s to dst. It reports false when s
// is not canonical unpadded base64url.
func b64DecodeAppend(dst []byte, s string) ([]byte, bool) {
	n := b64DecodedLen(len(s))
	if n < 0 {
		return dst, false
	}
	i := 0
	for ; i+4 <= len(s); i += 4 {
		a, b, c, d := b64Decode[s[i]], b64Decode[s[i+1]], b64Decode[s[i+2]], b64Decode[s[i+3]]
		if a|b|c|d == 0xff {
			return dst, false
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		dst = append(dst, byte(v>>16), byte(v>>8), byte(v))
	}
	switch len(s) - i {
	case 2:
		a, b := b64Decode[s[i]], b64Decode[s[i+1]]
		if a|b == 0xff || b&0x0f != 0 {
			return dst, false
		}
		dst = append(dst, a<<2|b>>4)
	case 3:
		a, b, c := b64Decode[s[i]], b64Decode[s[i+1]], b64Decode[s[i+2]]
		if a|b|c == 0xff || c&0x03 != 0 {
			return dst, false
		}
		v := uint32(a)<<12 | uint32(b)<<6 | uint32(c)
		dst = append(dst, byte(v>>10), byte(v>>2))
	}
	return dst, true
}

// b64DecodeString decodes s into a new slice.
func b64DecodeString(s string) ([]byte, bool) {
	n := b64DecodedLen(len(s))
	if n < 0 {
		return nil, false
	}
	return b64DecodeAppend(make([]byte, 0, n), s)
}

// b64EncodedLen returns the unpadded encoded length of n bytes.
func b64EncodedLen(n int) int { return n/3*4 + (n%3*4+2)/3 }

// b64EncodeAppend appends the unpadded base64url encoding of src to dst.
func b64EncodeAppend(dst, src []byte) []byte {
	i := 0
	for ; i+3 <= len(src); i += 3 {
		v := uint32(src[i])<<16 | uint32(src[i+1])<<8 | uint32(src[i+2])
		dst = append(dst, b64Alphabet[v>>18&0x3f], b64Alphabet[v>>12&0x3f], b64Alphabet[v>>6&0x3f], b64Alphabet[v&0x3f])
	}
	switch len(src) - i {
	case 1:
		v := uint32(src[i]) << 16
		dst = append(dst, b64Alphabet[v>>18&0x3f], b64Alphabet[v>>12&0x3f])
	case 2:
		v := uint32(src[i])<<16 | uint32(src[i+1])<<8
		dst = append(dst, b64Alphabet[v>>18&0x3f], b64Alphabet[v>>12&0x3f], b64Alphabet[v>>6&0x3f])
	}
	return dst
}

// b64EncodeToString returns the unpadded base64url encoding of src.
func b64EncodeToString(src []byte) string {
	return string(b64EncodeAppend(make([]byte, 0, b64EncodedLen(len(src))), src))
}
