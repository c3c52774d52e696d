package token

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

// refreshBytes is the entropy of a refresh token: 256 bits (SEC-28 asks
// for at least 128).
const refreshBytes = 32

var refreshLen = base64.RawURLEncoding.EncodedLen(refreshBytes)

func newRefreshToken() (string, []byte) {
	raw := make([]byte, refreshBytes)
	rand.Read(raw)
	return base64.RawURLEncoding.EncodeToString(raw), raw
}

// parseRefreshToken decodes a client-presented refresh token strictly.
func parseRefreshToken(tok string) ([]byte, bool) {
	if len(tok) != refreshLen {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(raw) != refreshBytes {
		return nil, false
	}
	return raw, true
}

// successor derives the refresh token that replaces tok when it is
// redeemed. Deriving it (rather than storing it) lets a replay within the
// grace get the same token back while the store holds only hashes.
func (s *Service) successor(tok string) (string, []byte) {
	m := hmac.New(sha256.New, s.cfg.SuccessorKey)
	m.Write([]byte("sesame refresh successor v1\x00"))
	m.Write([]byte(tok))
	raw := m.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(raw), raw
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// normalizeScope sorts and de-duplicates a space-separated scope.
func normalizeScope(scope string) string {
	f := strings.Fields(scope)
	slices.Sort(f)
	return strings.Join(slices.Compact(f), " ")
}

// subset reports whether every scope in a is in b.
func subset(a, b string) bool {
	have := strings.Fields(b)
	for _, x := range strings.Fields(a) {
		if !slices.Contains(have, x) {
			return false
		}
	}
	return true
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func unavailable(err error) error {
	var se *sesame.Error
	if e, ok := err.(*sesame.Error); ok {
		se = e
		return se
	}
	return sesame.Wrap(sesame.EUnavailable, err, "token store unavailable")
}

func (s *Service) emit(ctx context.Context, t sesame.EventType, r *Refresh, reason string) {
	if s.cfg.Events == nil {
		return
	}
	s.cfg.Events.Emit(ctx, sesame.Event{Type: t, Time: s.cfg.Clock.Now().UTC(), UserID: r.UserID, SessionID: r.SessionID, Reason: reason})
}
