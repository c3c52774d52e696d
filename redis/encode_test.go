package redis

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/token"
)

// encodeRefreshBeforeAudience is encodeRefresh as it was before
// token.Refresh had an Audience: records in this format are in Redis when
// a deployment upgrades, and must keep decoding.
func encodeRefreshBeforeAudience(r *token.Refresh) []byte {
	b := []byte{formatV1}
	b = appendString(b, r.ClientID)
	b = appendString(b, r.Scope)
	b = appendString(b, r.AccessJTI)
	b = binary.AppendVarint(b, nanos(r.CreatedAt))
	b = binary.AppendVarint(b, nanos(r.ExpiresAt))
	b = binary.AppendVarint(b, nanos(r.FamilyExpiresAt))
	return b
}

var encodeBase = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

func testRefreshRecord() *token.Refresh {
	return &token.Refresh{ClientID: "wiki", Scope: "openid email", AccessJTI: "jti-1",
		CreatedAt: encodeBase, ExpiresAt: encodeBase.Add(time.Hour), FamilyExpiresAt: encodeBase.Add(24 * time.Hour)}
}

func sameRefreshFields(t *testing.T, got, want *token.Refresh) {
	t.Helper()
	if got.ClientID != want.ClientID || got.Scope != want.Scope || got.AccessJTI != want.AccessJTI ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!got.FamilyExpiresAt.Equal(want.FamilyExpiresAt) || !slices.Equal(got.Audience, want.Audience) {
		t.Fatalf("decoded refresh record: got %+v, want %+v", *got, *want)
	}
}

func TestRefreshRecordBeforeAudienceDecodes(t *testing.T) {
	r := testRefreshRecord()
	old := encodeRefreshBeforeAudience(r)
	got, err := decodeRefresh([32]byte{1}, "u1", string(old), "fam", "sid", "")
	if err != nil {
		t.Fatalf("decode a record written before Audience existed: %v", err)
	}
	sameRefreshFields(t, got, r)
	if got.Audience != nil {
		t.Fatalf("old record: got Audience %q, want none", got.Audience)
	}
	// A token without an audience is still written in the old format, so
	// that nodes not yet upgraded read it during a rolling upgrade.
	if string(encodeRefresh(r)) != string(old) {
		t.Fatal("a refresh record without an audience is not encoded as before")
	}
}

func TestRefreshRecordAudienceRoundTrip(t *testing.T) {
	for _, aud := range [][]string{
		{"https://api.example.com"},
		{"https://api.example.com", "", "https://issuer.example.com/oauth2/userinfo", "ü\x00\xff"},
	} {
		r := testRefreshRecord()
		r.Audience = aud
		got, err := decodeRefresh([32]byte{1}, "u1", string(encodeRefresh(r)), "fam", "sid", "")
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		sameRefreshFields(t, got, r)
	}
}

func TestRefreshRecordCorruptAudience(t *testing.T) {
	r := testRefreshRecord()
	r.Audience = []string{"https://api.example.com", "https://b.example"}
	b := encodeRefresh(r)
	old := encodeRefreshBeforeAudience(r)
	for name, blob := range map[string][]byte{
		"truncated value":  b[:len(b)-1],
		"count 0":          append(slices.Clone(old), 0),
		"count too large":  binary.AppendUvarint(slices.Clone(old), 1<<40),
		"one value short":  binary.AppendUvarint(slices.Clone(old), 2),
		"trailing garbage": append(slices.Clone(b), 0),
	} {
		if _, err := decodeRefresh([32]byte{1}, "u1", string(blob), "fam", "sid", ""); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
}
