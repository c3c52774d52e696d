package postgres

import (
	"github.com/sesame-auth/sesame/internal/codec"
	"strings"
	"time"
	"unicode/utf8"
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

// nanosOrNil encodes t, or NULL for the zero time.
func nanosOrNil(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := nanos(t)
	return &n
}

// fromNullNanos decodes a nullable time column: NULL is the zero time.
func fromNullNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return fromNanos(*n)
}

// storableText reports whether s can be stored in a text column: PostgreSQL
// text is valid UTF-8 (in a UTF8 database) without NUL bytes. A lookup by a
// key that cannot be stored finds nothing, without asking the server (which
// would answer with an error, not with "no rows").
func storableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
