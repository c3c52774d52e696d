package codec

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/sesame-auth/sesame"
)

// ErrCorruptAuth reports a stored authentication state that does not
// decode.
var ErrCorruptAuth = errors.New("corrupt session authentication state")

// Auth is how a session was authenticated: the fields of sesame.Session
// that session stores keep in one value (AMR, ACR, FactorTime, Pending).
type Auth struct {
	AMR        []string
	ACR        string
	FactorTime time.Time
	Pending    bool
}

const authFormatV1 = 1

// EncodeAuth encodes a compactly: a format byte, a flags byte (1:
// pending), FactorTime as a varint of [Nanos], ACR, then the count of AMR
// values and each, strings as a uvarint length and bytes. The zero Auth
// (a session made before these fields, or an anonymous one) is nil (NULL).
func EncodeAuth(a Auth) []byte {
	if len(a.AMR) == 0 && a.ACR == "" && a.FactorTime.IsZero() && !a.Pending {
		return nil
	}
	b := make([]byte, 0, 32)
	b = append(b, authFormatV1)
	var flags byte
	if a.Pending {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, Nanos(a.FactorTime))
	b = appendField(b, a.ACR)
	b = binary.AppendUvarint(b, uint64(len(a.AMR)))
	for _, m := range a.AMR {
		b = appendField(b, m)
	}
	return b
}

func appendField(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// DecodeAuth decodes what EncodeAuth wrote; nil or empty is the zero Auth.
func DecodeAuth(b []byte) (Auth, error) {
	var a Auth
	if len(b) == 0 {
		return a, nil
	}
	if len(b) < 2 || b[0] != authFormatV1 || b[1]&^1 != 0 {
		return a, ErrCorruptAuth
	}
	a.Pending = b[1]&1 != 0
	b = b[2:]
	ft, k := binary.Varint(b)
	if k <= 0 {
		return Auth{}, ErrCorruptAuth
	}
	a.FactorTime = FromNanos(ft)
	b = b[k:]
	acr, b, ok := field(b)
	if !ok {
		return Auth{}, ErrCorruptAuth
	}
	a.ACR = string(acr)
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return Auth{}, ErrCorruptAuth
	}
	b = b[k:]
	if n > 0 {
		a.AMR = make([]string, 0, n)
	}
	for range n {
		var m []byte
		if m, b, ok = field(b); !ok {
			return Auth{}, ErrCorruptAuth
		}
		a.AMR = append(a.AMR, string(m))
	}
	if len(b) != 0 {
		return Auth{}, ErrCorruptAuth
	}
	return a, nil
}

// EncodeSessionAuth encodes the authentication state of s.
func EncodeSessionAuth(s *sesame.Session) []byte {
	return EncodeAuth(Auth{AMR: s.AMR, ACR: s.ACR, FactorTime: s.FactorTime, Pending: s.Pending})
}

// DecodeSessionAuth sets the authentication state of s from b.
func DecodeSessionAuth(s *sesame.Session, b []byte) error {
	a, err := DecodeAuth(b)
	if err != nil {
		return err
	}
	s.AMR, s.ACR, s.FactorTime, s.Pending = a.AMR, a.ACR, a.FactorTime, a.Pending
	return nil
}
