// Package codec holds the value encodings the SQL adapters (sqlite,
// postgres) share, so that both store sessions the same way: times as unix
// nanoseconds, the zero token hash as NULL, and session data as a compact,
// canonical binary map.
package codec

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"time"
)

// Times are stored as unix nanoseconds, which cover 1677-09-21 to
// 2262-04-11. Instants outside that range are clamped to its ends; the zero
// time.Time (year 1) is clamped to math.MinInt64, which reads back as the
// zero time.
var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// ErrCorruptData reports stored session data that does not decode.
var ErrCorruptData = errors.New("corrupt session data")

// Nanos encodes t.
func Nanos(t time.Time) int64 {
	switch {
	case t.Before(minNanoTime):
		return math.MinInt64
	case t.After(maxNanoTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// FromNanos decodes what nanos stored, in UTC.
func FromNanos(n int64) time.Time {
	if n == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// HashOrNil returns h as a BLOB, or nil (NULL) for the zero hash, which
// marks an unused previous token and must never match.
func HashOrNil(h *[32]byte) []byte {
	if *h == ([32]byte{}) {
		return nil
	}
	return h[:]
}

// EncodeData encodes a session's data map compactly: the number of entries,
// then each key and value, each as a uvarint length followed by its bytes,
// keys in sorted order so that equal maps encode equally. An empty map is
// NULL.
func EncodeData(m map[string][]byte) []byte {
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

// DecodeData decodes what EncodeData wrote. The values share one copy of
// b, each capped at its own length so that appending to one never writes
// into the next; b itself is not retained.
func DecodeData(b []byte) (map[string][]byte, error) {
	if len(b) == 0 {
		return nil, nil
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) { // every entry takes at least two bytes
		return nil, ErrCorruptData
	}
	b = b[k:]
	vals := make([]byte, len(b))
	copy(vals, b)
	m := make(map[string][]byte, n)
	for range n {
		key, rest, ok := field(vals)
		if !ok {
			return nil, ErrCorruptData
		}
		val, rest, ok := field(rest)
		if !ok {
			return nil, ErrCorruptData
		}
		m[string(key)] = val
		vals = rest
	}
	if len(vals) != 0 {
		return nil, ErrCorruptData
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
