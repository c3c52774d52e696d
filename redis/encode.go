package redis

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/codec"
	"github.com/sesame-auth/sesame/token"
)

// Times are kept as unix nanoseconds, clamped to what an int64 holds
// (1678-2262), with the zero time.Time as its own value, so that they read
// back exactly in UTC.
var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

func nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return math.MinInt64
	case t.Before(minTime):
		return math.MinInt64 + 1
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// millis is t in unix milliseconds, for sorted-set scores and TTL
// arithmetic in Lua (exact in a double).
func millis(t time.Time) int64 {
	n := nanos(t)
	if n == math.MinInt64 {
		return 0
	}
	return n / 1e6
}

// sortable encodes t as 20 decimal digits that compare as strings in time
// order (Lua compares them with < and >, which doubles could not do to the
// nanosecond). The zero time is all zeros, before every other time.
func sortable(t time.Time) string {
	var b [20]byte
	u := uint64(nanos(t)) ^ (1 << 63)
	for i := 19; i >= 0; i-- {
		b[i] = byte('0' + u%10)
		u /= 10
	}
	return string(b[:])
}

func fromSortable(s string) (time.Time, error) {
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil || len(s) != 20 {
		return time.Time{}, errCorrupt
	}
	return fromNanos(int64(u ^ (1 << 63))), nil
}

var errCorrupt = errors.New("redis: corrupt record")

const formatV1 = 1

// encodeSession encodes the fields of s that only Go reads. UserID (in
// the key), CreatedAt (in the per-user index member), LastSeen and
// Version (hash fields that the Lua scripts compare) are kept outside.
func encodeSession(s *sesame.Session) []byte {
	b := make([]byte, 0, 128+len(s.Device.UserAgent))
	b = append(b, formatV1)
	b = appendString(b, s.ID)
	b = append(b, s.TokenHash[:]...)
	b = append(b, s.PrevTokenHash[:]...)
	b = binary.AppendVarint(b, nanos(s.PrevValidUntil))
	b = binary.AppendVarint(b, int64(s.IdleTimeout))
	b = binary.AppendVarint(b, nanos(s.ExpiresAt))
	if s.Remember {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendVarint(b, nanos(s.AuthTime))
	b = appendString(b, s.Device.UserAgent)
	b = appendString(b, s.Device.IP)
	b = binary.AppendUvarint(b, uint64(len(s.Data)))
	for k, v := range s.Data {
		b = appendString(b, k)
		b = appendString(b, string(v))
	}
	// The authentication state is a trailing, optional field (the Lua
	// scripts read only the head): a session without one encodes exactly
	// as before it existed, and a record written before decodes with none
	// (one factor, the password).
	return append(b, codec.EncodeSessionAuth(s)...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads what encodeSession and encodeRefresh wrote; the first
// malformed read sets err and every later read returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() { d.err, d.b = errCorrupt, nil }

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	l, n := binary.Uvarint(d.b)
	if n <= 0 || uint64(len(d.b)-n) < l {
		d.fail()
		return nil
	}
	v := d.b[n : n+int(l)]
	d.b = d.b[n+int(l):]
	return v
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) hash() (h [32]byte) {
	if len(d.b) < 32 {
		d.fail()
		return h
	}
	copy(h[:], d.b)
	d.b = d.b[32:]
	return h
}

func (d *decoder) time() time.Time { return fromNanos(d.varint()) }

// decodeSession rebuilds a session from its blob and the fields kept
// outside it.
func decodeSession(blob string, userID, version, lastSeen, member string) (*sesame.Session, error) {
	d := decoder{b: []byte(blob)}
	if d.byte() != formatV1 {
		return nil, errCorrupt
	}
	s := &sesame.Session{UserID: userID}
	s.ID = d.string()
	s.TokenHash = d.hash()
	s.PrevTokenHash = d.hash()
	s.PrevValidUntil = d.time()
	s.IdleTimeout = time.Duration(d.varint())
	s.ExpiresAt = d.time()
	s.Remember = d.byte() == 1
	s.AuthTime = d.time()
	s.Device.UserAgent = d.string()
	s.Device.IP = d.string()
	if n := d.uvarint(); n > 0 && d.err == nil {
		s.Data = make(map[string][]byte, min(n, 1024))
		for range n {
			k := d.string()
			s.Data[k] = append([]byte{}, d.bytes()...)
		}
	}
	if d.err == nil && len(d.b) > 0 {
		if err := codec.DecodeSessionAuth(s, d.b); err != nil {
			return nil, errCorrupt
		}
		d.b = nil
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errCorrupt
	}
	var err error
	if s.Version, err = strconv.ParseInt(version, 10, 64); err != nil {
		return nil, errCorrupt
	}
	if s.LastSeen, err = fromSortable(lastSeen); err != nil {
		return nil, err
	}
	if len(member) < 20 {
		return nil, errCorrupt
	}
	if s.CreatedAt, err = fromSortable(member[:20]); err != nil {
		return nil, err
	}
	return s, nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// encodeRefresh encodes the fields of r that only Go reads; the family,
// session, expiry and use time are hash fields the scripts read.
//
// The audience is a trailing, optional field: a token without one encodes
// exactly as before it existed, and a record written before it existed
// (which ends after FamilyExpiresAt) decodes with no audience. It is the
// number of values (uvarint, at least 1), then each value as a string.
func encodeRefresh(r *token.Refresh) []byte {
	b := make([]byte, 0, 96)
	b = append(b, formatV1)
	b = appendString(b, r.ClientID)
	b = appendString(b, r.Scope)
	b = appendString(b, r.AccessJTI)
	b = binary.AppendVarint(b, nanos(r.CreatedAt))
	b = binary.AppendVarint(b, nanos(r.ExpiresAt))
	b = binary.AppendVarint(b, nanos(r.FamilyExpiresAt))
	if len(r.Audience) > 0 {
		b = binary.AppendUvarint(b, uint64(len(r.Audience)))
		for _, a := range r.Audience {
			b = appendString(b, a)
		}
	}
	return b
}

func decodeRefresh(h [32]byte, userID, blob, family, sessionID, usedAt string) (*token.Refresh, error) {
	d := decoder{b: []byte(blob)}
	if d.byte() != formatV1 {
		return nil, errCorrupt
	}
	r := &token.Refresh{Hash: h, UserID: userID, FamilyID: family, SessionID: sessionID}
	r.ClientID = d.string()
	r.Scope = d.string()
	r.AccessJTI = d.string()
	r.CreatedAt = d.time()
	r.ExpiresAt = d.time()
	r.FamilyExpiresAt = d.time()
	if len(d.b) > 0 && d.err == nil {
		n := d.uvarint()
		if n == 0 || n > uint64(len(d.b)) { // every value takes at least one byte
			return nil, errCorrupt
		}
		r.Audience = make([]string, 0, n)
		for range n {
			r.Audience = append(r.Audience, d.string())
		}
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errCorrupt
	}
	if usedAt != "" {
		t, err := fromSortable(usedAt)
		if err != nil {
			return nil, err
		}
		r.UsedAt = t
	}
	return r, nil
}
