package postgres

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Times are stored as bigint unix nanoseconds, which cover 1677-09-21 to
// 2262-04-11 and keep every digit (timestamptz keeps microseconds). Instants
// outside that range are clamped to its ends; the zero time.Time (year 1) is
// clamped to math.MinInt64, which reads back as the zero time.
var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// nanos encodes t.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(minNanoTime):
		return math.MinInt64
	case t.After(maxNanoTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// fromNanos decodes what nanos stored, in UTC.
func fromNanos(n int64) time.Time {
	if n == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

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

// hashOrNil returns h as bytea, or nil (NULL) for the zero hash, which
// marks an unused previous token and must never match.
func hashOrNil(h *[32]byte) []byte {
	if *h == ([32]byte{}) {
		return nil
	}
	return h[:]
}

// storableText reports whether s can be stored in a text column: PostgreSQL
// text is valid UTF-8 (in a UTF8 database) without NUL bytes. A lookup by a
// key that cannot be stored finds nothing, without asking the server (which
// would answer with an error, not with "no rows").
func storableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

var errCorruptData = errors.New("corrupt session data")

// encodeData encodes a session's data map compactly: the number of entries,
// then each key and value, each as a uvarint length followed by its bytes,
// keys in sorted order so that equal maps encode equally. An empty map is
// NULL. (The format is the sqlite adapter's; adapters share no code.)
func encodeData(m map[string][]byte) []byte {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	size := binary.MaxVarintLen64
	for k, v := range m {
		keys = append(keys, k)
		size += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	b = binary.AppendUvarint(b, uint64(len(m)))
	for _, k := range keys {
		v := m[k]
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// decodeData decodes what encodeData wrote. The values share b, each capped
// at its own length so that appending to one never writes into the next;
// b must not be used by the caller afterwards.
func decodeData(b []byte) (map[string][]byte, error) {
	if len(b) == 0 {
		return nil, nil
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) { // every entry takes at least two bytes
		return nil, errCorruptData
	}
	vals := b[k:]
	m := make(map[string][]byte, n)
	for range n {
		key, rest, ok := field(vals)
		if !ok {
			return nil, errCorruptData
		}
		val, rest, ok := field(rest)
		if !ok {
			return nil, errCorruptData
		}
		m[string(key)] = val
		vals = rest
	}
	if len(vals) != 0 {
		return nil, errCorruptData
	}
	return m, nil
}

// field splits a uvarint-length-prefixed field off b.
func field(b []byte) (f, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	end := k + int(n)
	return b[k:end:end], b[end:], true
}
