package sqlite

import (
	"github.com/sesame-auth/sesame/internal/codec"
)

// The shared encodings (internal/codec), under this package's names.
var (
	nanos          = codec.Nanos
	fromNanos      = codec.FromNanos
	hashOrNil      = codec.HashOrNil
	encodeData     = codec.EncodeData
	decodeData     = codec.DecodeData
	errCorruptData = codec.ErrCorruptData
	encodeAuth     = codec.EncodeSessionAuth
	decodeAuth     = codec.DecodeSessionAuth
)

// boolInt stores a bool as an INTEGER (STRICT tables have no BOOLEAN).
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
